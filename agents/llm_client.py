"""The one way kgweave talks to an LLM: an OpenAI-compatible endpoint (vLLM, OpenAI, others).

:class:`LLMClient` owns everything around a call: structured output (a strict JSON schema by default,
``json_object`` plus the schema in the system prompt as a fallback), validation with pydantic and
one re-ask with the validation error, retries with exponential backoff and full jitter on transient
errors (honouring ``Retry-After``), a bound on requests in flight, a response cache on disk, token
accounting and a :class:`Budget` that stops a run cleanly. This is the only module that imports
``openai``; the openai client's own retries are off so that retries are counted here.

An :class:`LLMClient` belongs to one event loop (``async with LLMClient(...) as client`` inside
``asyncio.run``); the cache and the budget are safe to share between clients, threads and processes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import functools
import hashlib
import importlib
import json
import logging
import math
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from kgweave.agents.errors import (
    BudgetExceededError,
    LLMEndpointDownError,
    LLMError,
    LLMRequestError,
    LLMUnavailableError,
)
from kgweave.agents.json_salvage import complete_prefixes
from kgweave.agents.llm_endpoint import (
    EndpointState,
    endpoint_state,
    is_context_overflow,
    is_format_rejection,
    rejected_parameter,
)
from kgweave.agents.llm_options import DEFAULT_CACHE_DIR, LLMCallOptions
from kgweave.agents.prompts import ChatMessage
from kgweave.agents.schemas import strict_json_schema

__all__ = [
    "DEFAULT_CACHE_DIR",
    "Budget",
    "BudgetUsage",
    "CallResult",
    "LLMClient",
    "LLMConfig",
    "LLMEstimate",
    "LLMRequest",
    "ResponseCache",
    "cache_key",
    "estimate_requests",
    "request_messages",
    "run_sync",
    "shared_budget",
]

logger = logging.getLogger(__name__)

_PLACEHOLDER_API_KEY = "EMPTY"  # what a vLLM server started without --api-key accepts
_RETRYABLE_STATUS = frozenset({408, 429})
_MAX_BAD_OUTPUT_CHARS = 600  # of an invalid answer echoed back in the re-ask (small contexts: 2,048 tokens)
_MAX_TIMEOUT_FACTOR = 4.0  # a request that timed out is retried with up to 4x the configured timeout
MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # an answer larger than this is refused while it streams in (~1M tokens)
_AUTH_STATUS = frozenset({401, 403})
_MAX_ERROR_CHARS = 1500
_CHARS_PER_TOKEN = 4
_REASK = (
    "Your answer is not valid: {error}\n"
    "Answer again with only one JSON object that matches the schema exactly (no other keys, no text around it)."
)
_REASK_CUT = (
    "Your answer was cut off at the length limit ({limit}) before the JSON object was complete. "
    "Answer again with a shorter JSON object: only the most important items, short strings."
)
_SCHEMA_INSTRUCTIONS = "\n\nAnswer with one JSON object that matches this JSON schema:\n<schema>\n{schema}\n</schema>"

T = TypeVar("T", bound=BaseModel)
_R = TypeVar("_R")


class LLMConfig(LLMCallOptions):
    """Where the model is and how to call it; hashable, so it can be a Prefect task input.

    The call options (timeout, retries, concurrency, output mode, cache...) and their defaults are
    :class:`~kgweave.agents.llm_options.LLMCallOptions`, the same fields ``KGWEAVE_LLM_*`` settings read.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(min_length=1, description="OpenAI-compatible API root, e.g. http://gpu-1:8000/v1.")
    model: str = Field(min_length=1, description="Model name as the endpoint knows it (vllm serve MODEL).")
    api_key: SecretStr | None = Field(
        default=None, description="API key; None: OPENAI_API_KEY if set, else a placeholder (vLLM without auth)."
    )
    expected_completion_tokens: int = Field(
        default=800, ge=1, description="Completion tokens assumed per request for estimates when no limit is set."
    )
    backoff_base_s: float = Field(default=0.5, ge=0, description="First retry waits up to this long (doubling).")
    backoff_max_s: float = Field(default=20.0, ge=0, description="Longest backoff between retries.")
    max_retry_after_s: float = Field(default=60.0, ge=0, description="Longest Retry-After honoured.")


