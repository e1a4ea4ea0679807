"""What kgweave learns about an OpenAI-compatible endpoint while it talks to it, shared by the whole process.

Real servers differ from OpenAI in ways a client can only find out by asking:

- **Structured output.** OpenAI and vLLM take ``response_format: {"type": "json_schema", ...}``;
  llama.cpp's Python server rejects it (HTTP 500, ``Input should be 'text' or 'json_object'``) but
  enforces ``{"type": "json_object", "schema": {...}}`` with a grammar, as vLLM and Ollama also do;
  some servers take neither. :class:`EndpointState` walks the ladder :data:`OUTPUT_FORMS` down from
  the configured mode, one step per *rejection of the response_format itself* (read from the error
  body, whatever its status code), never retrying a deterministic rejection, and remembers the form
  that worked for every later request of the process (a run). Until the server has answered a
  request without rejecting its form, requests go one at a time, so a rejected form costs one
  request, not one per request in flight.
- **Token caps.** Both ``max_tokens`` (llama.cpp, Ollama, older vLLM) and ``max_completion_tokens``
  (OpenAI) are sent; a server that rejects one of them by name gets the other only, from then on.
- **Slots.** llama.cpp's ``llama-server`` says how many requests it computes at once (``GET /props``:
  ``total_slots``); llama.cpp's Python server computes one (its OpenAPI title names it). Requests in
  flight are capped at the slots where known, so none waits in the server's queue while kgweave's
  timeout runs; elsewhere the cap adapts: halved on a timeout, a 429 or a 503, raised by one per
  ``limit`` successes (AIMD, as TCP does). A request that timed out is retried with a doubled timeout
  after the cap was halved, so the server is not handed the same work while it still computes it.
- **Circuit breaker.** :data:`FATAL_IN_A_ROW` failures in a row that retries cannot mend (HTTP 401/403,
  an endpoint unreachable after every retry) take the endpoint down for the process: later requests fail
  at once with the cause (:class:`~kgweave.agents.errors.LLMEndpointDownError`) instead of each waiting
  out its retries.

Examples
--------
>>> state = EndpointState("http://127.0.0.1:8080/v1", "m", "json_schema", concurrency=8)
>>> state.form
'json_schema'
>>> state.reject_form("json_schema", "HTTP 500: Input should be 'text' or 'json_object'")
True
>>> state.form, state.fallbacks
('json_object+schema', ("json_schema: HTTP 500: Input should be 'text' or 'json_object'",))
>>> is_format_rejection(400, "response_format json_schema is not supported")
True
>>> is_format_rejection(500, "CUDA out of memory")
False
>>> rejected_parameter(400, "Unsupported parameter: 'max_tokens' is not supported. Use 'max_completion_tokens'.")
'max_tokens'
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field

__all__ = [
    "OUTPUT_FORMS",
    "EndpointState",
    "discover_slots",
    "endpoint_state",
    "endpoint_reports",
    "is_context_overflow",
    "is_format_rejection",
    "known_endpoint",
    "rejected_parameter",
]

logger = logging.getLogger(__name__)

# From most to least enforced: strict schema; JSON mode with the schema as a grammar (llama.cpp, vLLM,
# Ollama); plain JSON mode; no response_format at all (the schema only in the prompt).
OUTPUT_FORMS = ("json_schema", "json_object+schema", "json_object", "prompt")
_LADDER_START = {"json_schema": 0, "json_object": 1, "prompt": 3}
TOKEN_PARAMETERS = ("max_tokens", "max_completion_tokens")

_FORMAT_WORDS = re.compile(
    r"response_format|json_schema|json_object|'text'|guided|grammar|structured output|schema", re.IGNORECASE
)
_UNSUPPORTED = re.compile(r"unsupported|not supported|unrecognized|unknown|not allowed|extra|invalid", re.IGNORECASE)
_CONTEXT = re.compile(r"context (length|window|size)|n_ctx|maximum context|too many tokens|exceed", re.IGNORECASE)
_DISCOVERY_TIMEOUT_S = 3.0
FATAL_IN_A_ROW = 3  # auth refusals or exhausted connection retries in a row that take an endpoint down


def is_format_rejection(status: int | None, message: str) -> bool:
    """True when an error answer rejects the request's ``response_format`` (deterministic: never retry it).

    Read from the error body, whatever the status: llama.cpp's Python server answers a json_schema
    response_format with HTTP 500. 429, 408 and 503 are load, never a rejection of the format.
    """
    if status in (408, 429, 503) or status is None:
        return False
    return status >= 400 and bool(_FORMAT_WORDS.search(message)) and not is_context_overflow(message)


def rejected_parameter(status: int | None, message: str) -> str | None:
    """The token-cap parameter (``max_tokens`` / ``max_completion_tokens``) a 4xx answer rejects by name."""
    if status is None or not 400 <= status < 500 or not _UNSUPPORTED.search(message):
        return None
    # the one named first: "Unsupported parameter: 'max_tokens' ... Use 'max_completion_tokens' instead."
    found = [(m.start(), name) for name in TOKEN_PARAMETERS if (m := re.search(rf"\b{name}\b", message))]
    return min(found)[1] if found else None


def is_context_overflow(message: str) -> bool:
    """True when the server says the prompt (plus the completion cap) does not fit the model's context."""
    return bool(_CONTEXT.search(message)) and "token" in message.lower()


