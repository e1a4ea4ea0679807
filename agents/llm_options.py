"""How kgweave calls an LLM endpoint, and what the calls cost.

:class:`LLMCallOptions` are the options shared by settings (``KGWEAVE_LLM_*``) and ``LLMConfig``;
:class:`LLMUsage` is the cost of some calls, a value that adds itself up; :class:`CallRunner` is how a caller
(a Prefect flow) wraps each call, e.g. in a task run tagged ``llm``.

One set of fields and defaults: ``flows/settings.py``'s ``LLMSettings`` reads them from the environment and
``agents/llm_client.py``'s ``LLMConfig`` carries them to the client, so neither copies the other field by field.
Kept apart from the client so that reading settings does not import ``openai``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_CACHE_DIR", "CallRunner", "LLMCallOptions", "LLMUsage", "call_directly"]

DEFAULT_CACHE_DIR = Path(".kgweave/llm-cache")

T = TypeVar("T")


class CallRunner(Protocol):
    """Runs one LLM call (``call``, named ``name``) and returns its result, letting its errors through."""

    def __call__(self, name: str, call: Callable[[], T]) -> T: ...


def call_directly(name: str, call: Callable[[], T]) -> T:
    """The :class:`CallRunner` of plain library use: the call itself."""
    return call()


class LLMCallOptions(BaseModel):
    """How requests are sent: timeouts, retries, concurrency, output mode, sampling, cache, token cap."""

    timeout_s: float = Field(default=120.0, gt=0, description="Per-request timeout in seconds.")
    max_retries: int = Field(
        default=5, ge=0, le=50, description="Retries after a transient error (429, 5xx, timeout)."
    )
    concurrency: int = Field(default=32, ge=1, le=1000, description="Requests in flight per extraction task.")
    structured_output: Literal["json_schema", "json_object", "prompt"] = Field(
        default="json_schema",
        description="Where the negotiation starts: json_schema (strict; OpenAI, vLLM), json_object (JSON mode with "
                    "the schema attached as a grammar: llama.cpp, vLLM, Ollama; schema also in the prompt) or "
                    "prompt (schema in the prompt only). A server that rejects a form gets the next, once per run.",
    )
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    cache_dir: Path | None = Field(
        default=DEFAULT_CACHE_DIR, description="Response cache folder; re-runs make no requests. None: no cache."
    )
    max_tokens_per_call: int | None = Field(
        default=None, ge=1,
        description="Completion token cap of one request (sent as max_tokens and max_completion_tokens); "
                    "None = the default of what is asked (a domain's extraction, an expansion step, a judgement).",
    )


class LLMUsage(BaseModel):
    """What some LLM calls cost; ``a + b`` and :meth:`total` add it up.

    Results that carry a cost (a chunk's extraction, a batch) subclass it, so their counters keep their
    names (``llm_calls``, ...) and add like any usage.

    Examples
    --------
    >>> (LLMUsage(llm_calls=2, prompt_tokens=10) + LLMUsage(llm_calls=1, cached_llm_calls=1)).counts()
    {'llm_calls': 3, 'cached_llm_calls': 1, 'prompt_tokens': 10, 'completion_tokens': 0}
    >>> LLMUsage.total([LLMUsage(completion_tokens=5), LLMUsage(prompt_tokens=7)]).tokens
    12
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    llm_calls: int = Field(default=0, ge=0, description="HTTP requests (retries and re-asks included).")
    cached_llm_calls: int = Field(default=0, ge=0, description="Answers taken from the response cache.")
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def counts(self) -> dict[str, int]:
        """The four counters by name (of this usage only, whatever subclass carries them)."""
        return {name: getattr(self, name) for name in LLMUsage.model_fields}

    def __add__(self, other: LLMUsage) -> LLMUsage:
        return LLMUsage(**{name: getattr(self, name) + getattr(other, name) for name in LLMUsage.model_fields})

    @classmethod
    def total(cls, usages: Iterable[LLMUsage]) -> LLMUsage:
        """The sum of ``usages`` (zero for none)."""
        return sum(usages, start=LLMUsage())