class BudgetUsage(BaseModel):
    """What a budget has let through so far."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    calls: int
    prompt_tokens: int
    completion_tokens: int
    exhausted: bool

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


class Budget:
    """Caps on requests and tokens for a run, shared by concurrent calls and threads.

    :meth:`reserve` is called before every request (retries and re-asks included; cache hits make no
    request) and raises :class:`BudgetExceededError` once ``max_calls`` requests were made or the
    request's estimated tokens would take the spent plus in-flight tokens past ``max_tokens_total``.
    Once refused, the budget stays exhausted, so a run stops cleanly instead of trickling on.
    """

    def __init__(self, max_calls: int | None = None, max_tokens_total: int | None = None) -> None:
        if max_calls is not None and max_calls < 0:
            raise ValueError(f"max_calls must be >= 0, got {max_calls}")
        if max_tokens_total is not None and max_tokens_total < 0:
            raise ValueError(f"max_tokens_total must be >= 0, got {max_tokens_total}")
        self.max_calls = max_calls
        self.max_tokens_total = max_tokens_total
        self._lock = threading.Lock()
        self._calls = 0
        self._prompt_tokens = 0
        self._completion_tokens = 0
        self._pending_tokens = 0
        self._exhausted = False

    def reserve(self, estimated_tokens: int = 0) -> None:
        """Count one request about to be sent, or raise :class:`BudgetExceededError`."""
        with self._lock:
            if not self._exhausted:
                over_calls = self.max_calls is not None and self._calls >= self.max_calls
                spent = self._prompt_tokens + self._completion_tokens + self._pending_tokens
                over_tokens = self.max_tokens_total is not None and spent + estimated_tokens > self.max_tokens_total
                self._exhausted = over_calls or over_tokens
            if self._exhausted:
                raise BudgetExceededError(
                    f"LLM budget exhausted ({self._calls} calls of {self.max_calls}, "
                    f"{self._prompt_tokens + self._completion_tokens} tokens of {self.max_tokens_total})"
                )
            self._calls += 1
            self._pending_tokens += estimated_tokens

    def record(self, prompt_tokens: int, completion_tokens: int, reserved: int = 0) -> None:
        """Account a finished request's usage and free its reservation."""
        with self._lock:
            self._prompt_tokens += prompt_tokens
            self._completion_tokens += completion_tokens
            self._pending_tokens = max(0, self._pending_tokens - reserved)

    def release(self, reserved: int) -> None:
        """Free the reservation of a request that returned no usage (it failed)."""
        with self._lock:
            self._pending_tokens = max(0, self._pending_tokens - reserved)

    @property
    def exhausted(self) -> bool:
        """True once a request was refused."""
        with self._lock:
            return self._exhausted

    def usage(self) -> BudgetUsage:
        """A consistent snapshot of the counters."""
        with self._lock:
            return BudgetUsage(
                calls=self._calls, prompt_tokens=self._prompt_tokens,
                completion_tokens=self._completion_tokens, exhausted=self._exhausted,
            )

    def __repr__(self) -> str:
        return f"Budget(max_calls={self.max_calls}, max_tokens_total={self.max_tokens_total}, usage={self.usage()})"


_SHARED_BUDGETS: dict[str, Budget] = {}
_SHARED_LOCK = threading.Lock()


def shared_budget(key: str, max_calls: int | None = None, max_tokens_total: int | None = None) -> Budget:
    """The process-wide budget called ``key`` (e.g. a run id), created with these limits on first use.

    Lets the extract tasks of one run, each building its own extractor in a worker thread, draw on
    one budget. Budgets are per process: with a distributed task runner, split the limits per worker.
    """
    with _SHARED_LOCK:
        budget = _SHARED_BUDGETS.get(key)
        if budget is None:
            budget = _SHARED_BUDGETS[key] = Budget(max_calls, max_tokens_total)
        return budget


@dataclass(frozen=True)
class CallResult(Generic[T]):
    """The validated answer of one logical call (``value``), or why there is none (``error``)."""

    value: T | None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    from_cache: bool = False
    attempts: int = 0  # HTTP requests sent (retries and the re-ask included; 0 for a cache hit)
    output_form: str | None = None  # the structured-output form that was answered (None: from the cache)
    salvaged: bool = False  # the answer was cut at the token limit; its complete items were kept

    @property
    def ok(self) -> bool:
        """True when ``value`` holds a valid answer."""
        return self.value is not None


@dataclass(frozen=True)
class LLMRequest:
    """The inputs of one :meth:`LLMClient.complete_json` call (for estimates)."""

    messages: Sequence[ChatMessage]
    schema_model: type[BaseModel]
    schema_name: str
    prompt_version: str
    max_tokens: int | None = None  # the caller's default completion cap (a domain's)