@dataclass
class EndpointState:
    """What one process knows about one (endpoint, model, configured mode); thread-safe.

    Shared by every :class:`~kgweave.agents.llm_client.LLMClient` of the process, whatever its event
    loop: the in-flight cap is a counter under a lock that coroutines poll, never an asyncio primitive.
    """

    base_url: str
    model: str
    configured: str
    concurrency: int
    slots: int | None = None
    form_index: int = 0
    confirmed: bool = False
    fallbacks: tuple[str, ...] = ()
    dropped_parameters: tuple[str, ...] = ()
    timeouts: int = 0
    overloads: int = 0
    discovered: bool = False
    down: str | None = None  # why later requests are not sent (the circuit breaker is open)
    _fatal_in_a_row: int = 0
    _limit: float = 1.0
    _in_flight: int = 0
    _successes: int = 0
    _queue: deque[object] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _discovery_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.form_index = _LADDER_START[self.configured]
        self._limit = float(self.concurrency)

    @property
    def form(self) -> str:
        """The structured-output form requests use now."""
        return OUTPUT_FORMS[self.form_index]

    @property
    def limit(self) -> int:
        """Requests allowed in flight now: 1 until a form has worked, then the slots or the adaptive cap."""
        with self._lock:
            return self._limit_locked()

    def _limit_locked(self) -> int:
        if not self.confirmed:
            return 1
        cap = min(self.concurrency, self.slots) if self.slots else self.concurrency
        return max(1, min(cap, int(self._limit)))

    async def acquire(self) -> None:
        """Wait, first come first served, for room under the in-flight cap.

        Polls (2 to 50 ms) rather than awaiting an asyncio primitive: the cap is shared by clients on
        several event loops (the extraction tasks' threads).
        """
        ticket = object()
        with self._lock:
            self._queue.append(ticket)
        pause = 0.002
        try:
            while True:
                with self._lock:
                    if self._queue[0] is ticket and self._in_flight < self._limit_locked():
                        self._queue.popleft()
                        self._in_flight += 1
                        return
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.05)
        except BaseException:
            with self._lock:
                if ticket in self._queue:
                    self._queue.remove(ticket)
            raise

    def release(self) -> None:
        """A request is no longer in flight."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def answered(self, form: str) -> None:
        """The server answered a request in ``form`` without rejecting the form (an error status counts): confirm it."""
        with self._lock:
            self._confirm(form)

    def _confirm(self, form: str) -> None:
        if form == self.form and not self.confirmed:
            self.confirmed = True
            if self.fallbacks:
                logger.warning("LLM endpoint %s: structured output works as %s (%s rejected)",
                               self.base_url, form, ", ".join(f.split(":")[0] for f in self.fallbacks))

    def failed_fatally(self, reason: str) -> None:
        """A failure retries cannot mend (auth refused, unreachable after every retry); the
        :data:`FATAL_IN_A_ROW`-th in a row opens the circuit: :attr:`down` says why, and no request is sent."""
        with self._lock:
            self._fatal_in_a_row += 1
            if self._fatal_in_a_row >= FATAL_IN_A_ROW and self.down is None:
                self.down = f"{self._fatal_in_a_row} requests in a row failed: {' '.join(reason.split())[:200]}"
                logger.error("LLM endpoint %s is down for this run: %s", self.base_url, self.down)

    def succeeded(self, form: str) -> None:
        """A request in ``form`` was answered: confirm the form and raise the adaptive cap additively."""
        with self._lock:
            self._fatal_in_a_row = 0
            self._confirm(form)
            self._successes += 1
            if self._successes >= max(1, int(self._limit)):
                self._successes = 0
                self._limit = min(float(self.concurrency), self._limit + 1.0)

    def overloaded(self, timed_out: bool) -> None:
        """A timeout, 429 or 503: halve the adaptive cap (multiplicative decrease)."""
        with self._lock:
            if timed_out:
                self.timeouts += 1
            else:
                self.overloads += 1
            self._limit = max(1.0, self._limit / 2.0)
            self._successes = 0

    def reject_form(self, form: str, reason: str) -> bool:
        """The server rejected ``form``: step down the ladder once; False when no form is left."""
        with self._lock:
            if form != self.form:
                return True  # another request already stepped down past it
            if self.form_index + 1 >= len(OUTPUT_FORMS):
                return False
            self.fallbacks = (*self.fallbacks, f"{form}: {' '.join(reason.split())[:200]}")
            self.form_index += 1
            logger.warning("LLM endpoint %s rejected response_format %s; falling back to %s (set "
                           "KGWEAVE_LLM_STRUCTURED_OUTPUT to skip the probe)", self.base_url, form, self.form)
            return True

    def drop_parameter(self, name: str) -> bool:
        """Stop sending token-cap parameter ``name``; False if it was already dropped or is the last one."""
        with self._lock:
            if name in self.dropped_parameters or len(self.dropped_parameters) + 1 >= len(TOKEN_PARAMETERS):
                return False
            self.dropped_parameters = (*self.dropped_parameters, name)
            return True

    def token_parameters(self) -> tuple[str, ...]:
        """The token-cap parameters to send."""
        return tuple(p for p in TOKEN_PARAMETERS if p not in self.dropped_parameters)

    def discover(self) -> None:
        """Read the server's slot count once (blocking, a few seconds at most: call it off the event loop)."""
        with self._discovery_lock:  # one read at a time; ``discovered`` turns True once the answer is in
            if self.discovered:
                return
            slots = discover_slots(self.base_url)
            with self._lock:
                self.slots = slots
                self.discovered = True

    def report(self) -> dict[str, object]:
        """What was learnt, for run records and summaries."""
        with self._lock:
            return {
                "base_url": self.base_url, "model": self.model, "structured_output": self.form,
                "confirmed": self.confirmed, "fallbacks": list(self.fallbacks), "slots": self.slots,
                "concurrency_limit": self._limit_locked(), "timeouts": self.timeouts, "overloads": self.overloads,
                "dropped_parameters": list(self.dropped_parameters), "down": self.down,
            }


