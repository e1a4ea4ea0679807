"""The extractor a flow uses, built from flow parameters plus settings (the API key stays in settings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from kgweave.agents.domains import resolve_domain
from kgweave.agents.extractor import Extractor
from kgweave.agents.registry import make_extractor
from kgweave.flows.settings import LLMSettings

if TYPE_CHECKING:
    from kgweave.agents.llm_client import LLMConfig

__all__ = ["ExtractorChoice", "build_extractor", "endpoint_report", "llm_config"]


class ExtractorChoice(BaseModel):
    """What to extract with: small, hashable, safe to show in the Prefect UI (no secrets)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="cooccurrence", description="cooccurrence (offline) or llm.")
    domain: str = Field(default="auto", description="auto (text) or a registered domain (agents/domains/).")
    llm_base_url: str | None = Field(default=None, description="Overrides KGWEAVE_LLM_BASE_URL.")
    llm_model: str | None = Field(default=None, description="Overrides KGWEAVE_LLM_MODEL.")
    max_llm_calls: int | None = Field(default=None, ge=0, description="Stop the run after this many requests.")
    max_tokens_total: int | None = Field(default=None, ge=0, description="Stop the run after this many tokens.")
    gleaning: int | None = Field(default=None, ge=0, description="Extra 'what did you miss?' LLM passes per chunk; "
                                                                 "None = KGWEAVE_LLM_GLEANING.")


def build_extractor(choice: ExtractorChoice, run_id: str | None = None) -> Extractor:
    """The extractor for ``choice``; LLM runs share one budget per ``run_id`` within a process."""
    if choice.name != "llm":
        return make_extractor(choice.name, domain=choice.domain)
    from kgweave.agents.llm_client import shared_budget

    config = llm_config(choice.llm_base_url, choice.llm_model, "--extractor llm")
    limited = choice.max_llm_calls is not None or choice.max_tokens_total is not None
    budget = shared_budget(run_id, choice.max_llm_calls, choice.max_tokens_total) if run_id and limited else None
    gleaning = LLMSettings().gleaning if choice.gleaning is None else choice.gleaning
    return make_extractor("llm", llm_config=config, domain=resolve_domain(choice.domain), budget=budget,
                          gleaning=gleaning)


def llm_config(base_url: str | None, model: str | None, needed_by: str) -> LLMConfig:
    """The endpoint settings: arguments win over ``KGWEAVE_LLM_*``; raises ValueError if incomplete."""
    from kgweave.agents.llm_client import LLMConfig

    settings = LLMSettings()
    base_url = base_url or settings.base_url
    model = model or settings.model
    if not base_url or not model:
        raise ValueError(f"{needed_by} needs --llm-base-url and --llm-model "
                         "(or KGWEAVE_LLM_BASE_URL and KGWEAVE_LLM_MODEL)")
    from kgweave.agents.llm_options import LLMCallOptions

    options = settings.model_dump(include=set(LLMCallOptions.model_fields))
    return LLMConfig(base_url=base_url, model=model, api_key=settings.api_key, **options)


def endpoint_report(choice: ExtractorChoice) -> dict[str, object] | None:
    """What this process learnt about the LLM endpoint of ``choice`` (None offline or before any request).

    Extraction tasks on the default thread runner share the flow's process, so this is the run's
    endpoint; with a Dask or Ray runner the workers learn it and the flow's process reports None.
    """
    if choice.name != "llm":
        return None
    from kgweave.agents.llm_endpoint import known_endpoint

    config = llm_config(choice.llm_base_url, choice.llm_model, "--extractor llm")
    return known_endpoint(config.base_url, config.model, config.structured_output)
