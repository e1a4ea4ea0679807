"""Build an extractor from its name (the CLI's ``--extractor``); settings are resolved by the caller."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kgweave.agents.domains import resolve_domain
from kgweave.agents.errors import AgentError
from kgweave.agents.extractor import Extractor, extraction_fingerprint

if TYPE_CHECKING:
    from kgweave.agents.llm_client import Budget, LLMConfig

__all__ = ["EXTRACTORS", "UnknownExtractorError", "extractor_fingerprint", "make_extractor"]

EXTRACTORS = ("cooccurrence", "llm")


class UnknownExtractorError(AgentError, ValueError):
    """No extractor has this name, or it lacks what it needs."""


def make_extractor(
    name: str, *, llm_config: LLMConfig | None = None, domain: str = "auto", budget: Budget | None = None,
    gleaning: int = 0,
) -> Extractor:
    """The extractor called ``name``; ``llm`` needs ``llm_config`` (endpoint and model) and a registered ``domain``.

    ``gleaning`` is the LLM extractor's extra "what did you miss?" passes per chunk.
    """
    if name == "cooccurrence":
        from kgweave.agents.cooccurrence import CooccurrenceExtractor

        return CooccurrenceExtractor()
    if name == "llm":
        if llm_config is None:
            raise UnknownExtractorError("the llm extractor needs an endpoint and a model (--llm-base-url, --llm-model)")
        from kgweave.agents.llm_extractor import LLMExtractor  # the openai package is imported only here

        return LLMExtractor(llm_config, domain=resolve_domain(domain), budget=budget, gleaning=gleaning)
    raise UnknownExtractorError(f"unknown extractor {name!r}; choose one of: {', '.join(EXTRACTORS)}")


def extractor_fingerprint(extractor: Extractor) -> str:
    """The fingerprint under which documents extracted by ``extractor`` are marked done."""
    settings_key = getattr(extractor, "settings_key", None)
    return extraction_fingerprint(extractor, settings_key() if callable(settings_key) else "")
