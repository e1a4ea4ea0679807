"""Errors raised by agents (extractors, LLM client)."""

from __future__ import annotations

__all__ = ["AgentError", "ExtractionError"]


class AgentError(Exception):
    """Base class of every agents error."""


class ExtractionError(AgentError):
    """One chunk could not be turned into entities and relations."""
