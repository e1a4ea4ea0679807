"""Operations under the Prefect test API: the task runner as a setting (Dask gives the thread runner's
graph), the failure-ratio threshold, run names and the monitoring artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kgweave.deploy.task_runners import ConfiguredTaskRunner, make_task_runner, missing_api_warning
from kgweave.flows.build_graph import build_graph
from kgweave.flows.settings import TaskRunnerSettings
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.conftest import SAMPLE_CORPUS

pytestmark = pytest.mark.usefixtures("prefect_api")


def _graph(db: Path) -> tuple[set[str], set[str], dict[str, int]]:
    with SQLiteGraphStore(db) as store:
        snapshot, counts = store.snapshot(), store.counts()
    totals = {k: getattr(counts, k) for k in ("documents", "chunks", "entities", "relations", "mentions")}
    return {n.id for n in snapshot.nodes}, {e.id for e in snapshot.edges}, totals


@pytest.fixture(scope="module")
def threads_build(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """The sample corpus built with the default thread runner: what every other runner must reproduce."""
    db = tmp_path_factory.mktemp("threads") / "threads.db"
    return build_graph([str(SAMPLE_CORPUS)], run_id="threads", store=str(db), batch_documents=8), db


def _assert_same_graph_as_threads(threads_build: tuple[Any, Path], db: Path, monkeypatch: pytest.MonkeyPatch,
                                  runner_cls: type, **env: str) -> None:
    """Build with the runner the environment alone selects (no code change, no with_options)."""
    threads, threads_db = threads_build
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert isinstance(make_task_runner(), runner_cls)
    other = build_graph([str(SAMPLE_CORPUS)], run_id=db.stem, store=str(db), batch_documents=8)
    assert other.status == threads.status == "completed"
    assert (other.chunks, other.entities, other.relations) == (threads.chunks, threads.entities, threads.relations)
    assert _graph(db) == _graph(threads_db)


def test_dask_task_runner_builds_the_same_graph_as_threads(
        threads_build: tuple[Any, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect_dask import DaskTaskRunner  # in the dev extra: a missing package fails, never skips

    _assert_same_graph_as_threads(threads_build, tmp_path / "dask.db", monkeypatch, DaskTaskRunner,
                                  KGWEAVE_TASK_RUNNER="dask", KGWEAVE_TASK_WORKERS="2",
                                  KGWEAVE_DASK_PROCESSES="false")


def test_ray_task_runner_builds_the_same_graph_as_threads(
        threads_build: tuple[Any, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ray
    from prefect_ray import RayTaskRunner  # in the dev extra: a missing package fails, never skips

    # a local Ray instance (no address): its workers are separate processes that get the test API's URL
    # from the serialized Prefect settings context and import the tasks from the installed project
    _assert_same_graph_as_threads(threads_build, tmp_path / "ray.db", monkeypatch, RayTaskRunner,
                                  KGWEAVE_TASK_RUNNER="ray", KGWEAVE_TASK_WORKERS="2",
                                  KGWEAVE_RAY_INIT='{"include_dashboard": false, "object_store_memory": 200000000}')
    assert not ray.is_initialized()  # the runner started its own instance and shut it down


def test_task_runner_setting_picks_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.task_runners import ThreadPoolTaskRunner

    assert isinstance(make_task_runner(TaskRunnerSettings()), ThreadPoolTaskRunner)
    runner = make_task_runner(TaskRunnerSettings(task_runner="dask", dask_address="tcp://10.0.0.1:8786"))
    assert runner.address == "tcp://10.0.0.1:8786"  # type: ignore[attr-defined]
    # workers in other processes need a real API: warned when PREFECT_API_URL is not set
    assert "PREFECT_API_URL" in (missing_api_warning(TaskRunnerSettings(task_runner="ray"), None) or "")
    assert missing_api_warning(TaskRunnerSettings(task_runner="ray"), "http://127.0.0.1:4200/api") is None
    assert missing_api_warning(TaskRunnerSettings(task_runner="dask", dask_processes=False), None) is None
    assert missing_api_warning(TaskRunnerSettings(), None) is None
    monkeypatch.setenv("KGWEAVE_TASK_RUNNER", "spark")
    with pytest.raises(ValueError, match="task_runner"):
        TaskRunnerSettings()
    assert ConfiguredTaskRunner().duplicate().name == "configured"


def test_ray_settings_give_the_runner_its_address_and_init_kwargs(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect_ray import RayTaskRunner

    monkeypatch.setenv("KGWEAVE_RAY_INIT", '{"include_dashboard": false, "runtime_env": {"working_dir": "."}}')
    local = make_task_runner(TaskRunnerSettings(task_runner="ray", task_workers=3))
    assert isinstance(local, RayTaskRunner)
    assert local.address == "local"  # a new instance, never a stale `ray start` cluster ray.init() would join
    assert local.init_kwargs == {"include_dashboard": False, "runtime_env": {"working_dir": "."}, "num_cpus": 3,
                                 "namespace": "prefect"}
    remote = make_task_runner(TaskRunnerSettings(task_runner="ray", task_workers=3, ray_address="ray://head:10001"))
    assert isinstance(remote, RayTaskRunner)
    assert remote.address == "ray://head:10001" and "num_cpus" not in remote.init_kwargs  # refused when joining


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

    from kgweave.flows.monitoring import FailureRatioExceededError

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
    assert state.state_details.flow_run_id is not None
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    assert run.name == f"build-graph-{summary.run_id}"
    markdown = _artifact("build-graph-summary", summary.run_id)
    assert "/browser/" not in markdown  # SQLite has no Browser to link (Neo4j: tests/unit/test_neo4j_browser.py)
    assert "tokens" in markdown and "estimated cost $0.00" in markdown
    top = _artifact("build-graph-top-entities", summary.run_id)
    assert "'rank': 1" in top or '"rank": 1' in top  # the run's hubs, most relations first


def _artifact(key: str, run_id: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return next(str(a.data) for a in artifacts if run_id in (a.description or ""))
