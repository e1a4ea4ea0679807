"""``kgweave ask``: the answer-question flow run as a real process against the test Prefect API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.artifacts import artifacts_of, llm_task_runs
from tests.ask_graph import ask_delta, span_text
from tests.flows.test_cli import kgweave_env, run_kgweave
from tests.llm_fixtures import llm_server_fixture  # noqa: F401
from tests.llm_server import LLMTestServer

pytestmark = pytest.mark.usefixtures("prefect_api")

_KEYS = {"question", "linked_entities", "evidence", "answer", "citations", "dropped_citations", "llm_calls",
         "tokens", "seconds"}


@pytest.fixture
def ask_db(tmp_path: Path) -> Path:
    db = tmp_path / "ask.db"
    with SQLiteGraphStore(db) as store:
        store.upsert(ask_delta())
    return db


def test_ask_json_with_the_llm_and_its_artifact(ask_db: Path, llm_server: LLMTestServer) -> None:
    env = {**kgweave_env(), "KGWEAVE_LLM_CACHE_DIR": str(ask_db.parent / "llm-cache")}
    done = run_kgweave("ask", "Does aspirin lead to platelet aggregation?", "--mode", "paths", "--store", str(ask_db),
                       "--llm-base-url", llm_server.base_url, "--llm-model", "kgweave-test-model", "--json",
                       "--run-id", "ask-cli", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) >= _KEYS
    assert [link["name"] for link in result["linked_entities"]] == ["Aspirin", "platelet aggregation"]
    assert [e["text"] for e in result["evidence"]][0] == span_text(0, "Aspirin", "COX-1")
    assert all({"chunk_id", "start", "end", "text"} <= set(e) for e in result["evidence"])
    assert (result["answer"], result["citations"], result["dropped_citations"], result["llm_calls"]) == (
        "text", [], 3, 1)
    published = artifacts_of(["answer-question-summary"], "ask-cli")
    assert "Thromboxane triggers platelet aggregation" in str(published["answer-question-summary"].data)
    assert llm_task_runs("answer-question-summary", "ask-cli") == ["ask-answer"]  # under the llm tag limit
    with SQLiteGraphStore(ask_db) as store:
        assert [(r.kind, r.status) for r in store.runs() if r.id == "ask-cli"] == [("ask", "completed")]


def test_ask_no_llm_prints_evidence_and_bad_questions_get_one_line(ask_db: Path) -> None:
    done = run_kgweave("ask", "What does aspirin do?", "--store", str(ask_db), "--no-llm", "--hops", "1")
    assert done.returncode == 0, done.stderr
    assert "Aspirin --INHIBITS--> COX-1" in done.stdout and "answer" not in done.stdout
    missing = run_kgweave("ask", "What does asprin do?", "--store", str(ask_db), "--no-llm")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "kgweave: error: no entity of the graph is named in 'What does asprin do?' (closest: Aspirin)"]
    walk = run_kgweave("ask", "What does aspirin do?", "--store", str(ask_db), "--no-llm", "--mode", "walk")
    assert walk.returncode == 2 and "needs the LLM" in walk.stderr
