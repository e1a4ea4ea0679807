"""Fixed overhead of one `kgweave` command: the local stack's Prefect server vs Prefect's ephemeral API.

Measures, in one run, side by side (each command a real process, the three kinds interleaved so load
on a shared machine hits them alike):
- a no-op re-build of the sample corpus (every document already done) through the server `kgweave up`
  started, and through the ephemeral API (no stack): overhead = wall time minus the flow's own
  `seconds` from `--json`;
- `kgweave stats` on the same store (no orchestration: its wall time is all overhead);
- how long `kgweave up` and `kgweave down` take.
Targets (issue 15; reported, never failed on): the server's overhead <= 5 s and <= 1/4 of the ephemeral one.

Prints one JSON object. Usage: python benchmarks/cli_overhead.py [--repeats 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "abstracts" / "iclr2023_gnn_abstracts.jsonl"
TARGET_SERVER_S = 5.0
TARGET_RATIO = 0.25


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kgweave(cwd: Path, env: dict[str, str], *args: str) -> tuple[float, str]:
    """Run one kgweave command; its wall seconds and stdout (raises on a non-zero exit)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kgweave.flows.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"kgweave {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, done.stdout


def rebuild_overhead(cwd: Path, env: dict[str, str], store: Path) -> tuple[float, float]:
    """A no-op re-build: (wall - flow seconds, flow seconds)."""
    wall, out = kgweave(cwd, env, "build", str(SAMPLE), "--store", str(store), "--json")
    summary = json.loads(out)
    assert summary["skipped_documents"] == summary["documents"], "the re-build was not a no-op"
    return wall - float(summary["seconds"]), float(summary["seconds"])


def summary_of(values: list[float]) -> dict[str, object]:
    return {"median_s": round(statistics.median(values), 2), "min_s": round(min(values), 2),
            "all_s": [round(v, 2) for v in values]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="measurements of each kind (interleaved)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = folder / "kgweave.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KGWEAVE_"))}
        env.update(PREFECT_HOME=str(folder / "prefect-home"), DO_NOT_TRACK="1",
                   KGWEAVE_PREFECT_PORT=str(free_port()))
        # the ephemeral runs look for a stack in an empty folder, so they never find the one `up` starts
        ephemeral_env = {**env, "KGWEAVE_STACK_DIR": str(folder / "no-stack")}
        first_wall, _ = kgweave(folder, ephemeral_env, "build", str(SAMPLE), "--store", str(store), "--json")
        up_s, _ = kgweave(folder, env, "up", "--json")
        local, ephemeral, stats, flow = [], [], [], []
        try:
            for _ in range(args.repeats):
                overhead, seconds = rebuild_overhead(folder, env, store)
                local.append(overhead)
                flow.append(seconds)
                overhead, seconds = rebuild_overhead(folder, ephemeral_env, store)
                ephemeral.append(overhead)
                flow.append(seconds)
                stats.append(kgweave(folder, env, "stats", "--store", str(store), "--json")[0])
        finally:
            down_s, _ = kgweave(folder, env, "down", "--json")
    server_s = statistics.median(local)
    ratio = server_s / statistics.median(ephemeral)
    result = {
        "benchmark": "cli_overhead",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m": round(os.getloadavg()[0], 2)},
        "command": f"kgweave build {SAMPLE.relative_to(REPO)} --json (no-op re-build: all 40 documents done)",
        "repeats": args.repeats,
        "fixed_overhead": {
            "local_server": summary_of(local),
            "ephemeral_api": summary_of(ephemeral),
            "stats_no_prefect": summary_of(stats),
        },
        "flow_seconds": summary_of(flow),
        "ratio_local_over_ephemeral": round(ratio, 3),
        "first_build_ephemeral_wall_s": round(first_wall, 2),
        "kgweave_up_s": round(up_s, 2),
        "kgweave_down_s": round(down_s, 2),
        "target": {"local_server_max_s": TARGET_SERVER_S, "max_ratio": TARGET_RATIO,
                   "met": server_s <= TARGET_SERVER_S and ratio <= TARGET_RATIO},
    }
    text = json.dumps(result)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
