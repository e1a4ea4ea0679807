"""Errors raised by agents (extractors, LLM client)."""

from __future__ import annotations

__all__ = [
    "AgentError",
    "BudgetExceededError",
    "LLMEndpointDownError",
    "LLMError",
    "LLMRequestError",
    "LLMUnavailableError",
]


class AgentError(Exception):
    """Base class of every agents error."""


class LLMError(AgentError):
    """A call to the LLM endpoint failed; carries what the failed call had already cost."""

    def __init__(self, message: str, *, requests: int = 0, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        super().__init__(message)
        self.requests = requests
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


class LLMRequestError(LLMError):
    """The endpoint rejected the request (HTTP 4xx other than 408/429: bad request, auth, unknown model)."""


class LLMUnavailableError(LLMError):
    """The endpoint kept failing transiently (5xx, 429, timeouts, connection errors) until retries ran out."""


class BudgetExceededError(LLMError):
    """The run's LLM budget (calls or tokens) is spent; remaining chunks are left for a later run."""


class LLMEndpointDownError(LLMError):
    """The endpoint failed the run's requests in a way retries cannot mend (auth refused, unreachable) several
    times in a row: later requests of the process are not sent (a circuit breaker); the message names the cause."""
