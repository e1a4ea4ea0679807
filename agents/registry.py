"""Build an extractor from its name (the CLI's ``--extractor``)."""

from __future__ import annotations

from agents.errors import AgentError
from agents.extractor import Extractor, extraction_fingerprint

__all__ = ["EXTRACTORS", "UnknownExtractorError", "extractor_fingerprint", "make_extractor"]

EXTRACTORS = ("cooccurrence",)


class UnknownExtractorError(AgentError, ValueError):
    """No extractor has this name."""


def make_extractor(name: str) -> Extractor:
    """The extractor called ``name`` with its default settings."""
    if name == "cooccurrence":
        from agents.cooccurrence import CooccurrenceExtractor

        return CooccurrenceExtractor()
    raise UnknownExtractorError(f"unknown extractor {name!r}; choose one of: {', '.join(EXTRACTORS)}")


def extractor_fingerprint(extractor: Extractor) -> str:
    """The fingerprint under which documents extracted by ``extractor`` are marked done."""
    settings_key = getattr(extractor, "settings_key", None)
    return extraction_fingerprint(extractor, settings_key() if callable(settings_key) else "")
