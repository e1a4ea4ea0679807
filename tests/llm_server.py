"""An OpenAI-compatible chat completions server for tests: answers from the request's JSON schema.

``GET /v1/models`` and ``POST /v1/chat/completions`` on a stdlib ``ThreadingHTTPServer`` in a
background thread. A completion is built by walking the JSON schema of the request (from
``response_format.json_schema``, or from the ``<schema>`` block of the system prompt in JSON mode):
objects, arrays, enums, strings, numbers. Strings named ``name``/``source``/``target`` are real
capitalised phrases and words of the text between ``<document>`` tags, so grounding passes;
relations join names of the same answer. Strings named ``text``/``abstract`` (a node's whole text,
:data:`FREE_TEXT_FIELDS`) are the document's first three sentences.

Faults are scripted per request, in order (:meth:`LLMTestServer.script`), or chosen by a rule on
the request body (:attr:`LLMTestServer.rule`): HTTP errors, 429 with ``Retry-After``, a delay past
the client's timeout, malformed JSON, the schema echoed back, hostile strings, names that are not
in the text. Every request is recorded, and the most requests ever in flight is kept. A follow-up
request (one holding earlier assistant answers, as a gleaning pass does) is answered with the names
those answers did not give, or with empty lists when none is left.

With :attr:`LLMTestServer.limits` set (:class:`ServerLimits`) it behaves like llama.cpp's Python
server on one CPU or GPU: a ``json_schema`` response_format is rejected with HTTP 500 and a pydantic
error body, ``json_object`` with a ``schema`` is honoured, one request is computed at a time (the
others queue, their wait counting against the client's timeout), prompt plus completion must fit
``n_ctx`` (HTTP 400 otherwise), only ``max_tokens`` caps an answer (``max_completion_tokens`` is
ignored; a cut answer ends with ``finish_reason: length``), and an answer computed for a client
that already gave up is counted as abandoned work (:attr:`LLMTestServer.abandoned`).

Run it on its own (benchmarks, manual checks): ``python -m tests.llm_server --latency 0.2`` prints
its base URL and serves until interrupted; ``GET /v1/_test/stats`` reports requests and in-flight peak.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "LLAMA_CPP_FORMAT_ERROR",
    "HOSTILE_NAMES",
    "HOSTILE_RELATION_TYPES",
    "UNGROUNDED_NAME",
    "Fault",
    "LLMTestServer",
    "RecordedRequest",
    "ServerLimits",
    "request_document",
]

UNGROUNDED_NAME = "Zorblax Quuxington"
HOSTILE_NAMES = (
    "`Evil` Corp",
    "}) MATCH (n) DETACH DELETE n //",
    'Robert"); DROP TABLE entities; --',
    "Line\nBreak",
    "O'Brien's {$param}",
)
HOSTILE_RELATION_TYPES = (
    "}) MATCH (n) DETACH DELETE n //",
    "`KNOWS`]->(m) SET m.pwned = true //",
    'LOVES"; DROP',
    "123 go",
    "\u202eSDRAWKCAB",
)
LONG_NAME = "A" * 10_000
FREE_TEXT_FIELDS = ("text", "abstract")  # string properties answered with the document's first sentences
_MODEL_ID = "kgweave-test-model"
_CAPITALISED = re.compile(r"\b[A-Z][\w-]*(?:[ \t]+[A-Z][\w-]*)*")
_WORD = re.compile(r"\b[a-z][a-z-]{4,}\b")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_STOPWORDS = frozenset((
    "about", "above", "after", "again", "against", "among", "because", "before", "being", "below", "between",
    "could", "during", "every", "other", "their", "there", "these", "those", "through", "under", "until",
    "where", "which", "while", "would", "should",
))
# what llama-cpp-python 0.3's server answers (HTTP 500) to response_format {"type": "json_schema", ...}
LLAMA_CPP_FORMAT_ERROR = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}]"
)
_FAULT_KINDS = ("ok", "status", "rate_limit", "delay", "malformed", "echo_schema", "hostile", "hostile_long",
                "ungrounded", "empty", "trickle", "empty_200", "text_200", "huge")


@dataclass(frozen=True)
class Fault:
    """What the server does to one chat request instead of (or before) answering normally."""

    kind: str = "ok"
    status: int = 500
    retry_after: float | None = None  # seconds, sent as Retry-After
    retry_after_ms: float | None = None  # sent as retry-after-ms
    delay_s: float = 0.0  # sleep before answering (a timeout when longer than the client's)
    message: str | None = None  # the error message of a status fault (default "injected HTTP <status>")

    def __post_init__(self) -> None:
        if self.kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {_FAULT_KINDS}")

    @classmethod
    def http(cls, status: int, message: str | None = None) -> Fault:
        """Answer with this HTTP error status (and error message)."""
        return cls(kind="status", status=status, message=message)

    @classmethod
    def rate_limit(cls, retry_after: float | None = None, retry_after_ms: float | None = None) -> Fault:
        """HTTP 429, with Retry-After and/or retry-after-ms headers if given."""
        return cls(kind="rate_limit", status=429, retry_after=retry_after, retry_after_ms=retry_after_ms)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Sleep, then answer normally (too late for a client with a shorter timeout)."""
        return cls(kind="delay", delay_s=seconds)

    @classmethod
    def parse(cls, spec: Fault | str | int) -> Fault:
        """A fault from shorthand: ``500``, ``"429"``, ``"timeout"``, ``"malformed"``, ``"hostile"``..."""
        if isinstance(spec, Fault):
            return spec
        text = str(spec)
        if text.isdigit():
            status = int(text)
            return cls.rate_limit(retry_after=0) if status == 429 else cls.http(status)
        if text == "timeout":
            return cls.delay(3.0)
        return cls(kind=text)


