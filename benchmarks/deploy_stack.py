"""Operations timings: Prefect server start, ``kgweave deploy``, and one build-graph deployment run end to
end (API -> process worker -> Completed), next to the same build as a local ``kgweave build`` against the
same server; plus build-graph on the thread runner vs a local Dask cluster. Prints one JSON object.

    python benchmarks/deploy_stack.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.prefect_server import running_prefect_server, running_worker  # noqa: E402

SAMPLE = REPO / "examples" / "abstracts" / "iclr2023_gnn_abstracts.jsonl"


def _kgweave(env: dict[str, str], *args: str) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flows.cli", *args, "--json"], capture_output=True, text=True,
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


def _runner_builds(env: dict[str, str], tmp: Path) -> dict[str, float]:
    """build-graph on threads vs a 2-worker in-process Dask LocalCluster (same flow, a setting apart)."""
    out = {}
    for runner, extra in (("threads", {}), ("dask", {"KGWEAVE_TASK_RUNNER": "dask", "KGWEAVE_TASK_WORKERS": "2",
                                                      "KGWEAVE_DASK_PROCESSES": "false"})):
        seconds, summary = _kgweave({**env, **extra}, "build", str(SAMPLE), "--store", str(tmp / f"{runner}.db"),
                                    "--batch-documents", "8")
        out[f"build_{runner}_s"] = round(seconds, 2)
        out[f"build_{runner}_flow_s"] = float(summary["seconds"])  # type: ignore[arg-type]
        out[f"build_{runner}_entities"] = int(summary["entities"])  # type: ignore[call-overload]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2, help="deployment runs (the first pays the cold start)")
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
            result["dask_vs_threads"] = round(result["build_dask_s"] / result["build_threads_s"], 2)  # type: ignore[operator]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