_STATES: dict[tuple[str, str, str], EndpointState] = {}
_STATES_LOCK = threading.Lock()


def endpoint_state(base_url: str, model: str, configured: str, concurrency: int) -> EndpointState:
    """The process-wide state of this endpoint, model and configured mode (its slots not read yet)."""
    key = (base_url.rstrip("/"), model, configured)
    with _STATES_LOCK:
        state = _STATES.get(key)
        if state is None:
            state = _STATES[key] = EndpointState(key[0], model, configured, concurrency)
        state.concurrency = concurrency
        return state


def known_endpoint(base_url: str, model: str, configured: str) -> dict[str, object] | None:
    """The report of this endpoint if this process has talked to it (see :meth:`EndpointState.report`)."""
    with _STATES_LOCK:
        state = _STATES.get((base_url.rstrip("/"), model, configured))
    return state.report() if state is not None and state.discovered else None


def endpoint_reports() -> list[dict[str, object]]:
    """What this process learnt about every endpoint it used."""
    with _STATES_LOCK:
        states = list(_STATES.values())
    return [s.report() for s in states]


def discover_slots(base_url: str) -> int | None:
    """How many requests the server computes at once, where it says so; None when it does not.

    ``llama-server`` (C++): ``GET /props`` -> ``total_slots``. llama.cpp's Python server
    (``python -m llama_cpp.server``): one (its OpenAPI title says "llama.cpp Python API"). vLLM and
    OpenAI do not publish a fixed number: None, and the cap adapts.
    """
    root = re.sub(r"/v\d+/?$", "", base_url.rstrip("/"))
    props = _get_json(f"{root}/props")
    if isinstance(props, dict) and isinstance(props.get("total_slots"), int) and props["total_slots"] > 0:
        return int(props["total_slots"])
    spec = _get_json(f"{root}/openapi.json")
    if isinstance(spec, dict):
        title = str((spec.get("info") or {}).get("title", ""))
        if "llama.cpp python" in title.casefold():
            return 1
    return None


def _get_json(url: str) -> object:
    try:
        with urllib.request.urlopen(url, timeout=_DISCOVERY_TIMEOUT_S) as answer:  # noqa: S310 - the user's endpoint
            if answer.status != 200:
                return None
            return json.loads(answer.read(2_000_000))
    except (urllib.error.URLError, OSError, ValueError):
        return None