@dataclass(frozen=True)
class ServerLimits:
    """How a real one-model server behaves (defaults: llama.cpp's Python server, as tested with SmolLM2)."""

    formats: tuple[str, ...] = ("text", "json_object")  # response_format types accepted; others: HTTP 500
    slots: int = 1  # answers computed at once; other requests wait in the server's queue
    n_ctx: int = 2048  # prompt plus completion tokens (4 characters a token)
    token_parameter: str = "max_tokens"  # the only completion cap honoured
    seconds_per_answer: float = 0.0  # compute time of one answer, whether or not its client still waits
    announce: bool = True  # GET /openapi.json names "llama.cpp Python API", so clients can read the slots


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    fault: str
    received_at: float

    @property
    def response_format(self) -> dict[str, Any] | None:
        """The request's ``response_format``, if any."""
        value = self.body.get("response_format")
        return value if isinstance(value, dict) else None

    @property
    def document(self) -> str:
        """The text between the last ``<document>`` tags of the messages."""
        return _document_of(self.body.get("messages", []))


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    in_flight: int = 0
    max_in_flight: int = 0
    abandoned: int = 0
    abandoned_seconds: float = 0.0
    computed_seconds: float = 0.0


class LLMTestServer:
    """The test server; ``start()``/``stop()`` or use it as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> None:
        self.latency_s = 0.0
        self.rule: Callable[[dict[str, Any]], Fault | str | int | None] | None = None
        self.api_key = api_key
        self.items_per_array = 3
        self.limits: ServerLimits | None = None
        self._slots: threading.Semaphore | None = None
        self._state = _State()
        self._host = host
        self._httpd = _Server((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The API root to give the openai client (``http://127.0.0.1:PORT/v1``)."""
        return f"http://{self._host}:{self._httpd.server_address[1]}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far (a copy)."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat completion requests so far."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def max_in_flight(self) -> int:
        """The most chat requests that were being served at once."""
        with self._state.lock:
            return self._state.max_in_flight

    @property
    def abandoned(self) -> int:
        """Answers computed for a client that had already given up (timed out) by the time they were ready."""
        with self._state.lock:
            return self._state.abandoned

    @property
    def abandoned_share(self) -> float:
        """The share of compute time (``seconds_per_answer``) spent on abandoned answers."""
        with self._state.lock:
            return self._state.abandoned_seconds / self._state.computed_seconds if self._state.computed_seconds else 0.0

    def limit(self, limits: ServerLimits | None = None) -> LLMTestServer:
        """Behave like a real server under ``limits`` (default: llama.cpp's Python server)."""
        self.limits = limits or ServerLimits()
        self._slots = threading.Semaphore(self.limits.slots)
        return self

    def script(self, faults: Iterable[Fault | str | int]) -> None:
        """Replace the queue of faults: the next chat requests get them in order, later ones succeed."""
        parsed = [Fault.parse(f) for f in faults]
        with self._state.lock:
            self._state.faults = deque(parsed)

    def reset(self) -> None:
        """Forget recorded requests, scripted faults, the rule and the in-flight maximum."""
        with self._state.lock:
            self._state.requests.clear()
            self._state.faults.clear()
            self._state.max_in_flight = 0
            self._state.abandoned = 0
            self._state.abandoned_seconds = self._state.computed_seconds = 0.0
        self.rule = None

    def start(self) -> LLMTestServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="llm-test-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LLMTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # called by the handler threads
    def _next_fault(self, body: dict[str, Any]) -> Fault:
        if self.rule is not None:
            chosen = self.rule(body)
            if chosen is not None:
                return Fault.parse(chosen)
        with self._state.lock:
            return self._state.faults.popleft() if self._state.faults else Fault()

    def _record(self, request: RecordedRequest) -> None:
        with self._state.lock:
            self._state.requests.append(request)

    def _enter(self) -> None:
        with self._state.lock:
            self._state.in_flight += 1
            self._state.max_in_flight = max(self._state.max_in_flight, self._state.in_flight)

    def _leave(self) -> None:
        with self._state.lock:
            self._state.in_flight -= 1

    def _computed(self, seconds: float, abandoned: bool) -> None:
        with self._state.lock:
            self._state.computed_seconds += seconds
            if abandoned:
                self._state.abandoned += 1
                self._state.abandoned_seconds += seconds


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many clients connect at once; the default backlog of 5 drops SYNs


