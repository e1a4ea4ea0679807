"""graph_store.runs: one run-id function and one run lifecycle for every flow and command."""

from __future__ import annotations

import doctest
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

import kgweave.graph_store.runs as runs_module
from kgweave.graph_store.models import Run
from kgweave.graph_store.runs import new_run_id, recorded_run, scalar_summary
from kgweave.graph_store.sqlite_store import SQLiteGraphStore


@pytest.fixture
def store(tmp_path: Path) -> SQLiteGraphStore:
    return SQLiteGraphStore(tmp_path / "runs.db")


def _only_run(store: SQLiteGraphStore) -> Run:
    (run,) = list(store.runs())
    return run


def test_run_ids_are_readable_unique_and_reproducible_for_a_scheduled_run() -> None:
    assert re.fullmatch(r"build-\d{8}T\d{6}-[0-9a-f]{4}", new_run_id("build"))
    assert len({new_run_id("x") for _ in range(200)}) > 190  # 4 random hex digits per second
    when = datetime(2026, 11, 26, 15, 2, 3, tzinfo=UTC)
    assert new_run_id("analyze", when, "3f9a") == "analyze-20261126T150203-3f9a"


def test_a_block_that_ends_normally_is_recorded_completed_with_its_summary(store: SQLiteGraphStore) -> None:
    with recorded_run(store, Run(id="r1", kind="build")) as record:
        assert _only_run(store).status == "running"
        record.finish(summary={"entities": 3, "names": ["not", "a", "scalar"], "model": None})
    run = _only_run(store)
    assert (run.status, run.summary) == ("completed", {"entities": 3, "model": None})
    assert run.finished_at is not None


def test_finish_sets_another_final_status(store: SQLiteGraphStore) -> None:
    with recorded_run(store, Run(id="r2", kind="expand")) as record:
        record.finish("stopped_budget", {"iterations": 2})
    assert _only_run(store).status == "stopped_budget"


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_an_error_records_the_run_failed_with_the_reason_and_is_raised(
    store: SQLiteGraphStore, error: BaseException,
) -> None:
    with pytest.raises(type(error)), recorded_run(store, Run(id="r3", kind="build")) as record:
        record.finish("failed", {"documents": 4})  # a status set before the error keeps its summary
        raise error
    run = _only_run(store)
    assert run.status == "failed" and run.finished_at is not None
    assert run.summary["documents"] == 4
    assert str(run.summary["error"]).startswith(type(error).__name__)


def test_a_long_error_is_cut(store: SQLiteGraphStore) -> None:
    with pytest.raises(ValueError), recorded_run(store, Run(id="r4", kind="build")):
        raise ValueError("x" * 10_000)
    assert len(str(_only_run(store).summary["error"])) == 500


def test_without_a_store_nothing_is_recorded_and_errors_pass() -> None:
    with recorded_run(None, Run(id="r5", kind="analyze")) as record:
        record.finish(summary={"nodes": 1})
    with pytest.raises(RuntimeError), recorded_run(None, Run(id="r6", kind="analyze")):
        raise RuntimeError("no store")


def test_scalar_summary_keeps_what_a_run_record_can_hold() -> None:
    assert scalar_summary({"a": 1, "b": 0.5, "c": "x", "d": True, "e": None, "f": [1], "g": {"h": 1}}) == {
        "a": 1, "b": 0.5, "c": "x", "d": True, "e": None}


def test_the_module_example_runs() -> None:
    assert doctest.testmod(runs_module).failed == 0