class LLMEstimate(BaseModel):
    """What a set of calls would cost: requests not in the cache and their approximate tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests: int
    cached: int
    calls: int
    prompt_tokens: int
    completion_tokens: int

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


def request_messages(
    messages: Sequence[ChatMessage], schema: Mapping[str, object], mode: str
) -> list[ChatMessage]:
    """The messages actually sent: in every mode but ``json_schema`` the schema is appended to the system prompt.

    ``mode`` is a configured mode or a negotiated form (:data:`~kgweave.agents.llm_endpoint.OUTPUT_FORMS`).
    """
    sent = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
    if mode == "json_schema":
        return sent
    compact = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    instructions = _SCHEMA_INSTRUCTIONS.format(schema=compact)
    if sent and sent[0]["role"] == "system":
        sent[0] = ChatMessage(role="system", content=sent[0]["content"] + instructions)
    else:
        sent.insert(0, ChatMessage(role="system", content=instructions.lstrip()))
    return sent


def cache_key(
    config: LLMConfig, messages: Sequence[ChatMessage], schema: Mapping[str, object], prompt_version: str,
    temperature: float | None = None,
) -> str:
    """sha256 of everything that determines an answer: model, prompt version, messages, schema, mode, temperature.

    ``temperature`` overrides the config's (a retry that steps it up is another question).
    """
    material = {
        "model": config.model,
        "prompt_version": prompt_version,
        "messages": [[m["role"], m["content"]] for m in messages],
        "schema": schema,
        "structured_output": config.structured_output,
        "temperature": config.temperature if temperature is None else temperature,
    }
    text = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ResponseCache:
    """Validated answers on disk, one JSON file per key (``ab/abcd....json``), written atomically.

    Safe for concurrent threads and processes: a file appears complete or not at all; a damaged
    file reads as a miss and is overwritten by the next valid answer.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        """Where the answer of ``key`` lives."""
        return self.folder / key[:2] / f"{key}.json"

    def __contains__(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str) -> dict[str, object] | None:
        """The stored record of ``key`` (``content``, ``prompt_tokens``, ``completion_tokens``...), or None."""
        path = self.path(key)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            logger.warning("unreadable LLM cache entry %s (%s); treating it as a miss", path, exc)
            return None
        return record if isinstance(record, dict) and "content" in record else None

    def put(self, key: str, record: Mapping[str, object]) -> None:
        """Store ``record`` under ``key`` (atomic replace)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:8]}-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(record, out, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def estimate_requests(config: LLMConfig, requests: Iterable[LLMRequest]) -> LLMEstimate:
    """Dry run: how many of these calls miss the cache, and roughly how many tokens they would use.

    Prompt tokens are estimated as characters / 4 (messages plus schema); completion tokens as
    ``max_tokens_per_call``, else the request's own cap, else ``expected_completion_tokens`` per call.
    Re-asks are not counted.
    """
    cache = ResponseCache(config.cache_dir) if config.cache_dir is not None else None
    total = cached = prompt_tokens = completion_tokens = 0
    for request in requests:
        total += 1
        schema = _schema_of(request.schema_model)
        sent = request_messages(request.messages, schema, config.structured_output)
        if cache is not None and cache_key(config, sent, schema, request.prompt_version) in cache:
            cached += 1
            continue
        prompt_tokens += _estimate_tokens(sent, schema, config.structured_output)
        completion_tokens += config.max_tokens_per_call or request.max_tokens or config.expected_completion_tokens
    return LLMEstimate(
        requests=total, cached=cached, calls=total - cached, prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )


@functools.lru_cache(maxsize=64)
def _schema_of(model: type[BaseModel]) -> dict[str, object]:
    """The strict schema of ``model``, computed once (about 1.5 ms each time otherwise); read-only."""
    return strict_json_schema(model)


@functools.lru_cache(maxsize=64)
def _grammar_schema_of(model: type[BaseModel]) -> dict[str, object]:
    """The strict schema with its string bounds kept: servers that compile it to a grammar enforce them."""
    return strict_json_schema(model, keep_bounds=True)


def _estimate_tokens(messages: Sequence[ChatMessage], schema: Mapping[str, object], mode: str) -> int:
    """Approximate prompt tokens of ``messages`` (plus the schema when it travels as a json_schema)."""
    chars = sum(len(m["content"]) for m in messages)
    if mode == "json_schema":
        chars += len(json.dumps(schema))
    return math.ceil(chars / _CHARS_PER_TOKEN)


def _estimate_prompt_tokens(body: Mapping[str, object], completion_tokens: int) -> int:
    """Approximate tokens of a request body (messages and response_format) plus its completion."""
    return math.ceil(len(json.dumps(body, ensure_ascii=False)) / _CHARS_PER_TOKEN) + completion_tokens


@dataclass
class _Tally:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class _Ask:
    """One logical question: the messages before any schema instructions, and how to sample the answer."""

    messages: Sequence[ChatMessage]
    schema_model: type[BaseModel]
    schema_name: str
    max_tokens: int | None
    temperature: float


@dataclass(frozen=True)
class _Answer:
    content: str
    finish_reason: str | None
    form: str


class _NoAnswer(Exception):
    """An exchange that gave no usable answer although no API error was raised.

    ``deadline``: no complete answer within the request's timeout (a server that trickles bytes resets
    every read timeout); ``unreadable``: an HTTP 200 whose body is empty or not a JSON chat completion;
    ``too_large``: a body over :data:`MAX_RESPONSE_BYTES`. The first two are retried like a timeout and a
    5xx; the last is not.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = kind != "too_large"


