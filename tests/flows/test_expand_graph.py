"""Agentic expansion end to end against the OpenAI-compatible test server (tests/llm_server.py), SQLite store."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgweave.agents.expansion_loop import ExpansionLimits, ExpansionSettings, IterationRecord, expand, load_records
from kgweave.flows.monitoring import COMPLETED_WITH_FAILURES
from kgweave.graph_store.ids import RELATION_TYPE_PATTERN
from kgweave.graph_store.models import Iteration
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.artifacts import embedded_pngs, flow_run_of, llm_task_runs
from tests.flows.test_cli import kgweave_env, run_kgweave
from tests.llm_fixtures import client_config, llm_server_fixture  # noqa: F401
from tests.llm_server import LLMTestServer

SEED = "impact-resistant materials"
ACCOUNTING = {"seconds", "overhead_seconds", "llm_calls", "cached_llm_calls", "tokens"}


def structure(records: list[IterationRecord]) -> list[dict[str, object]]:
    """What must be identical between two runs: everything but timing and LLM accounting."""
    return [r.model_dump(exclude=ACCOUNTING) for r in records]


def graph_of(db: Path) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    with sqlite3.connect(db) as conn:
        nodes = conn.execute("SELECT id, name, label, first_iteration, last_iteration FROM entities ORDER BY id")
        edges = conn.execute("SELECT id, source_id, target_id, type, support, first_iteration FROM relations "
                             "ORDER BY id")
        return [tuple(map(str, r)) for r in nodes], [tuple(map(str, r)) for r in edges]


def run(server: LLMTestServer, tmp: Path, db: Path, run_id: str = "exp-1", resume: bool = False,
        store: object | None = None, **limits: object) -> object:
    settings = ExpansionSettings(seed=SEED, policy=str(limits.pop("policy", "frontier")),
                                 from_store=bool(limits.pop("from_store", False)))
    target = store if store is not None else SQLiteGraphStore(db)
    return expand(target, run_id, settings, ExpansionLimits(**{"iterations": 12, **limits}),  # type: ignore[arg-type]
                  client_config(server, tmp), resume=resume)


class KilledAt:
    """A store that dies at one iteration: after the iteration's delta is written, before its record."""

    def __init__(self, store: object, iteration: int) -> None:
        self._store, self._at = store, iteration

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def record_iteration(self, iteration: Iteration) -> None:
        if iteration.iteration == self._at:
            raise KeyboardInterrupt(f"killed in iteration {self._at}")
        self._store.record_iteration(iteration)  # type: ignore[attr-defined]


