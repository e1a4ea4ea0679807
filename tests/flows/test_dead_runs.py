"""Runs whose process died (SIGKILL) are marked crashed: in the store by the next command, in Prefect by --reap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kgweave.graph_store.models import Run
from kgweave.graph_store.runs import reap_dead_runs, recorded_run
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.flows.test_cli import run_kgweave

KILLED = """
import os, signal, sys
from kgweave.graph_store.models import Run
from kgweave.graph_store.runs import recorded_run
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
store = SQLiteGraphStore(sys.argv[1])
with recorded_run(store, Run(id=sys.argv[2], kind="build")):
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_run(db: Path, run_id: str) -> None:
    done = subprocess.run([sys.executable, "-c", KILLED, str(db), run_id], capture_output=True, check=False)
    assert done.returncode == -9, done.stderr


def _status(db: Path, run_id: str) -> Run:
    with SQLiteGraphStore(db) as store:
        return next(r for r in store.runs() if r.id == run_id)


def test_a_killed_run_is_marked_crashed_and_a_live_one_is_not(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    _killed_run(db, "build-killed")
    assert _status(db, "build-killed").status == "running"  # what SIGKILL leaves
    with SQLiteGraphStore(db) as store:
        store.record_run(Run(id="elsewhere", kind="build", summary={"pid": 1, "host": "another-host"}))
        with recorded_run(store, Run(id="live", kind="build")):
            reaped = reap_dead_runs(store)
            assert [r.id for r in reaped] == ["build-killed"]
            assert reap_dead_runs(store) == []  # idempotent
        runs = {r.id: r for r in store.runs()}
    assert runs["build-killed"].status == "crashed" and "died" in str(runs["build-killed"].summary["error"])
    assert runs["live"].status == "completed" and runs["elsewhere"].status == "running"


@pytest.mark.usefixtures("prefect_api")
def test_the_next_command_marks_it_and_reap_marks_prefect_too(tmp_path: Path) -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.states import Running

    @flow(name="build-graph")
    def placeholder() -> None:
        """A flow to create a flow run for (never run)."""

    db = tmp_path / "g.db"
    _killed_run(db, "build-killed-cli")
    with get_client(sync_client=True) as client:
        flow_run = client.create_flow_run(placeholder, name="build-graph-build-killed-cli", state=Running())
    stats = run_kgweave("stats", "--store", str(db), "--json")  # any command opening the store
    assert stats.returncode == 0, stats.stderr
    assert _status(db, "build-killed-cli").status == "crashed"
    done = run_kgweave("runs", "--reap", "--store", str(db), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [(r["id"], r["status"]) for r in result["runs"]] == [("build-killed-cli", "crashed")]
    assert result["prefect_flow_runs_marked_crashed"] == 1
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(flow_run.id).state.is_crashed()  # type: ignore[union-attr]
