"""Operations timings: Prefect server start, ``kgweave deploy``, and one build-graph deployment run end to
end (API -> process worker -> Completed), next to the same build as a local ``kgweave build`` against the
same server; plus build-graph on the thread runner vs a local Dask cluster vs Ray (a new local instance per
build, and a running ``ray start`` head), all against that server. Prints one JSON object.

    python benchmarks/deploy_stack.py [--repeat 2] [--runners-only]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.prefect_server import (  # noqa: E402
    _free_port,
    prefect_process,
    running_prefect_server,
    running_worker,
    stop,
)

SAMPLE = REPO / "examples" / "abstracts" / "iclr2023_gnn_abstracts.jsonl"


def _kgweave(env: dict[str, str], *args: str) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kgweave.flows.cli", *args, "--json"], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return time.perf_counter() - started, json.loads(done.stdout)


def _deployment_run(client: object, deployment_id: object, run_id: str) -> float:
    started = time.perf_counter()
    run = client.create_flow_run_from_deployment(deployment_id, parameters={"run_id": run_id})  # type: ignore[attr-defined]
    while True:
        run = client.read_flow_run(run.id)  # type: ignore[attr-defined]
        if run.state is not None and run.state.is_final():
            break
        time.sleep(0.25)
    if not run.state.is_completed():
        raise RuntimeError(f"deployment run ended {run.state}")
    return time.perf_counter() - started


RAY_LOCAL = {"KGWEAVE_TASK_RUNNER": "ray", "KGWEAVE_TASK_WORKERS": "2",
             "KGWEAVE_RAY_INIT": '{"include_dashboard": false, "object_store_memory": 200000000}'}


@contextlib.contextmanager
def _ray_head(env: dict[str, str], log: Path) -> Iterator[str]:
    """``ray start --head`` (2 CPUs, no dashboard) in its own process group; yields its address."""
    address = f"127.0.0.1:{_free_port()}"
    ray = [str(Path(sys.executable).with_name("ray"))]
    head = prefect_process(["start", "--head", "--block", "--port", address.split(":")[1], "--num-cpus", "2",
                            "--include-dashboard", "false", "--object-store-memory", "200000000",
                            "--disable-usage-stats"], env, log, program=ray)
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if head.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray start failed: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield address
    finally:
        stop(head)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)  # its gcs_server can outlive `ray start` on SIGTERM
        current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"  # ray.init() would join it
        with contextlib.suppress(OSError):
            if address.split(":")[1] in current.read_text():
                current.unlink()


def _graph_ids(db: Path) -> tuple[set[str], set[str]]:
    from kgweave.graph_store.sqlite_store import SQLiteGraphStore

    with SQLiteGraphStore(db) as store:
        snapshot = store.snapshot()
    return {n.id for n in snapshot.nodes}, {e.id for e in snapshot.edges}


def _runner_builds(env: dict[str, str], tmp: Path) -> dict[str, object]:
    """build-graph on threads, a 2-worker in-process Dask LocalCluster, a new 2-CPU local Ray instance per build,
    and a running 2-CPU Ray head (same flow, settings apart), each graph compared with the threads one."""
    out: dict[str, object] = {"loadavg_before": [round(x, 2) for x in os.getloadavg()]}
    runners: list[tuple[str, dict[str, str]]] = [
        ("threads", {}),
        ("dask", {"KGWEAVE_TASK_RUNNER": "dask", "KGWEAVE_TASK_WORKERS": "2", "KGWEAVE_DASK_PROCESSES": "false"}),
        ("ray", RAY_LOCAL),
    ]
    with _ray_head({**env, "PREFECT_LOGGING_LEVEL": "WARNING"}, tmp / "ray-head.log") as address:
        # joining a `ray start` cluster by address: Ray 2.60's head has token auth on, the driver must say so
        runners.append(("ray_cluster", {"KGWEAVE_TASK_RUNNER": "ray", "KGWEAVE_RAY_ADDRESS": address,
                                        "RAY_AUTH_MODE": "token"}))
        for runner, extra in runners:
            seconds, summary = _kgweave({**env, **extra}, "build", str(SAMPLE), "--store",
                                        str(tmp / f"{runner}.db"), "--batch-documents", "8")
            out[f"build_{runner}_s"] = round(seconds, 2)
            out[f"build_{runner}_flow_s"] = float(summary["seconds"])  # type: ignore[arg-type]
            out[f"build_{runner}_entities"] = int(summary["entities"])  # type: ignore[call-overload]
            out[f"build_{runner}_relations"] = int(summary["relations"])  # type: ignore[call-overload]
            out[f"{runner}_same_graph"] = _graph_ids(tmp / f"{runner}.db") == _graph_ids(tmp / "threads.db")
    for runner, _ in runners[1:]:
        out[f"{runner}_vs_threads"] = round(out[f"build_{runner}_s"] / out["build_threads_s"], 2)  # type: ignore
        out[f"{runner}_vs_threads_flow"] = round(
            out[f"build_{runner}_flow_s"] / out["build_threads_flow_s"], 2)  # type: ignore[operator]
    out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2, help="deployment runs (the first pays the cold start)")
    parser.add_argument("--runners-only", action="store_true", help="only the task runner builds")
    args = parser.parse_args()
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    result: dict[str, object] = {"benchmark": "deploy_stack", "python": platform.python_version(),
                                 "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        store = tmp / "deployed.db"
        with running_prefect_server(tmp / "prefect") as server:
            result["server_start_s"] = round(server.start_seconds, 2)
            env = server.env(KGWEAVE_STORE=str(store), PREFECT_LOGGING_LEVEL="WARNING")
            if args.runners_only:
                result.update(_runner_builds(env, tmp))
                print(json.dumps(result))
                return
            seconds, deployed = _kgweave(env, "deploy")
            result["deploy_cli_s"] = round(seconds, 2)
            result["deploy_api_s"] = deployed["seconds"]
            result["deployments"] = len(deployed["deployments"])  # type: ignore[arg-type]
            seconds, _ = _kgweave(env, "deploy")
            result["redeploy_cli_s"] = round(seconds, 2)
            with temporary_settings({PREFECT_API_URL: server.url}), get_client(sync_client=True) as client:
                build = client.read_deployment_by_name("build-graph/nightly")
                with running_worker(server, "kgweave-cpu", tmp / "worker.log", cwd=tmp):
                    runs = [_deployment_run(client, build.id, f"bench-{k}") for k in range(args.repeat)]
            result["deployment_run_s"] = [round(r, 2) for r in runs]
            seconds, summary = _kgweave(env, "build", str(SAMPLE), "--store", str(tmp / "local.db"))
            result["local_cli_build_s"] = round(seconds, 2)
            result["local_cli_build_flow_s"] = summary["seconds"]
            result["deployment_vs_local_cli"] = round(min(runs) / seconds, 2)
            result.update(_runner_builds(env, tmp))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