def test_graph_grows_and_every_iteration_is_recorded(llm_server: LLMTestServer, tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    summary = run(llm_server, tmp_path, db)
    assert summary.stopped_because == "iterations" and summary.status == "completed"  # type: ignore[attr-defined]
    records = summary.iterations  # type: ignore[attr-defined]
    assert [r.iteration for r in records] == list(range(13))
    assert records[0].nodes == 1 and records[-1].nodes > 20
    assert all(b.nodes >= a.nodes and b.edges >= a.edges for a, b in zip(records, records[1:], strict=False))
    assert sum(r.new_nodes for r in records) == records[-1].nodes
    assert sum(r.new_edges for r in records) == records[-1].edges
    assert records[1].focus == [SEED]
    assert all(r.llm_calls == 1 and r.error is None for r in records[1:])
    assert records[-1].modularity is not None and records[-1].top_hubs and records[-1].largest_component_share == 1
    with SQLiteGraphStore(db) as store:
        assert structure(load_records(store, "exp-1")) == structure(records)
        counts = store.counts()
        assert counts.entities == records[-1].nodes and counts.relations == records[-1].relations
        assert all(RELATION_TYPE_PATTERN.match(t) for t in counts.relation_types)
        (stored_run,) = list(store.runs())
        assert stored_run.kind == "expand" and stored_run.status == "completed"
        assert stored_run.summary["stopped_because"] == "iterations"
    nodes, _ = graph_of(db)
    assert {n[3] for n in nodes} == {str(i) for i in range(13)}  # each node carries the iteration that made it
    assert len(llm_server.chat_requests) == 12


@pytest.mark.parametrize("policy", ["frontier", "hub", "bridge", "path", "random"])
def test_killed_mid_iteration_then_resumed_ends_identical(
    llm_server: LLMTestServer, tmp_path: Path, policy: str
) -> None:
    whole = run(llm_server, tmp_path / "a", tmp_path / "a.db", policy=policy)
    asked = len(llm_server.chat_requests)
    db = tmp_path / "b.db"
    with SQLiteGraphStore(db) as store, pytest.raises(KeyboardInterrupt):
        run(llm_server, tmp_path / "b", db, store=KilledAt(store, 7), policy=policy)
    with SQLiteGraphStore(db) as store:
        assert [i.iteration for i in store.iterations("exp-1")] == list(range(7))
        assert next(iter(store.runs())).status == "failed"
    resumed = run(llm_server, tmp_path / "b", db, resume=True, policy=policy)
    assert resumed.resumed_from == 6  # type: ignore[attr-defined]
    assert resumed.cached_llm_calls == 1 and resumed.llm_calls == 5  # type: ignore[attr-defined]
    assert len(llm_server.chat_requests) == 2 * asked  # every iteration asked once per run
    with SQLiteGraphStore(db) as store:
        assert structure(load_records(store, "exp-1")) == structure(whole.iterations)  # type: ignore[attr-defined]
        assert next(iter(store.runs())).status == "completed"
    assert graph_of(db) == graph_of(tmp_path / "a.db")


def test_from_store_run_resumes_identically(llm_server: LLMTestServer, tmp_path: Path) -> None:
    dbs = [tmp_path / "a.db", tmp_path / "b.db"]
    for db in dbs:  # the same base graph in both stores: an earlier expansion
        run(llm_server, tmp_path / "base", db, run_id="base", iterations=8)
    whole = run(llm_server, tmp_path / "a", dbs[0], run_id="grow", from_store=True, policy="hub", iterations=10)
    assert whole.iterations[0].new_nodes == 0 and whole.iterations[0].nodes >= 17  # type: ignore[attr-defined]
    with SQLiteGraphStore(dbs[1]) as store, pytest.raises(KeyboardInterrupt):
        run(llm_server, tmp_path / "b", dbs[1], run_id="grow", store=KilledAt(store, 4), from_store=True,
            policy="hub", iterations=10)
    resumed = run(llm_server, tmp_path / "b", dbs[1], run_id="grow", resume=True, iterations=10)
    assert resumed.resumed_from == 3  # type: ignore[attr-defined]
    assert structure(resumed.iterations) == structure(whole.iterations)  # type: ignore[attr-defined]
    assert graph_of(dbs[1]) == graph_of(dbs[0])


def test_resume_on_neo4j_ends_identical_to_sqlite(llm_server: LLMTestServer, tmp_path: Path,
                                                  neo4j_store: object) -> None:
    whole = run(llm_server, tmp_path / "a", tmp_path / "a.db", policy="bridge")
    with pytest.raises(KeyboardInterrupt):
        run(llm_server, tmp_path / "b", tmp_path / "unused.db", store=KilledAt(neo4j_store, 5), policy="bridge")
    resumed = run(llm_server, tmp_path / "b", tmp_path / "unused.db", store=neo4j_store, resume=True)
    assert resumed.resumed_from == 4  # type: ignore[attr-defined]
    assert structure(load_records(neo4j_store, "exp-1")) == structure(whole.iterations)  # type: ignore[arg-type, attr-defined]
    with SQLiteGraphStore(tmp_path / "a.db") as reference:
        expected = reference.snapshot()
    got = neo4j_store.snapshot()  # type: ignore[attr-defined]
    assert sorted(n.id for n in got.nodes) == sorted(n.id for n in expected.nodes)
    assert sorted(e.id for e in got.edges) == sorted(e.id for e in expected.edges)


def test_stop_rules(llm_server: LLMTestServer, tmp_path: Path) -> None:
    budget = run(llm_server, tmp_path / "1", tmp_path / "1.db", max_llm_calls=3)
    assert budget.stopped_because == "budget" and budget.iterations[-1].iteration == 3  # type: ignore[attr-defined]
    assert budget.status == "stopped_budget"  # type: ignore[attr-defined]
    resumed = run(llm_server, tmp_path / "1", tmp_path / "1.db", resume=True, iterations=5)
    assert resumed.stopped_because == "iterations" and resumed.iterations[-1].iteration == 5  # type: ignore[attr-defined]
    timed = run(llm_server, tmp_path / "2", tmp_path / "2.db", max_seconds=1e-9)
    assert timed.stopped_because == "time" and [r.iteration for r in timed.iterations] == [0]  # type: ignore[attr-defined]
    saturated = run(llm_server, tmp_path / "3", tmp_path / "3.db", saturation=100.0, saturation_window=3)
    assert saturated.stopped_because == "saturation" and saturated.iterations[-1].iteration == 3  # type: ignore[attr-defined]
    tokens = run(llm_server, tmp_path / "4", tmp_path / "4.db", max_tokens_total=1)
    assert tokens.stopped_because == "budget" and tokens.iterations[-1].iteration == 0  # type: ignore[attr-defined]
    llm_server.rule = lambda body: 400
    failing = run(llm_server, tmp_path / "5", tmp_path / "5.db")
    assert failing.stopped_because == "llm_errors"  # type: ignore[attr-defined]
    assert [r.error is not None for r in failing.iterations] == [False, True, True, True]  # type: ignore[attr-defined]
    assert failing.status == "failed"  # type: ignore[attr-defined]
    assert failing.failure_reason.startswith("none succeeded: all 3 iterations failed; first: ")  # type: ignore[attr-defined]


def test_a_failed_iteration_is_retried_differently(llm_server: LLMTestServer, tmp_path: Path) -> None:
    """Issue 18: at temperature 0 the identical prompt fails identically; the retry shows the error, samples warmer."""
    llm_server.script(["malformed", "malformed"])  # iteration 1: the answer and its re-ask are both invalid
    done = run(llm_server, tmp_path, tmp_path / "r.db", iterations=2)
    first, second = done.iterations[1:]  # type: ignore[attr-defined]
    assert first.error is not None and first.retry is None
    assert second.error is None and second.retry == "after 1 failed: temperature 0.30, previous error in the prompt"
    retried = llm_server.chat_requests[-1].body
    assert retried["temperature"] == 0.3
    assert retried["messages"][-1]["content"].startswith("The previous attempt failed: invalid LLM output")


@pytest.mark.parametrize("fault", ["empty_200", "text_200"])
def test_answers_that_are_not_json_end_the_run_by_its_own_rule(
    llm_server: LLMTestServer, tmp_path: Path, fault: str
) -> None:
    """Issue 22: an HTTP 200 with an empty or non-JSON body crashed expand (AttributeError on .usage)."""
    llm_server.rule = lambda body: fault
    done = run(llm_server, tmp_path, tmp_path / "x.db")
    assert done.stopped_because == "llm_errors"  # type: ignore[attr-defined]
    failed = done.iterations[1:]  # type: ignore[attr-defined]
    assert len(failed) == 3 and all("NoAnswer (unreadable)" in (r.error or "") for r in failed)
    assert sum(r.llm_calls for r in failed) == len(llm_server.chat_requests) > 0  # every request counted


# -- through the CLI and Prefect ------------------------------------------------------------------------

def expand_cli(server: LLMTestServer, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**kgweave_env(), "KGWEAVE_LLM_CACHE_DIR": str(db.parent / f"{db.stem}-cache")}
    return run_kgweave("expand", "--store", str(db), "--llm-base-url", server.base_url, "--llm-model", "m",
                       "--json", *extra, env=env, cwd=db.parent)  # plots go to ./.kgweave/expand/RUN_ID


@pytest.mark.usefixtures("prefect_api")
def test_cli_expand_json_artifacts_resume_and_report(llm_server: LLMTestServer, tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    done = expand_cli(llm_server, db, "--seed", SEED, "--iterations", "6", "--policy", "hub", "--run-id", "cli-1",
                      "--report", str(tmp_path / "plots"))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["run_id"] == "cli-1" and result["stopped_because"] == "iterations"
    first = result["iterations"][1]
    assert {"iteration", "nodes", "edges", "new_nodes", "new_edges", "modularity", "top_hubs", "tokens",
            "power_law_alpha", "average_shortest_path", "clustering", "largest_component_share"} <= set(first)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "degree_distribution.png", "hub_emergence.png", "iterations.json", "modularity.png", "nodes_edges.png"]
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[
            "expand-graph-iteration", "expand-graph-iterations", "expand-graph-summary"])))
    published = [a for a in found if "cli-1" in (a.description or "")]
    # one iterations table, updated in place (not a card per iteration), and the summary with the plots in it
    assert sorted(a.key for a in published) == ["expand-graph-iterations", "expand-graph-summary"]
    by_key = {a.key: a for a in published}
    assert [row["iteration"] for row in json.loads(by_key["expand-graph-iterations"].data)] == list(range(7))
    assert len(embedded_pngs(by_key["expand-graph-summary"].data)) == 4
    assert "file://" not in by_key["expand-graph-summary"].data
    # each LLM call is a task run tagged llm (so the tag concurrency limit of `kgweave deploy` applies)
    assert llm_task_runs("expand-graph-summary", "cli-1") == sorted(f"expand-llm-{i}" for i in range(1, 7))
    more = expand_cli(llm_server, db, "--resume", "--run-id", "cli-1", "--iterations", "9")
    assert more.returncode == 0, more.stderr
    resumed = json.loads(more.stdout)
    assert resumed["resumed_from"] == 6 and [r["iteration"] for r in resumed["iterations"]] == list(range(10))
    assert resumed["llm_calls"] == 3
    report = run_kgweave("report", "--run-id", "cli-1", "--out", str(tmp_path / "again"), "--store", str(db),
                         "--json")
    assert report.returncode == 0, report.stderr
    assert len(json.loads(report.stdout)["files"]) == 5


