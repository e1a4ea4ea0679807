"""Operations under the Prefect test API: the task runner as a setting (Dask gives the thread runner's
graph), the failure-ratio threshold, run names and the monitoring artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.build_graph import build_graph
from flows.settings import TaskRunnerSettings
from flows.task_runners import ConfiguredTaskRunner, make_task_runner
from graph_store.sqlite_store import SQLiteGraphStore
from tests.conftest import SAMPLE_CORPUS

pytestmark = pytest.mark.usefixtures("prefect_api")


def _graph(db: Path) -> tuple[set[str], set[str], dict[str, int]]:
    with SQLiteGraphStore(db) as store:
        snapshot, counts = store.snapshot(), store.counts()
    totals = {k: getattr(counts, k) for k in ("documents", "chunks", "entities", "relations", "mentions")}
    return {n.id for n in snapshot.nodes}, {e.id for e in snapshot.edges}, totals


def test_dask_task_runner_builds_the_same_graph_as_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect_dask import DaskTaskRunner  # in the dev extra: a missing package fails, never skips

    threads = build_graph([str(SAMPLE_CORPUS)], run_id="threads", store=str(tmp_path / "threads.db"),
                          batch_documents=8)
    # the setting alone switches the runner: no code change, no with_options
    monkeypatch.setenv("KGWEAVE_TASK_RUNNER", "dask")
    monkeypatch.setenv("KGWEAVE_TASK_WORKERS", "2")
    monkeypatch.setenv("KGWEAVE_DASK_PROCESSES", "false")
    assert isinstance(make_task_runner(), DaskTaskRunner)
    dask = build_graph([str(SAMPLE_CORPUS)], run_id="dask", store=str(tmp_path / "dask.db"), batch_documents=8)
    assert dask.status == threads.status == "completed"
    assert (dask.chunks, dask.entities, dask.relations) == (threads.chunks, threads.entities, threads.relations)
    assert _graph(tmp_path / "dask.db") == _graph(tmp_path / "threads.db")


def test_task_runner_setting_picks_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.task_runners import ThreadPoolTaskRunner

    assert isinstance(make_task_runner(TaskRunnerSettings()), ThreadPoolTaskRunner)
    runner = make_task_runner(TaskRunnerSettings(task_runner="dask", dask_address="tcp://10.0.0.1:8786"))
    assert runner.address == "tcp://10.0.0.1:8786"  # type: ignore[attr-defined]
    monkeypatch.setenv("KGWEAVE_TASK_RUNNER", "spark")
    with pytest.raises(ValueError, match="task_runner"):
        TaskRunnerSettings()
    assert ConfiguredTaskRunner().duplicate().name == "configured"


def _bad_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "mostly-bad"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("Knowledge graphs connect entities. Knowledge graphs store facts.", "utf-8")
    for k in range(3):
        (corpus / f"binary-{k}.txt").write_bytes(b"\x00\x01\x02BINARY")
    return corpus


def test_failure_ratio_over_threshold_ends_failed_with_the_reason(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.monitoring import FailureRatioExceededError

    corpus = _bad_corpus(tmp_path)
    state = build_graph([str(corpus)], run_id="ratio-fail", store=str(tmp_path / "g.db"), max_failure_ratio=0.5,
                        return_state=True)
    assert state.is_failed()
    assert "3 of 4 items failed (75%), more than the threshold 50%" in (state.message or "")
    with pytest.raises(FailureRatioExceededError):
        state.result()
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["build-graph-summary"])))
    summary = [a for a in artifacts if "ratio-fail" in (a.description or "")]
    assert summary and "**Failed:** 3 of 4 items failed" in str(summary[0].data)
    with SQLiteGraphStore(tmp_path / "g.db") as store:
        assert store.counts().documents == 1  # what succeeded is kept: a re-run resumes
        run = next(r for r in store.runs() if r.id == "ratio-fail")
    assert run.status == "failed" and "3 of 4 items failed" in str(run.summary)


def test_failure_ratio_at_or_under_threshold_completes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _bad_corpus(tmp_path)
    summary = build_graph([str(corpus)], run_id="ratio-ok", store=str(tmp_path / "g.db"), max_failure_ratio=0.75)
    assert summary.status == "completed_with_failures" and summary.failure_reason is None
    monkeypatch.setenv("KGWEAVE_MAX_FAILURE_RATIO", "0.25")  # the setting applies when the parameter is not given
    state = build_graph([str(corpus)], run_id="ratio-env", store=str(tmp_path / "g2.db"), return_state=True)
    assert state.is_failed() and "threshold 25%" in (state.message or "")


def test_scheduled_runs_get_a_run_id_and_a_readable_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.client.orchestration import get_client

    monkeypatch.setenv("KGWEAVE_STORE", str(tmp_path / "env.db"))
    state = build_graph([str(SAMPLE_CORPUS)], return_state=True)  # as a deployment's scheduled run calls it
    summary = state.result()
    assert summary.store == str(tmp_path / "env.db") and summary.run_id.startswith("build-")
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.name == f"build-graph-{summary.run_id}"
    markdown = _artifact("build-graph-summary", summary.run_id)
    assert "MATCH (e:Entity) WHERE e.first_run = $run" in markdown and f":param run => '{summary.run_id}'" in markdown
    assert "tokens" in markdown and "estimated cost $0.00" in markdown
    top = _artifact("build-graph-top-entities", summary.run_id)
    assert "'rank': 1" in top or '"rank": 1' in top  # the run's hubs, most relations first


def _artifact(key: str, run_id: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return next(str(a.data) for a in artifacts if run_id in (a.description or ""))
