"""LLMClient through the real openai client over HTTP, against the fault-injecting test server."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import openai
import pytest

from kgweave.agents.domains import build_messages
from kgweave.agents.domains.text import TEXT, TextExtraction
from kgweave.agents.errors import BudgetExceededError, LLMRequestError, LLMUnavailableError
from kgweave.agents.llm_client import Budget, CallResult, LLMClient, LLMConfig
from kgweave.agents.prompts import ChatMessage
from tests.conftest import require
from tests.llm_fixtures import client_config as _config
from tests.llm_fixtures import llm_server_fixture  # noqa: F401 - provides the llm_server fixture
from tests.llm_server import Fault, LLMTestServer

pytestmark = pytest.mark.integration

DOC = "Ada Lovelace worked with Charles Babbage on the Analytical Engine in London."




def _call(
    config: LLMConfig, messages: Sequence[ChatMessage] | None = None, prompt_version: str = "text-v1",
    budget: Budget | None = None,
) -> CallResult[TextExtraction]:
    async def run() -> CallResult[TextExtraction]:
        async with LLMClient(config, budget) as client:
            return await client.complete_json(
                messages or build_messages("text", DOC), TextExtraction, TEXT.schema_name, prompt_version
            )

    return asyncio.run(run())


def test_structured_output_request_and_valid_answer(llm_server: LLMTestServer, tmp_path: Path) -> None:
    result = _call(_config(llm_server, tmp_path))
    assert result.ok and result.error is None and not result.from_cache and result.attempts == 1
    assert result.value is not None and result.value.entities
    assert {e.name for e in result.value.entities} <= {"Ada Lovelace", "Charles Babbage", "Analytical Engine", "London"}
    (request,) = llm_server.chat_requests
    assert request.path == "/v1/chat/completions"
    fmt = request.response_format
    assert fmt is not None and fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "kgweave_text_extraction" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    assert request.body["model"] == "test-model" and request.body["temperature"] == 0.0
    assert result.prompt_tokens > 0 and result.completion_tokens > 0


def test_server_lists_its_model_to_the_openai_client(llm_server: LLMTestServer) -> None:
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="unused", max_retries=0)
    try:
        assert [m.id for m in client.models.list()] == ["kgweave-test-model"]
    finally:
        client.close()


def test_json_object_mode_attaches_the_bounded_schema_and_sends_both_token_caps(
    llm_server: LLMTestServer, tmp_path: Path
) -> None:
    result = _call(_config(llm_server, tmp_path, structured_output="json_object", max_tokens_per_call=300))
    assert result.ok and result.output_form == "json_object+schema"
    (request,) = llm_server.chat_requests
    fmt = request.response_format
    assert fmt is not None and fmt["type"] == "json_object"
    # the form llama.cpp / vLLM / Ollama compile to a grammar: string bounds kept so answers stay short
    assert fmt["schema"]["$defs"]["RelationOutput"]["properties"]["type"]["maxLength"] == 64
    assert "<schema>" in request.body["messages"][0]["content"]
    assert request.body["max_completion_tokens"] == 300 and request.body["max_tokens"] == 300


@pytest.mark.parametrize("faults", [["500", "502", "503"], ["429", "429"], [Fault.http(504), "429", "500"]])
def test_transient_errors_are_retried_until_success(
    llm_server: LLMTestServer, tmp_path: Path, faults: list[str]
) -> None:
    llm_server.script(faults)
    result = _call(_config(llm_server, tmp_path))
    assert result.ok and result.attempts == len(faults) + 1
    assert len(llm_server.chat_requests) == len(faults) + 1


def test_timeout_is_retried(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.script([Fault.delay(2.0)])
    started = time.monotonic()
    result = _call(_config(llm_server, tmp_path, timeout_s=0.4))
    elapsed = time.monotonic() - started
    assert result.ok and result.attempts == 2
    assert 0.4 <= elapsed < 2.0  # gave up on the slow answer instead of waiting for it


@pytest.mark.parametrize(
    ("fault", "wait"), [(Fault.rate_limit(retry_after=1), 1.0), (Fault.rate_limit(retry_after_ms=600), 0.6)]
)
def test_rate_limit_honours_retry_after(llm_server: LLMTestServer, tmp_path: Path, fault: Fault, wait: float) -> None:
    llm_server.script([fault])
    started = time.monotonic()
    result = _call(_config(llm_server, tmp_path))
    elapsed = time.monotonic() - started
    assert result.ok and result.attempts == 2
    first, second = llm_server.chat_requests
    assert second.received_at - first.received_at >= wait
    assert elapsed >= wait


def test_retry_after_is_capped(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.script([Fault.rate_limit(retry_after=3600)])
    started = time.monotonic()
    result = _call(_config(llm_server, tmp_path, max_retry_after_s=0.2))
    assert result.ok and time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("status", "cause"),
    [(400, openai.BadRequestError), (401, openai.AuthenticationError), (404, openai.NotFoundError),
     (422, openai.UnprocessableEntityError)],
)
def test_client_errors_are_not_retried(
    llm_server: LLMTestServer, tmp_path: Path, status: int, cause: type[Exception]
) -> None:
    llm_server.script([status, status])
    with pytest.raises(LLMRequestError, match=f"HTTP {status}") as caught:
        _call(_config(llm_server, tmp_path))
    assert isinstance(caught.value.__cause__, cause)
    assert caught.value.requests == 1
    assert len(llm_server.chat_requests) == 1


def test_wrong_api_key_is_an_auth_error_and_the_key_is_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-test-very-secret-value"
    with LLMTestServer(api_key="the-right-key") as server, caplog.at_level(logging.DEBUG):
        config = _config(server, tmp_path, api_key=secret)
        with pytest.raises(LLMRequestError) as caught:
            _call(config)
        assert isinstance(caught.value.__cause__, openai.AuthenticationError)
        assert len(server.chat_requests) == 1
        assert server.chat_requests[0].headers["authorization"] == f"Bearer {secret}"
        assert _call(_config(server, tmp_path, api_key="the-right-key")).ok
    assert "LLM request to" in caplog.text  # prompts are logged at DEBUG...
    assert secret not in caplog.text and secret not in repr(config) and secret not in str(caught.value)


def test_retries_run_out(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.script(["500"] * 10)
    with pytest.raises(LLMUnavailableError, match="failed 3 times") as caught:
        _call(_config(llm_server, tmp_path, max_retries=2))
    assert isinstance(caught.value.__cause__, openai.InternalServerError)
    assert caught.value.requests == 3 and len(llm_server.chat_requests) == 3


def test_connection_errors_are_retried_then_reported(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    config = LLMConfig(base_url=f"http://127.0.0.1:{port}/v1", model="m", cache_dir=None, max_retries=2,
                       backoff_base_s=0.01, timeout_s=2.0)
    with pytest.raises(LLMUnavailableError) as caught:
        _call(config)
    assert isinstance(caught.value.__cause__, openai.APIConnectionError)
    assert caught.value.requests == 3


@pytest.mark.parametrize("fault", ["malformed", "echo_schema", "empty", "hostile_long"])
def test_invalid_answer_is_re_asked_once_with_the_error(llm_server: LLMTestServer, tmp_path: Path, fault: str) -> None:
    llm_server.script([fault])
    result = _call(_config(llm_server, tmp_path))
    assert result.ok and result.attempts == 2
    first, second = llm_server.chat_requests
    reask = second.body["messages"]
    assert reask[: len(first.body["messages"])] == first.body["messages"]
    assert reask[-2]["role"] == "assistant" and reask[-1]["role"] == "user"
    assert "not valid" in reask[-1]["content"]


def test_twice_invalid_answer_is_an_error_not_a_third_request(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.script(["malformed", "echo_schema", "malformed"])
    result = _call(_config(llm_server, tmp_path))
    assert not result.ok and result.value is None
    assert result.error is not None and result.error.startswith("invalid LLM output after one re-ask")
    assert "Extra inputs are not permitted" in result.error  # the echoed schema's keys
    assert result.attempts == 2 and len(llm_server.chat_requests) == 2
    assert result.prompt_tokens > 0
    assert not list((tmp_path / "cache").rglob("*.json")), "invalid answers must not be cached"


def test_cache_hit_makes_no_request_and_key_follows_model_and_prompt_version(
    llm_server: LLMTestServer, tmp_path: Path
) -> None:
    config = _config(llm_server, tmp_path)
    first = _call(config)
    second = _call(config)
    assert second.from_cache and second.attempts == 0 and second.value == first.value
    assert len(llm_server.chat_requests) == 1
    assert _call(config, prompt_version="text-v2").attempts == 1
    assert _call(config.model_copy(update={"model": "other-model"})).attempts == 1
    assert len(llm_server.chat_requests) == 3
    assert _call(config, prompt_version="text-v2").from_cache
    assert len(llm_server.chat_requests) == 3
    assert _call(config.model_copy(update={"cache_dir": None})).attempts == 1  # cache off: always asks


def test_budget_stops_requests(llm_server: LLMTestServer, tmp_path: Path) -> None:
    budget = Budget(max_calls=2)
    config = _config(llm_server, tmp_path)
    for i in range(2):
        assert _call(config, build_messages("text", f"{DOC} Part {i}."), budget=budget).ok
    with pytest.raises(BudgetExceededError):
        _call(config, build_messages("text", f"{DOC} Part 3."), budget=budget)
    assert len(llm_server.chat_requests) == 2
    assert _call(config, build_messages("text", f"{DOC} Part 0."), budget=budget).from_cache  # hits are free
    assert budget.usage().calls == 2 and budget.usage().tokens > 0


def test_budget_counts_retries_and_reports_what_was_spent(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.script(["500", "500", "500"])
    with pytest.raises(BudgetExceededError) as caught:
        _call(_config(llm_server, tmp_path), budget=Budget(max_calls=2))
    assert caught.value.requests == 2 and len(llm_server.chat_requests) == 2


def test_token_budget_refuses_a_request_that_would_not_fit(llm_server: LLMTestServer, tmp_path: Path) -> None:
    with pytest.raises(BudgetExceededError):
        _call(_config(llm_server, tmp_path, max_tokens_per_call=1000), budget=Budget(max_tokens_total=500))
    assert llm_server.chat_requests == []


def test_requests_in_flight_are_bounded(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.latency_s = 0.1
    config = _config(llm_server, tmp_path, concurrency=4)

    async def run() -> list[CallResult[TextExtraction]]:
        async with LLMClient(config) as client:
            return await asyncio.gather(*(
                client.complete_json(build_messages("text", f"{DOC} Copy {i}."), TextExtraction, "s", "text-v1")
                for i in range(16)
            ))

    results = asyncio.run(run())
    assert all(r.ok for r in results)
    assert llm_server.max_in_flight == 4


# -- a real server's ways (tests/llm_server.py ServerLimits: llama.cpp's Python server) -------------------


def _calls(config: LLMConfig, count: int, budget: Budget | None = None) -> list[CallResult[TextExtraction]]:
    """``count`` different questions at once through one client."""
    async def run() -> list[CallResult[TextExtraction]]:
        async with LLMClient(config, budget) as client:
            return list(await asyncio.gather(*(
                client.complete_json(build_messages("text", f"{DOC} Chunk {i}."), TextExtraction,
                                     TEXT.schema_name, "text-v1")
                for i in range(count))))

    return asyncio.run(run())


def test_a_rejected_json_schema_costs_one_request_then_the_schema_travels_as_a_grammar(
    llm_server: LLMTestServer, tmp_path: Path
) -> None:
    llm_server.limit()  # rejects json_schema with HTTP 500, as llama-cpp-python 0.3 does
    results = _calls(_config(llm_server, tmp_path, concurrency=32), 6)
    assert all(r.ok and r.output_form == "json_object+schema" for r in results)
    formats = [r.response_format for r in llm_server.chat_requests]
    assert [f["type"] for f in formats if f] == ["json_schema"] + ["json_object"] * 6  # never retried as it was
    assert all("schema" in f for f in formats[1:] if f)
    assert sum(r.attempts for r in results) == 7


def test_the_negotiated_form_is_remembered_by_later_clients(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.limit()
    config = _config(llm_server, tmp_path, cache_dir=None)
    assert _call(config).attempts == 2
    assert _call(config).attempts == 1  # a second client (another task of the run) asks in the known form
    assert [r.response_format["type"] for r in llm_server.chat_requests if r.response_format] == \
        ["json_schema", "json_object", "json_object"]


def test_a_server_that_takes_no_response_format_gets_the_schema_in_the_prompt(
    llm_server: LLMTestServer, tmp_path: Path
) -> None:
    from tests.llm_server import ServerLimits

    llm_server.limit(ServerLimits(formats=("text",)))
    result = _call(_config(llm_server, tmp_path))
    assert result.ok and result.output_form == "prompt" and result.attempts == 4
    last = llm_server.chat_requests[-1]
    assert "response_format" not in last.body and "<schema>" in last.body["messages"][0]["content"]


def test_a_rejected_token_parameter_is_dropped_not_retried(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.script([Fault.http(400, "Unsupported parameter: 'max_tokens' is not supported with this model. "
                                       "Use 'max_completion_tokens' instead.")])
    result = _call(_config(llm_server, tmp_path, max_tokens_per_call=500))
    assert result.ok and result.attempts == 2
    first, second = llm_server.chat_requests
    assert first.body["max_tokens"] == 500 and "max_tokens" not in second.body
    assert second.body["max_completion_tokens"] == 500


def test_an_answer_cut_at_the_cap_is_re_asked_shorter_and_the_warning_names_the_cap(
    llm_server: LLMTestServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    llm_server.limit()  # honours max_tokens only
    with caplog.at_level(logging.WARNING, logger="kgweave.agents.llm_client"):
        result = _call(_config(llm_server, tmp_path, max_tokens_per_call=12))
    assert not result.ok and result.attempts == 3  # the rejected json_schema, the cut answer, the re-ask
    assert "cut at the length limit" in (result.error or "")
    reask = llm_server.chat_requests[-1].body["messages"]
    assert "cut off at the length limit (12 tokens)" in reask[-1]["content"]
    assert reask[-2]["role"] != "assistant"  # the cut answer is not echoed back
    assert "completion token limit (12 tokens" in caplog.text


def test_no_cut_warning_without_a_cut(
    llm_server: LLMTestServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    llm_server.limit()
    with caplog.at_level(logging.WARNING, logger="kgweave.agents.llm_client"):
        assert _call(_config(llm_server, tmp_path, structured_output="json_object", max_tokens_per_call=2000)).ok
    assert "cut" not in caplog.text


def test_a_prompt_over_the_context_is_one_request_and_says_so(llm_server: LLMTestServer, tmp_path: Path) -> None:
    from tests.llm_server import ServerLimits

    llm_server.limit(ServerLimits(n_ctx=100))
    with pytest.raises(LLMRequestError, match="does not fit the model's context") as caught:
        _call(_config(llm_server, tmp_path, structured_output="json_object"))
    assert caught.value.requests == 1 and len(llm_server.chat_requests) == 1


def test_the_re_ask_carries_a_trimmed_copy_of_the_bad_answer(llm_server: LLMTestServer, tmp_path: Path) -> None:
    bad = "x" * 5000
    llm_server.rule = lambda body: "malformed" if len(body["messages"]) == 2 else None
    result = _call(_config(llm_server, tmp_path))
    assert result.ok and result.attempts == 2
    echoed = llm_server.chat_requests[-1].body["messages"][-2]
    assert echoed["role"] == "assistant" and len(echoed["content"]) <= 620 < len(bad)


def test_one_slot_server_is_read_and_nothing_is_abandoned(llm_server: LLMTestServer, tmp_path: Path) -> None:
    from tests.llm_server import ServerLimits

    llm_server.limit(ServerLimits(seconds_per_answer=0.3))
    results = _calls(_config(llm_server, tmp_path, structured_output="json_object", timeout_s=1.0,
                             concurrency=32), 6)
    assert all(r.ok and r.attempts == 1 for r in results)
    assert llm_server.max_in_flight == 1 and llm_server.abandoned == 0


def test_without_slots_the_cap_adapts_and_timed_out_work_is_not_resent_at_once(
    llm_server: LLMTestServer, tmp_path: Path
) -> None:
    from tests.llm_server import ServerLimits

    llm_server.limit(ServerLimits(seconds_per_answer=0.3, announce=False))
    config = _config(llm_server, tmp_path, structured_output="json_object", timeout_s=1.0, concurrency=32)
    results = _calls(config, 8)
    assert all(r.ok for r in results)
    report = LLMClient(config).endpoint.report()
    assert report["slots"] is None and report["timeouts"] >= 1
    assert int(report["concurrency_limit"]) < 32  # halved on every timeout
    # each timed-out request is sent again at most once: the retry waits twice as long
    assert len(llm_server.chat_requests) <= 8 + int(report["timeouts"])


def test_the_complete_items_of_a_cut_answer_are_kept_without_a_re_ask(
    llm_server: LLMTestServer, tmp_path: Path
) -> None:
    llm_server.limit()
    whole = _call(_config(llm_server, tmp_path, cache_dir=None, structured_output="json_object"))
    assert whole.ok and not whole.salvaged and whole.value is not None
    llm_server.reset()
    cut = _call(_config(llm_server, tmp_path, cache_dir=None, structured_output="json_object",
                        max_tokens_per_call=60))
    assert cut.ok and cut.salvaged and cut.attempts == 1 and cut.value is not None
    assert llm_server.chat_requests[0].body["max_tokens"] == 60
    assert 0 < len(cut.value.entities) < len(whole.value.entities)  # the cut item is dropped, not made up
    assert all(e in whole.value.entities for e in cut.value.entities)


# -- a misbehaving endpoint never hangs or crashes a run (issue 22) --------------------------------------


def test_a_server_that_trickles_bytes_is_cut_at_the_deadline(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.script(["trickle"])
    started = time.monotonic()
    result = _call(_config(llm_server, tmp_path, timeout_s=1.0))
    assert result.ok and result.attempts == 2  # the trickle was given up at its deadline, then retried
    assert time.monotonic() - started < 6.0  # not the 120 s the trickle lasts


@pytest.mark.parametrize("fault", ["empty_200", "text_200"])
def test_a_200_without_an_answer_is_a_counted_retried_failure(
    llm_server: LLMTestServer, tmp_path: Path, fault: str
) -> None:
    llm_server.script([fault, fault])
    result = _call(_config(llm_server, tmp_path))
    assert result.ok and result.attempts == 3
    llm_server.rule = lambda body: fault
    with pytest.raises(LLMUnavailableError, match="NoAnswer \\(unreadable\\)") as caught:
        _call(_config(llm_server, tmp_path, cache_dir=None, max_retries=2))
    assert caught.value.requests == 3  # every request counted, failed ones included


def test_a_huge_answer_is_refused_not_read_and_not_retried(llm_server: LLMTestServer, tmp_path: Path) -> None:
    from kgweave.agents.llm_client import MAX_RESPONSE_BYTES

    llm_server.script(["huge"])
    with pytest.raises(LLMRequestError, match="too_large") as caught:
        _call(_config(llm_server, tmp_path))
    assert caught.value.requests == 1 and len(llm_server.chat_requests) == 1
    assert MAX_RESPONSE_BYTES < 6 * 1024 * 1024  # the test body (6 MB) is over the cap


def test_refused_auth_takes_the_endpoint_down_after_three(llm_server: LLMTestServer, tmp_path: Path) -> None:
    from kgweave.agents.errors import LLMEndpointDownError

    llm_server.rule = lambda body: Fault.http(401, "Incorrect API key provided")
    results = []
    for _ in range(3):
        with pytest.raises(LLMRequestError, match="401"):
            _call(_config(llm_server, tmp_path, cache_dir=None))
        results.append(len(llm_server.chat_requests))
    with pytest.raises(LLMEndpointDownError, match="3 requests in a row failed: AuthenticationError"):
        _call(_config(llm_server, tmp_path, cache_dir=None))
    assert results == [1, 2, 3] and len(llm_server.chat_requests) == 3  # the fourth was never sent


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs, filled to the last block: every write into it fails with ENOSPC.

    Mounting needs root (or a user namespace); where that is impossible the test is skipped, never in CI.
    """
    mount_point = tmp_path / "full"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True, check=False)
    require(mounted.returncode == 0, f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        with open(mount_point / "filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        (mount_point / "cache").mkdir(exist_ok=True)  # a directory entry still fits in a full tmpfs
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_under_the_cache_keeps_the_answer(
    llm_server: LLMTestServer, tmp_path: Path, full_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = full_disk / "cache"
    with caplog.at_level(logging.WARNING, logger="kgweave.agents.llm_client"):
        first = _call(_config(llm_server, tmp_path, cache_dir=cache))
        second = _call(_config(llm_server, tmp_path, cache_dir=cache, model="other-model"))
    assert first.ok and second.ok  # both answers are used though neither could be kept
    assert caplog.text.count("cannot be written") == 1  # one warning, not one per answer
    assert "No space left on device" in caplog.text
    assert not [p for p in cache.rglob("*") if p.is_file()]  # no half-written cache file is left behind
