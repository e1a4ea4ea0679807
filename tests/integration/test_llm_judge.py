"""The LLM judge for entity resolution's ambiguous band, through the real openai client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kgweave.agents.llm_judge import LLMJudge
from kgweave.agents.resolution import CandidatePair
from tests.llm_fixtures import client_config, llm_server_fixture  # noqa: F401
from tests.llm_server import LLMTestServer

T = TypeVar("T")


def _pairs() -> list[CandidatePair]:
    return [CandidatePair("a", "graph neural network", "b", "GNN model", 0.86, "embedding"),
            CandidatePair("c", "IL-6", "d", "IL-8", 0.93, "embedding"),
            CandidatePair("e", "silk fibroin", "f", "fibroin of silk", 0.88, "embedding")]


def _judge(server: LLMTestServer, tmp_path: Path, max_pairs: int = 1000) -> LLMJudge:
    return LLMJudge(client_config(server, tmp_path), max_pairs=max_pairs)


def test_one_structured_call_per_pair_and_cached(llm_server: LLMTestServer, tmp_path: Path) -> None:
    verdicts = _judge(llm_server, tmp_path)(_pairs())
    assert verdicts == [False, False, False]  # the test server answers booleans with false
    requests = llm_server.chat_requests
    assert len(requests) == 3
    assert {r.response_format["json_schema"]["name"] for r in requests} == {"same_entity"}  # type: ignore[index]
    assert any("<a>IL-6</a>" in r.body["messages"][-1]["content"] for r in requests)
    _judge(llm_server, tmp_path)(_pairs())
    assert len(llm_server.chat_requests) == 3  # the second judgement came from the cache


def test_failures_mean_no_merge_and_the_band_is_capped(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.script([400])  # a rejected request is not retried and must not merge anything
    judge = _judge(llm_server, tmp_path, max_pairs=2)
    verdicts = judge(_pairs())
    assert verdicts == [False, False, False]
    asked = {r.body["messages"][-1]["content"].split("</a>")[0] for r in llm_server.chat_requests}
    assert not any("graph neural network" in text for text in asked)  # the least similar pair was skipped


def test_the_verdicts_go_through_the_call_runner(llm_server: LLMTestServer, tmp_path: Path) -> None:
    names: list[str] = []

    def runner(name: str, call: Callable[[], T]) -> T:  # what the flow passes: a task run tagged llm
        names.append(name)
        return call()

    judge = LLMJudge(client_config(llm_server, tmp_path), run_call=runner)
    assert judge(_pairs()) == [False, False, False] and names == ["resolve-judge"]
