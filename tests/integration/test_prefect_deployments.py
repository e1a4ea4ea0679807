"""The deployments end to end: a real ``prefect server start`` (SQLite), ``kgweave deploy``, a process
worker on ``kgweave-cpu``, build-graph triggered through the API on the bundled sample corpus."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.conftest import REPO
from tests.prefect_server import running_kgweave_serve, running_prefect_server, running_worker

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_deploy_worker_runs_build_graph_and_schedules_are_registered(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.objects import StateType
    from prefect.settings import PREFECT_API_URL, temporary_settings

    store = tmp_path / "graph.db"
    with running_prefect_server(tmp_path / "prefect") as server:
        env = server.env(KGWEAVE_LLM_API_KEY="sk-test-not-a-real-key")
        deploy = [sys.executable, "-m", "kgweave.flows.cli", "deploy", "--store", str(store), "--json"]
        done = subprocess.run(deploy, capture_output=True, text=True,
                              env=env, cwd=REPO, timeout=180)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        names = {d["name"] for d in result["deployments"]}
        assert {"build-graph/nightly", "analyze-graph/nightly"} <= names
        assert result["work_pools"] == ["kgweave-cpu", "kgweave-gpu"]
        assert "kgweave-llm-api-key" in result["secret_blocks"]
        # registering again changes nothing (idempotent: same ids)
        again = subprocess.run(deploy, capture_output=True,
                               text=True, env=env, cwd=REPO, timeout=180)
        assert again.returncode == 0, again.stderr
        assert {d["id"] for d in json.loads(again.stdout)["deployments"]} == {d["id"] for d in result["deployments"]}

        with temporary_settings({PREFECT_API_URL: server.url}), get_client(sync_client=True) as client:
            build = client.read_deployment_by_name("build-graph/nightly")
            analyze = client.read_deployment_by_name("analyze-graph/nightly")
            assert [s.schedule.cron for s in build.schedules] == ["0 2 * * *"]  # type: ignore[union-attr]
            assert [s.schedule.cron for s in analyze.schedules] == ["0 4 * * *"]  # type: ignore[union-attr]
            assert build.work_pool_name == "kgweave-cpu" and build.entrypoint == "kgweave.flows.build_graph.build_graph"
            assert build.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}]
            job_env = build.job_variables["env"]
            assert job_env["PREFECT_LOGGING_EXTRA_LOGGERS"] == "kgweave"
            # the key is a Secret block reference, resolved by the worker; never the value itself
            assert job_env["KGWEAVE_LLM_API_KEY"] == "{{ prefect.blocks.secret.kgweave-llm-api-key }}"
            assert "sk-test" not in json.dumps(build.model_dump(mode="json"))
            assert "extractor" in build.parameter_openapi_schema["properties"]  # a form in the UI
            assert client.read_concurrency_limit_by_tag("llm").concurrency_limit == 4

            assert build.parameters["store"] == str(store)  # {{ $KGWEAVE_STORE }} filled at registration
            with running_worker(server, "kgweave-cpu", tmp_path / "worker.log", cwd=tmp_path):
                # the deployment's own parameters (paths relative to the project root, where the pull
                # step puts the run) plus a run id
                run = client.create_flow_run_from_deployment(build.id, parameters={"run_id": "deployed-1"})
                run = _wait_final(client, run.id, tmp_path / "worker.log")
                assert run.state is not None and run.state.type == StateType.COMPLETED, (
                    (tmp_path / "worker.log").read_text()[-3000:])
                assert run.name == "build-graph-deployed-1"
                # the flow's own log and a library's (agents.pipeline, via PREFECT_LOGGING_EXTRA_LOGGERS) reach
                # the API. Logs are shipped in batches and may land after the final state: wait with the worker
                # (and so the run's process, in its process group) still alive.
                wanted = ("documents read", "extracted 40 documents")
                deadline = time.monotonic() + 60
                while True:
                    logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
                    messages = [log.message for log in logs]
                    if all(any(w in m for m in messages) for w in wanted) or time.monotonic() > deadline:
                        break
                    time.sleep(1)
                assert all(any(w in m for m in messages) for w in wanted), messages

            # kgweave serve: the same deployments served from one process, no pool or worker
            served = tmp_path / "served.db"
            with running_kgweave_serve(server, tmp_path / "serve.log", cwd=tmp_path, KGWEAVE_STORE=str(served)):
                deadline = time.monotonic() + 120
                while "being served" not in (tmp_path / "serve.log").read_text():
                    assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
                    time.sleep(1)
                build = client.read_deployment_by_name("build-graph/nightly")
                assert [s.schedule.cron for s in build.schedules] == ["0 2 * * *"]  # type: ignore[union-attr]
                run = client.create_flow_run_from_deployment(build.id, parameters={"run_id": "served-1"})
                run = _wait_final(client, run.id, tmp_path / "serve.log")
            assert run.state is not None and run.state.type == StateType.COMPLETED, (
                (tmp_path / "serve.log").read_text()[-3000:])
    for db in (store, served):
        with SQLiteGraphStore(db) as graph:
            counts = graph.counts()
        assert counts.documents == 40 and counts.entities > 100 and counts.relations > 100


def _wait_final(client: object, run_id: object, log: Path, timeout: float = 240) -> object:
    deadline = time.monotonic() + timeout
    while True:
        run = client.read_flow_run(run_id)  # type: ignore[attr-defined]
        if run.state is not None and run.state.is_final():
            return run
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(1)