def _handler_for(server: LLMTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            server._record(RecordedRequest("GET", self.path, _lower(self.headers), {}, "ok", time.monotonic()))
            if self.path.rstrip("/").endswith("/_test/stats"):
                self._send(200, {"chat_requests": len(server.chat_requests), "max_in_flight": server.max_in_flight})
            elif self.path.rstrip("/") == "/openapi.json" and server.limits is not None and server.limits.announce:
                self._send(200, {"openapi": "3.1.0", "info": {"title": "\U0001f999 llama.cpp Python API"}})
            elif self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [
                    {"id": _MODEL_ID, "object": "model", "created": 0, "owned_by": "kgweave-tests"}]})
            else:
                self._send(404, _error("not found", "not_found_error"))

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(400, _error("request body is not JSON", "invalid_request_error"))
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                server._record(RecordedRequest("POST", self.path, _lower(self.headers), body, "ok", time.monotonic()))
                self._send(404, _error("not found", "not_found_error"))
                return
            fault = server._next_fault(body)
            server._record(RecordedRequest("POST", self.path, _lower(self.headers), body, fault.kind, time.monotonic()))
            server._enter()
            try:
                self._chat(body, fault)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing to answer
            finally:
                server._leave()

        def _chat(self, body: dict[str, Any], fault: Fault) -> None:
            if server.latency_s:
                time.sleep(server.latency_s)
            if server.api_key is not None and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                self._send(401, _error("invalid api key", "authentication_error"))
                return
            if fault.kind == "delay":
                time.sleep(fault.delay_s)
            if server.limits is not None and fault.kind == "ok":
                self._limited_chat(body, server.limits)
                return
            if fault.kind in ("trickle", "empty_200", "text_200", "huge"):
                self._misbehave(fault.kind)
                return
            if fault.kind in ("status", "rate_limit"):
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = _number(fault.retry_after)
                if fault.retry_after_ms is not None:
                    headers["retry-after-ms"] = _number(fault.retry_after_ms)
                kind = "rate_limit_error" if fault.status == 429 else "server_error" if fault.status >= 500 else \
                    "invalid_request_error"
                self._send(fault.status, _error(fault.message or f"injected HTTP {fault.status}", kind), headers)
                return
            content = answer(body, fault.kind, server.items_per_array)
            self._send(200, _completion(body, content))

        def _misbehave(self, kind: str) -> None:
            """HTTP 200s that are no answer: bytes trickled for ever, an empty or non-JSON body, a huge body."""
            self.send_response(200)
            if kind == "trickle":  # a valid-looking start, then one byte every 0.2 s: no read ever times out
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                try:
                    for _ in range(600):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.2)
                except OSError:
                    pass
                return
            data = {"empty_200": b"", "text_200": b"<html>Bad Gateway</html>",
                    "huge": b"[" + b"0," * (3 * 1024 * 1024) + b"0]"}[kind]
            self.send_header("Content-Type", "text/html" if kind == "text_200" else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(data)

        def _limited_chat(self, body: dict[str, Any], limits: ServerLimits) -> None:
            fmt = body.get("response_format") or {"type": "text"}
            if fmt.get("type") not in limits.formats:
                self._send(500, _error(LLAMA_CPP_FORMAT_ERROR, "server_error"))
                return
            assert server._slots is not None
            with server._slots:  # the queue: waiting here counts against the client's timeout
                prompt_tokens = _message_chars(body) // 4  # a grammar costs no context
                if prompt_tokens >= limits.n_ctx:
                    self._send(400, _error(f"Requested tokens ({prompt_tokens}) exceed context window of "
                                           f"{limits.n_ctx}", "invalid_request_error"))
                    return
                time.sleep(limits.seconds_per_answer)
                content = answer(body, "ok", server.items_per_array)
                room = limits.n_ctx - prompt_tokens
                cap = body.get(limits.token_parameter)
                room = min(room, cap) if isinstance(cap, int) and cap > 0 else room
                finish = "stop"
                if len(content) // 4 > room:
                    content, finish = content[: room * 4], "length"
                server._computed(limits.seconds_per_answer, abandoned=_peer_closed(self.connection))
                self._send(200, _completion(body, content, finish))

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def answer(body: dict[str, Any], kind: str = "ok", items_per_array: int = 3) -> str:
    """The assistant content for a chat request under fault ``kind`` (``ok`` for a valid answer)."""
    messages = body.get("messages", [])
    schema = _schema_of(body)
    if kind == "malformed":
        return '{"entities": [{"name": "Unclosed'
    if kind == "empty":
        return ""
    if kind == "echo_schema":
        return json.dumps(schema if schema is not None else {"type": "object"})
    if schema is None:
        return "{}"
    text = _document_of(messages)
    explained = _explanation_answer(schema, text)  # None unless the request asks for a TAPE explanation
    if explained is not None:
        return json.dumps(explained)
    special = {"ungrounded": [UNGROUNDED_NAME], "hostile": list(HOSTILE_NAMES), "hostile_long": [LONG_NAME]}
    extra = special.get(kind, [])
    names, items = _names(text), items_per_array
    answered = _answered_names(messages)
    if answered:  # a follow-up ("what did you miss?"): only names no earlier answer gave, or empty lists
        names = [name for name in names if name.lower() not in answered]
        items = items if names else 0
    expansion = _expansion_names(schema, text)  # None unless the request asks for an expansion answer
    if expansion is not None:
        names, items = expansion, EXPANSION_ITEMS
    walker = _Walker(
        schema, [*extra, *names], _SENTENCE.findall(text), hostile=kind == "hostile", items=items,
        extra=len(extra),
    )
    return json.dumps(walker.value(schema, ""))


class _Walker:
    """Builds a value valid for a JSON schema, with names taken from the document."""

    def __init__(
        self, root: dict[str, Any], names: list[str], sentences: list[str], hostile: bool, items: int, extra: int
    ) -> None:
        self.root = root
        self.extra = extra
        self.names = names or ["document"]
        self.sentences = [s.strip() for s in sentences if s.strip()]
        self.hostile = hostile
        self.items = items
        self.name_i = 0
        self.enum_i = 0
        self.relation_i = 0
        self.used: list[str] = []

    def value(self, schema: dict[str, Any], prop: str) -> Any:
        if "$ref" in schema:
            return self.value(self._resolve(schema["$ref"]), prop)
        for union in ("anyOf", "oneOf"):
            if union in schema:
                variants = [v for v in schema[union] if v.get("type") != "null"] or schema[union]
                return self.value(variants[0], prop)
        if "enum" in schema:
            self.enum_i += 1
            return schema["enum"][(self.enum_i - 1) % len(schema["enum"])]
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object":
            out = {key: self.value(sub, key) for key, sub in schema.get("properties", {}).items()}
            if "source" in out:
                self.relation_i += 1
            return out
        if kind == "array":
            # the entity list also carries the names a fault put in front of the document's names
            wanted = self.items + (self.extra if prop == "entities" else 0)
            count = max(min(wanted, schema.get("maxItems", wanted)), schema.get("minItems", 0))
            return [self.value(schema.get("items", {}), prop) for _ in range(count)]
        if kind == "string":
            return self._string(prop)
        if kind in ("integer", "number"):
            return schema.get("minimum", 0)
        if kind == "boolean":
            return False
        return None

    def _string(self, prop: str) -> str:
        if prop == "name":
            name = self.names[self.name_i % len(self.names)]
            self.name_i += 1
            self.used.append(name)
            return name
        used = self.used or self.names
        if prop == "source":
            return used[self.relation_i % len(used)]
        if prop == "target":
            return used[(self.relation_i + 1) % len(used)]
        if prop == "type":
            if self.hostile:
                return HOSTILE_RELATION_TYPES[self.relation_i % len(HOSTILE_RELATION_TYPES)]
            return ("uses", "part of", "related to")[self.relation_i % 3]
        if prop == "evidence":
            return self.sentences[0] if self.sentences else "no evidence"
        if prop == "description":
            return "`}) MATCH (n) DETACH DELETE n //" if self.hostile else "Mentioned in the document."
        if prop in FREE_TEXT_FIELDS:  # free text asked for whole (a node's text): the document's first sentences
            return " ".join(self.sentences[:3]) or "text"
        return "text"

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.root
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node


def _schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return fmt.get("json_schema", {}).get("schema")
    if fmt.get("type") == "json_object" and isinstance(fmt.get("schema"), dict):
        return fmt["schema"]
    for message in body.get("messages", []):
        content = message.get("content") or ""
        start, end = content.find("<schema>"), content.find("</schema>")
        if message.get("role") == "system" and start != -1 and end > start:
            return json.loads(content[start + len("<schema>") : end])
    return None


def request_document(body: dict[str, Any]) -> str:
    """The text between ``<document>`` tags in a chat request body (for rules that pick a chunk)."""
    return _document_of(body.get("messages", []))


def _document_of(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        content = message.get("content") or ""
        start, end = content.find("<document>"), content.rfind("</document>")
        if message.get("role") == "user" and start != -1 and end > start:
            return content[start + len("<document>") : end].strip("\n")
    return ""


def _answered_names(messages: list[dict[str, Any]]) -> set[str]:
    """Lower-cased entity names of the earlier assistant answers in the conversation (valid JSON ones only)."""
    names: set[str] = set()
    for message in messages:
        if message.get("role") != "assistant":
            continue
        try:
            entities = json.loads(message.get("content") or "").get("entities")
        except (ValueError, AttributeError):
            continue  # a malformed answer being re-asked: nothing was given
        if isinstance(entities, list):
            names.update(str(e.get("name", "")).lower() for e in entities if isinstance(e, dict))
    return names


def _names(text: str) -> list[str]:
    """Capitalised phrases, then longer lower-case words, of the text (first occurrence order)."""
    seen: dict[str, None] = {}
    for match in _CAPITALISED.finditer(text):
        seen.setdefault(match.group().strip(), None)
    for match in _WORD.finditer(text):
        if match.group() not in _STOPWORDS:
            seen.setdefault(match.group(), None)
    return [name for name in seen if name]


# -- expansion answers (agents/expansion.py) ------------------------------------------------------------
# An expansion prompt lists "Focus: NAME" lines and known relations "A -[TYPE]-> B". Its answer names
# the focus, one known neighbour picked by hash (neighbours of hubs are listed more often: preferential
# attachment) and new made-up concepts hashed from the prompt, so the graph grows deterministically.
# The walker joins consecutive names into a cycle: focus -> neighbour -> new -> new -> focus.
EXPANSION_SCHEMA_TITLE = "ExpansionAnswer"
EXPANSION_ITEMS = 4
_FOCUS_LINE = re.compile(r"^Focus: (.+)$", re.MULTILINE)
_RELATION_LINE = re.compile(r"^(.+?) -\[[A-Z0-9_]+\]-> (.+)$", re.MULTILINE)
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def _expansion_names(schema: dict[str, Any], text: str) -> list[str] | None:
    """Focus names, one known neighbour and new hashed concept names; None for other schemas."""
    if schema.get("title") != EXPANSION_SCHEMA_TITLE:
        return None
    focus = list(dict.fromkeys(m.strip() for m in _FOCUS_LINE.findall(text)))
    known = [n.strip() for pair in _RELATION_LINE.findall(text) for n in pair]
    neighbours = [n for n in dict.fromkeys(known) if n not in focus]
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    names = focus[:2]
    if neighbours:
        names.append(neighbours[int.from_bytes(digest[:4], "big") % len(neighbours)])
    index = 0
    while len(names) < EXPANSION_ITEMS:
        word = hashlib.sha256(f"{index}:{text}".encode()).digest()
        names.append("".join(_SYLLABLES[b % len(_SYLLABLES)] for b in word[:4]).capitalize())
        index += 1
    return names


# -- TAPE explanation answers (agents/explanations.py) ----------------------------------------------------
# The prediction is the first category (enum value) whose name occurs in the document, ignoring case, else
# one picked by a hash of the document; the explanation quotes the document's first sentence.
EXPLANATION_SCHEMA_TITLE = "NodeExplanation"


def _explanation_answer(schema: dict[str, Any], text: str) -> dict[str, str] | None:
    """A deterministic ``{prediction, explanation}``; None for other schemas."""
    if schema.get("title") != EXPLANATION_SCHEMA_TITLE:
        return None
    classes = schema.get("properties", {}).get("prediction", {}).get("enum") or ["unknown"]
    lowered = text.lower()
    named = [c for c in classes if str(c).lower() in lowered]
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    prediction = named[0] if named else classes[int.from_bytes(digest[:4], "big") % len(classes)]
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
    quote = sentences[0] if sentences else "the text"
    return {"prediction": prediction, "explanation": f"The text says: {quote} This points to {prediction}."}


def _message_chars(body: dict[str, Any]) -> int:
    return sum(len(m.get("content") or "") for m in body.get("messages", []))


def _prompt_chars(body: dict[str, Any]) -> int:
    return _message_chars(body) + len(json.dumps(body.get("response_format") or {}))


def _peer_closed(connection: socket.socket) -> bool:
    """True when the client closed its end (it timed out): the answer computed for it is wasted."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _completion(body: dict[str, Any], content: str, finish_reason: str = "stop") -> dict[str, Any]:
    prompt_chars = _prompt_chars(body)
    return {
        "id": f"chatcmpl-test-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", _MODEL_ID),
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": finish_reason,
            "logprobs": None,
        }],
        "usage": {
            "prompt_tokens": max(1, prompt_chars // 4),
            "completion_tokens": max(1, len(content) // 4),
            "total_tokens": max(1, prompt_chars // 4) + max(1, len(content) // 4),
        },
    }


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted; print the base URL first (one line, flushed)."""
    import argparse

    parser = argparse.ArgumentParser(description="OpenAI-compatible test LLM server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each chat answer")
    args = parser.parse_args(argv)
    server = LLMTestServer(args.host, args.port)
    server.latency_s = args.latency
    print(server.base_url, flush=True)
    try:
        server._httpd.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