@pytest.mark.parametrize(("args", "message"), [
    (("--seed", "  ", "--iterations", "3"), "seed is empty"),
    (("--seed", "x", "--iterations", "0"), "--iterations"),
    (("--seed", "x", "--policy", "widest"), "unknown policy"),
    (("--resume", "--run-id", "nope"), "no run 'nope'"),
    (("--resume",), "--run-id"),
])
def test_bad_input_is_one_line_and_exit_2(llm_server: LLMTestServer, tmp_path: Path, args: tuple[str, ...],
                                         message: str) -> None:
    done = expand_cli(llm_server, tmp_path / "g.db", *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert llm_server.chat_requests == []
    report = run_kgweave("report", "--run-id", "nope", "--out", str(tmp_path / "r"), "--store", str(tmp_path / "g.db"))
    assert report.returncode == 2 and len(report.stderr.strip().splitlines()) == 1


@pytest.mark.usefixtures("prefect_api")
def test_cli_process_killed_then_resumed_ends_identical(llm_server: LLMTestServer, tmp_path: Path) -> None:
    whole = expand_cli(llm_server, tmp_path / "a.db", "--seed", SEED, "--iterations", "14", "--run-id", "k")
    assert whole.returncode == 0, whole.stderr
    llm_server.latency_s = 0.15
    db = tmp_path / "b.db"
    env = {**kgweave_env(), "KGWEAVE_LLM_CACHE_DIR": str(tmp_path / "b-cache")}
    process = subprocess.Popen(
        [sys.executable, "-m", "kgweave.flows.cli", "expand", "--store", str(db), "--llm-base-url", llm_server.base_url,
         "--llm-model", "m", "--seed", SEED, "--iterations", "14", "--run-id", "k", "--json"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        for _ in range(1200):  # wait until a few iterations are recorded (whatever the machine's speed)
            if db.exists() and _recorded(db) >= 4 or process.poll() is not None:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert 4 <= _recorded(db) < 15
    llm_server.latency_s = 0.0
    resumed = expand_cli(llm_server, db, "--resume", "--run-id", "k", "--iterations", "14")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["iterations"] == [
        {**r, **{k: json.loads(resumed.stdout)["iterations"][i][k] for k in ACCOUNTING}}
        for i, r in enumerate(json.loads(whole.stdout)["iterations"])]
    assert graph_of(db) == graph_of(tmp_path / "a.db")


def _recorded(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM iterations").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.usefixtures("prefect_api")
def test_cli_expand_where_no_iteration_succeeds_fails_in_one_line(llm_server: LLMTestServer, tmp_path: Path) -> None:
    llm_server.rule = lambda body: 400
    done = expand_cli(llm_server, tmp_path / "g.db", "--seed", SEED, "--iterations", "5", "--run-id", "dead-1")
    result = json.loads(done.stdout)  # the summary still comes, then the cause in one line, exit 1
    assert done.returncode == 1 and result["status"] == "failed"
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"kgweave: failed: expand dead-1: {result['failure_reason']}"
    with SQLiteGraphStore(tmp_path / "g.db") as store:
        assert next(r for r in store.runs() if r.id == "dead-1").status == "failed"


@pytest.mark.usefixtures("prefect_api")
def test_cli_expand_max_failure_ratio(llm_server: LLMTestServer, tmp_path: Path) -> None:
    calls = iter(range(1000))
    llm_server.rule = lambda body: 400 if next(calls) % 2 else None
    args = ("--seed", SEED, "--iterations", "4")
    strict = expand_cli(llm_server, tmp_path / "a.db", *args, "--max-failure-ratio", "0.1")
    assert strict.returncode == 1 and "more than the threshold 10%" in strict.stderr.strip().splitlines()[-1]
    lenient = expand_cli(llm_server, tmp_path / "c.db", *args, "--run-id", "lenient-1")  # default ratio 1.0
    failed = sum(1 for r in json.loads(lenient.stdout)["iterations"] if r["error"])
    assert lenient.returncode in (0, 3) and failed > 0, lenient.stderr
    state = flow_run_of("expand-graph-summary", "lenient-1").state  # as the UI's run list shows it
    assert state.is_completed() and state.name == COMPLETED_WITH_FAILURES
    assert state.message == f"{failed} of 4 iterations failed"
    bad = expand_cli(llm_server, tmp_path / "b.db", *args, "--max-failure-ratio", "1.5")
    assert bad.returncode == 2 and "between 0 and 1" in bad.stderr
