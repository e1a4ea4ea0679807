"""Budget, cache keys, the response cache and estimates of the LLM client (no network)."""

from __future__ import annotations

import email.utils
import threading
import time
from pathlib import Path

import pytest

from kgweave.agents.domains import build_messages
from kgweave.agents.domains.papers import PapersExtraction
from kgweave.agents.domains.text import TextExtraction
from kgweave.agents.errors import BudgetExceededError
from kgweave.agents.llm_client import (
    Budget,
    LLMConfig,
    LLMRequest,
    ResponseCache,
    _retry_after_s,
    _validate,
    cache_key,
    estimate_requests,
    request_messages,
    shared_budget,
)
from kgweave.agents.prompts import ChatMessage
from kgweave.agents.schemas import strict_json_schema


def _config(tmp_path: Path, **kwargs: object) -> LLMConfig:
    return LLMConfig.model_validate(
        {"base_url": "http://127.0.0.1:1/v1", "model": "m1", "cache_dir": tmp_path / "cache", **kwargs}
    )


def test_budget_lets_exactly_max_calls_through_from_many_threads() -> None:
    budget = Budget(max_calls=100)
    granted = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            try:
                budget.reserve()
            except BudgetExceededError:
                return
            with lock:
                granted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 100
    assert budget.usage().calls == 100 and budget.exhausted


def test_token_budget_counts_spent_and_in_flight_tokens_and_stays_exhausted() -> None:
    budget = Budget(max_tokens_total=1000)
    budget.reserve(400)
    budget.reserve(400)
    with pytest.raises(BudgetExceededError):
        budget.reserve(400)  # 800 in flight + 400 > 1000
    budget.record(100, 50, reserved=400)
    budget.release(400)
    with pytest.raises(BudgetExceededError):  # sticky: a refused budget refuses from then on
        budget.reserve(10)
    usage = budget.usage()
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens, usage.tokens) == (2, 100, 50, 150)


def test_unlimited_budget_never_refuses_and_limits_are_validated() -> None:
    budget = Budget()
    for _ in range(1000):
        budget.reserve(10_000)
    assert not budget.exhausted
    with pytest.raises(ValueError):
        Budget(max_calls=-1)


def test_shared_budget_is_one_object_per_key() -> None:
    key = f"run-{time.monotonic_ns()}"
    assert shared_budget(key, max_calls=3) is shared_budget(key, max_calls=99)
    assert shared_budget(key).max_calls == 3
    assert shared_budget(key + "-other") is not shared_budget(key)


def test_cache_key_changes_with_what_determines_the_answer(tmp_path: Path) -> None:
    config = _config(tmp_path)
    schema = strict_json_schema(TextExtraction)
    messages = build_messages("text", "Alice met Bob.")
    base = cache_key(config, messages, schema, "text-v1")
    assert base == cache_key(config, build_messages("text", "Alice met Bob."), schema, "text-v1")
    variants = [
        cache_key(config, messages, schema, "text-v2"),
        cache_key(config.model_copy(update={"model": "m2"}), messages, schema, "text-v1"),
        cache_key(config.model_copy(update={"structured_output": "json_object"}), messages, schema, "text-v1"),
        cache_key(config, build_messages("text", "Alice met Carol."), schema, "text-v1"),
        cache_key(config, messages, strict_json_schema(PapersExtraction), "text-v1"),
    ]
    assert len({base, *variants}) == 6
    # where the endpoint lives or how long we wait for it does not change the answer
    moved = config.model_copy(update={"base_url": "http://elsewhere/v1", "timeout_s": 5.0, "concurrency": 2})
    assert cache_key(moved, messages, schema, "text-v1") == base


def test_cache_roundtrip_and_damaged_entries_read_as_misses(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    key = "ab" + "0" * 62
    assert cache.get(key) is None and key not in cache
    cache.put(key, {"content": {"entities": []}, "prompt_tokens": 3})
    assert key in cache and cache.get(key) == {"content": {"entities": []}, "prompt_tokens": 3}
    assert list(tmp_path.rglob("*.tmp")) == []
    cache.path(key).write_text("{not json", encoding="utf-8")
    assert cache.get(key) is None


def test_json_object_mode_puts_the_schema_in_the_system_prompt() -> None:
    schema = strict_json_schema(TextExtraction)
    messages = build_messages("text", "Alice met Bob.")
    assert request_messages(messages, schema, "json_schema") == messages
    sent = request_messages(messages, schema, "json_object")
    assert sent[0]["content"].startswith(messages[0]["content"]) and "<schema>" in sent[0]["content"]
    assert sent[1] == messages[1] and "<schema>" not in messages[0]["content"]
    bare: list[ChatMessage] = [{"role": "user", "content": "hi"}]
    assert request_messages(bare, schema, "json_object")[0]["role"] == "system"


def test_estimate_counts_cache_misses_and_approximate_tokens(tmp_path: Path) -> None:
    config = _config(tmp_path, max_tokens_per_call=500)
    schema = strict_json_schema(TextExtraction)
    requests = [
        LLMRequest(build_messages("text", f"Document number {i}. " * 50), TextExtraction, "s", "text-v1")
        for i in range(3)
    ]
    before = estimate_requests(config, requests)
    assert (before.requests, before.cached, before.calls, before.completion_tokens) == (3, 0, 3, 1500)
    chars = sum(len(m["content"]) for m in requests[0].messages)
    assert before.prompt_tokens > 3 * chars // 4  # messages plus the schema
    ResponseCache(tmp_path / "cache").put(cache_key(config, requests[0].messages, schema, "text-v1"), {"content": {}})
    after = estimate_requests(config, requests)
    assert (after.cached, after.calls, after.completion_tokens) == (1, 2, 1000)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"retry-after": "2"}, 2.0), ({"retry-after": "1.5"}, 1.5), ({"retry-after-ms": "250"}, 0.25),
     ({"retry-after-ms": "250", "retry-after": "9"}, 0.25), ({"retry-after": "soon"}, None), ({}, None)],
)
def test_retry_after_headers(headers: dict[str, str], expected: float | None) -> None:
    assert _retry_after_s(headers) == expected


def test_retry_after_as_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = _retry_after_s({"retry-after": when})
    assert seconds is not None and 25 <= seconds <= 31


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("", "empty answer"), ('{"entities": [', "Invalid JSON"), ('{"entities": [], "extra": 1}', "extra"),
     ('{"entities": [{"name": "x", "type": "Spaceship", "description": null}]}', "entities.0.type")],
)
def test_invalid_answers_are_described(content: str, fragment: str) -> None:
    value, error = _validate(content, TextExtraction)
    assert value is None and error is not None and fragment in error


def test_answer_in_a_code_fence_is_accepted() -> None:
    value, error = _validate('```json\n{"entities": [], "relations": []}\n```', TextExtraction)
    assert error is None and value == TextExtraction()
