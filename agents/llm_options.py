"""How kgweave calls an LLM endpoint: the options shared by settings (``KGWEAVE_LLM_*``) and :class:`LLMConfig`.

One set of fields and defaults: ``flows/settings.py``'s ``LLMSettings`` reads them from the environment and
``agents/llm_client.py``'s ``LLMConfig`` carries them to the client, so neither copies the other field by field.
Kept apart from the client so that reading settings does not import ``openai``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["DEFAULT_CACHE_DIR", "LLMCallOptions"]

DEFAULT_CACHE_DIR = Path(".kgweave/llm-cache")


class LLMCallOptions(BaseModel):
    """How requests are sent: timeouts, retries, concurrency, output mode, sampling, cache, token cap."""

    timeout_s: float = Field(default=120.0, gt=0, description="Per-request timeout in seconds.")
    max_retries: int = Field(
        default=5, ge=0, le=50, description="Retries after a transient error (429, 5xx, timeout)."
    )
    concurrency: int = Field(default=32, ge=1, le=1000, description="Requests in flight per extraction task.")
    structured_output: Literal["json_schema", "json_object"] = Field(
        default="json_schema",
        description="json_schema (strict; OpenAI, vLLM guided decoding) or json_object (JSON mode, schema in "
                    "the prompt).",
    )
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    cache_dir: Path | None = Field(
        default=DEFAULT_CACHE_DIR, description="Response cache folder; re-runs make no requests. None: no cache."
    )
    max_tokens_per_call: int | None = Field(
        default=None, ge=1, description="Completion token limit of one request; None = the server's limit."
    )