class _TooLarge(Exception):
    """Raised by the capped HTTP stream when an answer passes :data:`MAX_RESPONSE_BYTES`."""


class LLMClient:
    """Structured-output chat completions with retries, a concurrency bound, a cache and a budget.

    Use it inside one event loop: ``async with LLMClient(config, budget) as client: ...``.
    """

    def __init__(self, config: LLMConfig, budget: Budget | None = None) -> None:
        self.config = config
        self.budget = budget
        self.cache = ResponseCache(config.cache_dir) if config.cache_dir is not None else None
        self.endpoint: EndpointState = endpoint_state(
            config.base_url, config.model, config.structured_output, config.concurrency
        )
        self._discovery = asyncio.Lock()
        self._openai: openai.AsyncOpenAI | None = None
        self._random = random.Random()

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections (the client can be used again afterwards)."""
        if self._openai is not None:
            client, self._openai = self._openai, None
            await client.close()

    def __repr__(self) -> str:
        return f"LLMClient(base_url={self.config.base_url!r}, model={self.config.model!r})"

    def _client(self) -> openai.AsyncOpenAI:
        if self._openai is None:
            key = self.config.api_key.get_secret_value() if self.config.api_key is not None else None
            self._openai = openai.AsyncOpenAI(
                base_url=self.config.base_url,
                api_key=key or os.environ.get("OPENAI_API_KEY") or _PLACEHOLDER_API_KEY,
                max_retries=0,  # retried here, with our own backoff and accounting
                timeout=self.config.timeout_s,
                http_client=_capped_http_client(MAX_RESPONSE_BYTES),
            )
        return self._openai

    async def complete_json(
        self, messages: Sequence[ChatMessage], schema_model: type[T], schema_name: str, prompt_version: str,
        *, max_tokens: int | None = None, temperature: float | None = None,
    ) -> CallResult[T]:
        """Ask for one JSON object of ``schema_model``; re-ask once if the answer does not validate.

        ``max_tokens`` is the caller's default completion cap (a domain's); the configured
        ``max_tokens_per_call`` wins over it. ``temperature`` overrides the configured one (a retry
        that samples differently). An answer cut at the cap is re-asked for a shorter answer, without
        echoing the cut text; an invalid one is re-asked with the error and a trimmed copy of it.

        Returns the validated object, or an error after the re-ask also failed. Raises
        :class:`BudgetExceededError` when the budget refuses a request, :class:`LLMRequestError`
        when the endpoint rejects one (4xx other than 408/429, a format no fallback can avoid) and
        :class:`LLMUnavailableError` when transient errors outlast the retries; each carries the
        requests and tokens already spent.
        """
        config = self.config
        temperature = config.temperature if temperature is None else temperature
        ask = _Ask(messages, schema_model, schema_name, config.max_tokens_per_call or max_tokens, temperature)
        schema = _schema_of(schema_model)
        key = ""
        if self.cache is not None:
            sent = request_messages(messages, schema, config.structured_output)
            key = cache_key(config, sent, schema, prompt_version, temperature)
            hit = _from_cache(self.cache, key, schema_model)
            if hit is not None:
                return hit
        tally = _Tally()
        try:
            answer = await self._request(ask, tally)
            value, error, salvaged = _validate_answer(answer, schema_model)
            if value is None:
                logger.debug("invalid LLM answer (%s), re-asking once", error)
                if answer.finish_reason == "length":
                    limit = f"{ask.max_tokens} tokens" if ask.max_tokens else "the server's limit"
                    followup = [ChatMessage(role="user", content=_REASK_CUT.format(limit=limit))]
                else:
                    followup = [ChatMessage(role="assistant", content=_trimmed(answer.content)),
                                ChatMessage(role="user", content=_REASK.format(error=error))]
                answer = await self._request(dataclasses.replace(ask, messages=[*messages, *followup]), tally)
                value, error, salvaged = _validate_answer(answer, schema_model)
        except LLMError as exc:
            exc.requests += tally.requests
            exc.prompt_tokens += tally.prompt_tokens
            exc.completion_tokens += tally.completion_tokens
            raise
        if value is None:
            cut = " (cut at the length limit)" if answer.finish_reason == "length" else ""
            return CallResult(
                value=None, error=f"invalid LLM output after one re-ask{cut}: {error}",
                prompt_tokens=tally.prompt_tokens, completion_tokens=tally.completion_tokens,
                attempts=tally.requests, output_form=answer.form,
            )
        if self.cache is not None:
            self._remember(key, {
                "model": config.model, "prompt_version": prompt_version, "schema_name": schema_name,
                "content": value.model_dump(mode="json"), "prompt_tokens": tally.prompt_tokens,
                "completion_tokens": tally.completion_tokens,
            })
        return CallResult(
            value=value, prompt_tokens=tally.prompt_tokens, completion_tokens=tally.completion_tokens,
            attempts=tally.requests, output_form=answer.form, salvaged=salvaged,
        )

    def _remember(self, key: str, record: dict[str, object]) -> None:
        """Cache a validated answer; a cache that cannot be written (a full disk) costs a warning, not the answer."""
        assert self.cache is not None
        try:
            self.cache.put(key, record)
        except OSError as exc:
            folder = str(self.cache.folder)
            if folder not in _UNWRITABLE_CACHES:
                _UNWRITABLE_CACHES.add(folder)
                logger.warning("LLM cache %s cannot be written (%s); answers are used but not kept", folder, exc)

    async def _request(self, ask: _Ask, tally: _Tally) -> _Answer:
        """Send one chat completion in the endpoint's current form; retry transient errors, step down on rejections.

        A rejection of the response_format (or of a token-cap parameter) is never retried as it was:
        the endpoint state steps to the next form (or drops the parameter) for this and every later
        request. Transient errors (connection, timeout, 408, 429, 5xx) are retried with backoff; a
        timeout halves the endpoint's in-flight cap and doubles the next attempt's timeout, so the
        server is not handed the same work again while it may still compute the abandoned request.
        """
        config, state = self.config, self.endpoint
        if not state.discovered:
            async with self._discovery:  # FIFO: requests keep their order through the slot read
                if not state.discovered:
                    await asyncio.to_thread(state.discover)
        timeout = config.timeout_s
        attempt = 0
        while True:
            if state.down is not None:
                raise LLMEndpointDownError(f"LLM endpoint {state.base_url} is down for this run: {state.down}")
            await state.acquire()
            try:  # the form is read, and a rejection of it recorded, while the request holds its slot
                form = state.form
                body = self._request_body(ask, form)
                estimate = _estimate_prompt_tokens(body, ask.max_tokens or config.expected_completion_tokens)
                response, failure = await self._send(body, estimate, timeout, attempt, tally)
                status = getattr(failure, "status_code", None)
                message = _error_text(failure) if failure is not None else ""
                if response is not None:
                    state.succeeded(form)
                    return self._answer(response, ask, form, estimate, tally)
                assert failure is not None
                rejected_form = form != "prompt" and isinstance(failure, openai.APIStatusError) and \
                    is_format_rejection(status, message)
                if status is not None and not rejected_form:
                    state.answered(form)  # the server read the request and did not object to its form
                if rejected_form:
                    if state.reject_form(form, _describe(failure)):
                        continue  # the same question in the next form, at once: not a retry
                    raise LLMRequestError(
                        f"LLM endpoint rejected every structured-output form: {_describe(failure)}"
                    ) from failure
                parameter = rejected_parameter(status, message)
                if parameter is not None and parameter in body and state.drop_parameter(parameter):
                    continue
            finally:
                state.release()
            retry_in = self._retry_delay(failure, attempt)
            if retry_in is None:
                if status in _AUTH_STATUS:
                    state.failed_fatally(_describe(failure))
                hint = " (the prompt does not fit the model's context: smaller --chunk-chars or a larger " \
                       "n_ctx)" if is_context_overflow(message) else ""
                raise LLMRequestError(f"LLM request rejected: {_describe(failure)}{hint}") from failure
            timed_out = isinstance(failure, openai.APITimeoutError) or getattr(failure, "kind", "") == "deadline"
            if timed_out or status in (429, 503):
                state.overloaded(timed_out=timed_out)
            if timed_out:
                timeout = min(timeout * 2.0, config.timeout_s * _MAX_TIMEOUT_FACTOR)
            if attempt == config.max_retries:
                if isinstance(failure, openai.APIConnectionError) and not timed_out:
                    state.failed_fatally(f"unreachable: {_describe(failure)}")
                raise LLMUnavailableError(
                    f"LLM endpoint failed {attempt + 1} times; last error: {_describe(failure)}"
                ) from failure
            logger.info("LLM request failed (%s); retry %d of %d in %.2f s",
                        _describe(failure), attempt + 1, config.max_retries, retry_in)
            attempt += 1
            await asyncio.sleep(retry_in)  # holds no slot while it waits

    async def _send(
        self, body: dict[str, object], estimate: int, timeout: float, attempt: int, tally: _Tally
    ) -> tuple[ChatCompletion | None, openai.APIError | _NoAnswer | None]:
        """One HTTP request within a total deadline: the response, or the API error or missing answer it met.

        ``timeout`` bounds the whole exchange (connect, queue, generation, however the server streams),
        not only each socket read. Other client errors raise :class:`LLMRequestError`.
        """
        if self.budget is not None:
            self.budget.reserve(estimate)
        tally.requests += 1
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("LLM request to %s (attempt %d): %s", self.config.model, attempt + 1,
                         json.dumps(body["messages"], ensure_ascii=False))
        try:
            async with asyncio.timeout(timeout):
                response = await self._client().post(
                    "/chat/completions", cast_to=ChatCompletion, body=body, options={"timeout": timeout}
                )
        except openai.APIError as exc:
            self._release(estimate)
            return None, exc
        except TimeoutError:
            self._release(estimate)
            return None, _NoAnswer("deadline", f"no complete answer within {timeout:g} s")
        except _TooLarge as exc:
            self._release(estimate)
            return None, _NoAnswer("too_large", str(exc))
        except ValueError as exc:  # a JSON content type with a body that is not JSON (or empty)
            self._release(estimate)
            return None, _NoAnswer("unreadable", f"HTTP 200 with a body that is not JSON: {exc}")
        except openai.OpenAIError as exc:
            self._release(estimate)
            raise LLMRequestError(f"LLM client error: {_describe(exc)}") from exc
        except BaseException:
            self._release(estimate)
            raise
        if not isinstance(response, ChatCompletion):  # the openai client hands back the text of a non-JSON body
            self._release(estimate)
            shown = " ".join(str(response).split())[:120]
            return None, _NoAnswer("unreadable", f"HTTP 200 without a JSON chat completion: {shown!r}")
        return response, None

    def _answer(self, response: ChatCompletion, ask: _Ask, form: str, estimate: int, tally: _Tally) -> _Answer:
        """Account a response's tokens and read its content."""
        usage = response.usage
        prompt_tokens = (usage.prompt_tokens or 0) if usage is not None else 0
        completion_tokens = (usage.completion_tokens or 0) if usage is not None else 0
        tally.prompt_tokens += prompt_tokens
        tally.completion_tokens += completion_tokens
        if self.budget is not None:
            self.budget.record(prompt_tokens, completion_tokens, reserved=estimate)
        content, finish_reason = _content_of(response, ask.max_tokens)
        logger.debug("LLM answer (%d+%d tokens, %s): %s", prompt_tokens, completion_tokens, finish_reason, content)
        return _Answer(content, finish_reason, form)

    def _release(self, reserved: int) -> None:
        if self.budget is not None:
            self.budget.release(reserved)

    def _request_body(self, ask: _Ask, form: str) -> dict[str, object]:
        """The JSON body of a chat completion request for this question in structured-output ``form``.

        It is sent with the openai client's plain ``post`` (its documented way to send a body it
        does not rewrite) rather than ``chat.completions.create``: ``create`` runs every request's
        messages and JSON schema through its typed-dict transform, ~1.2 ms of event-loop time per
        request here (a third of the client's cost at 32 requests in flight; see
        benchmarks/llm_client_throughput.py). Errors, timeouts and response parsing are the same.
        The completion cap goes out as both ``max_tokens`` (llama.cpp, Ollama) and
        ``max_completion_tokens`` (OpenAI) unless the endpoint rejected one of them.
        """
        schema = _grammar_schema_of(ask.schema_model) if form != "json_schema" else _schema_of(ask.schema_model)
        messages = request_messages(ask.messages, schema, form)
        body: dict[str, object] = {
            "model": self.config.model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "temperature": ask.temperature,
        }
        if form == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": ask.schema_name, "schema": schema, "strict": True},
            }
        elif form == "json_object+schema":  # the form llama.cpp, vLLM and Ollama compile to a grammar
            body["response_format"] = {"type": "json_object", "schema": schema}
        elif form == "json_object":
            body["response_format"] = {"type": "json_object"}
        if ask.max_tokens is not None:  # sent only when set: some servers reject a null
            for name in self.endpoint.token_parameters():
                body[name] = ask.max_tokens
        return body

    def _retry_delay(self, exc: openai.APIError | _NoAnswer, attempt: int) -> float | None:
        """Seconds to wait before retrying ``exc``, or None when it must not be retried."""
        if isinstance(exc, _NoAnswer):
            return self._backoff(attempt) if exc.retryable else None
        if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
            return self._backoff(attempt)
        if not isinstance(exc, openai.APIStatusError):
            return None
        status = exc.status_code
        if status not in _RETRYABLE_STATUS and status < 500:
            return None
        retry_after = _retry_after_s(exc.response.headers)
        if retry_after is not None:
            capped = min(retry_after, self.config.max_retry_after_s)
            # a little jitter on top (never below what the server asked) so waiting calls do not return at once
            return capped + self._random.uniform(0.0, min(1.0, 0.1 * capped))
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(max, base * 2**attempt)]."""
        ceiling = min(self.config.backoff_max_s, self.config.backoff_base_s * 2.0 ** min(attempt, 30))
        return self._random.uniform(0.0, ceiling)


_UNWRITABLE_CACHES: set[str] = set()  # cache folders already warned about (once per process)


def _capped_http_client(cap: int) -> Any:
    """The openai client's own async HTTP client (its defaults), whose answers may not pass ``cap`` bytes.

    openai 1.x is built on ``httpx`` and 2.x+ on its successor ``httpx2``, with the same transport API: the
    module is the one openai's ``DefaultAsyncHttpxClient`` comes from. A ``Content-Length`` over the cap is
    refused before the body is read; a streamed body, as soon as it passes the cap (:class:`_TooLarge`).
    """
    base = openai.DefaultAsyncHttpxClient
    http = importlib.import_module(next(c.__module__ for c in base.__mro__
                                        if c.__module__.split(".")[0] in ("httpx", "httpx2")).split(".")[0])

    class CappedStream(http.AsyncByteStream):  # type: ignore[name-defined, misc]
        def __init__(self, stream: object) -> None:
            self._stream = stream

        async def __aiter__(self):  # type: ignore[no-untyped-def]
            seen = 0
            async for chunk in self._stream:  # type: ignore[attr-defined]
                seen += len(chunk)
                if seen > cap:
                    raise _TooLarge(f"answer larger than {cap:,} bytes")
                yield chunk

        async def aclose(self) -> None:
            await self._stream.aclose()  # type: ignore[attr-defined]

    class CappedTransport(http.AsyncBaseTransport):  # type: ignore[name-defined, misc]
        def __init__(self) -> None:
            self._inner = http.AsyncHTTPTransport(limits=http.Limits(max_connections=1000,
                                                                     max_keepalive_connections=100))

        async def handle_async_request(self, request: object) -> object:
            response = await self._inner.handle_async_request(request)
            length = response.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > cap:
                await response.aclose()
                raise _TooLarge(f"answer of {int(length):,} bytes, more than {cap:,}")
            response.stream = CappedStream(response.stream)
            return response

        async def aclose(self) -> None:
            await self._inner.aclose()

    return base(transport=CappedTransport())


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The server's ``retry-after-ms`` / ``retry-after`` (seconds or HTTP date), in seconds."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    value = headers.get("retry-after")
    if value:
        try:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(0.0, float(email.utils.mktime_tz(parsed)) - time.time())
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def _from_cache(cache: ResponseCache, key: str, schema_model: type[T]) -> CallResult[T] | None:
    """The cached answer of ``key`` if there is one and it still validates."""
    record = cache.get(key)
    if record is None:
        return None
    try:
        value = schema_model.model_validate(record["content"])
    except ValidationError:
        logger.warning("LLM cache entry %s no longer matches %s; asking again", key, schema_model.__name__)
        return None
    logger.debug("LLM cache hit %s", key)
    return CallResult(value=value, from_cache=True)


def _content_of(response: ChatCompletion, max_tokens: int | None) -> tuple[str, str | None]:
    """The answer's text ('' when there is none; a refusal's text so the error shows it) and finish reason."""
    if not response.choices:
        return "", None
    choice = response.choices[0]
    if choice.finish_reason == "length":
        if max_tokens is not None:
            logger.warning("LLM answer cut at the completion token limit (%d tokens, max_tokens_per_call)", max_tokens)
        else:
            logger.warning("LLM answer cut by the server (its context size or its own completion limit)")
    message = choice.message
    return message.content or getattr(message, "refusal", None) or "", choice.finish_reason


def _trimmed(content: str) -> str:
    """An invalid answer shortened for the re-ask, so the re-ask fits a small context."""
    if len(content) <= _MAX_BAD_OUTPUT_CHARS:
        return content
    half = _MAX_BAD_OUTPUT_CHARS // 2
    return f"{content[:half]} [...] {content[-half:]}"


def _error_text(exc: openai.APIError | _NoAnswer) -> str:
    """The error answer's message and body, as one string to read a rejection's reason from."""
    parts = [str(getattr(exc, "message", "") or "")]
    body = getattr(exc, "body", None)
    if body is not None:
        parts.append(json.dumps(body, ensure_ascii=False, default=str) if not isinstance(body, str) else body)
    return " ".join(parts)


def _validate_answer(answer: _Answer, schema_model: type[T]) -> tuple[T | None, str | None, bool]:
    """The validated answer, else (for an answer cut at the token limit) its complete items, else the error.

    Returns ``(value, error, salvaged)``.
    """
    value, error = _validate(answer.content, schema_model)
    if value is not None or answer.finish_reason != "length":
        return value, error, False
    for prefix in complete_prefixes(_strip_fences(answer.content)):
        salvaged, _ = _validate(prefix, schema_model)
        if salvaged is not None:
            logger.info("kept the complete part (%d of %d characters) of an answer cut at the token limit",
                        len(prefix), len(answer.content))
            return salvaged, None, True
    return None, error, False


def _validate(content: str, schema_model: type[T]) -> tuple[T | None, str | None]:
    """The validated object, or a short description of what is wrong with ``content``."""
    text = _strip_fences(content)
    if not text:
        return None, "empty answer"
    try:
        return schema_model.model_validate_json(text), None
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        parts = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in errors[:8]]
        if len(errors) > 8:
            parts.append(f"... {len(errors) - 8} more errors")
        return None, "; ".join(parts)[:_MAX_ERROR_CHARS]


def _strip_fences(content: str) -> str:
    """The answer without surrounding whitespace or a Markdown code fence (some models add one in JSON mode)."""
    text = content.strip()
    if text.startswith("```") and text.endswith("```") and len(text) >= 6:
        inner = text[3:-3]
        first_line, newline, rest = inner.partition("\n")
        if newline and (first_line.strip().isalpha() or not first_line.strip()):
            inner = rest  # drop the language tag line ("json")
        text = inner
    return text.strip()


def _describe(exc: BaseException) -> str:
    """One line naming an openai error: class, HTTP status, message (shortened)."""
    status = getattr(exc, "status_code", None)
    message = " ".join(str(getattr(exc, "message", None) or exc).split())[:300]
    name = f"NoAnswer ({exc.kind})" if isinstance(exc, _NoAnswer) else type(exc).__name__
    return name + (f" (HTTP {status})" if status else "") + (f": {message}" if message else "")


def run_sync(make: Callable[[], Coroutine[object, object, _R]]) -> _R:
    """Run the coroutine ``make()`` to completion from synchronous code.

    Outside an event loop this is ``asyncio.run``; called from a thread that already runs one (an
    async Prefect context), the coroutine gets its own loop on a fresh thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kgweave-async") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
