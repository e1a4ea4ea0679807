"""Build throughput of `kgweave build` (offline extractor, SQLite store), end to end with Prefect.

Measures, in one run, side by side:
- the fixed overhead of one invocation (a one-document corpus) with Prefect's ephemeral API versus a
  Prefect server that is already running (`prefect server start`), and their ratio;
- documents/s, relations/s and peak memory (max RSS of the kgweave process) at 1,000 and 10,000
  abstract-sized documents (the 613 ResearchTown ICLR-2023 abstracts, repeated with a distinct
  numeric prefix per copy so every document is new), through the running server. Copies repeat
  the originals' entities, so distinct entities/relations plateau; relation_observations (one per
  relation per chunk, what the extractor and writer actually process) grow with the corpus.

Prints one JSON object. Usage: python benchmarks/build_throughput.py [--sizes 1000 10000] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _shared import SHARED, emit  # noqa: E402 (benchmarks/_shared.py beside this script)

REPO = Path(__file__).resolve().parents[1]
ICLR = SHARED / "researchtown_agent_data" / "iclr2023_review_score_papers"


def abstracts() -> list[dict[str, str]]:
    """The ICLR-2023 abstracts with their titles."""
    records = []
    for file in sorted(ICLR.glob("*.json")):
        for title, value in json.loads(file.read_text(encoding="utf-8")).items():
            if value.get("abstract"):
                records.append({"title": title, "abstract": value["abstract"]})
    return records


def write_corpus(folder: Path, size: int) -> Path:
    base = abstracts()
    path = folder / f"abstracts_{size}.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(size):
            record = base[i % len(base)]
            copy = i // len(base)
            text = record["abstract"] if copy == 0 else f"[{copy}] {record['abstract']}"
            fh.write(json.dumps({"title": record["title"], "abstract": text}) + "\n")
    return path


def run_build(corpus: Path, store: Path, env: dict[str, str]) -> dict[str, object]:
    """One `kgweave build --json` process: wall seconds, its summary and its own peak RSS."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "kgweave.flows.cli", "build", str(corpus), "--store", str(store), "--json"],
            stdout=out, stderr=err, env=env, cwd=REPO,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"kgweave build failed ({proc.returncode}): {err.read()[-2000:]}")
        summary = json.loads(out.read())
    return {
        "wall_s": round(wall, 2),
        "flow_s": summary["seconds"],
        "documents": summary["documents"],
        "chunks": summary["chunks"],
        "entities": summary["entities"],
        "relations": summary["relations"],
        "relation_observations": summary["relation_observations"],
        "docs_per_s": round(summary["documents"] / wall, 1),
        "relation_observations_per_s": round(summary["relation_observations"] / wall, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # the kgweave process (not the Prefect server)
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    server_env = {**env, "PREFECT_HOME": str(home)}
    prefect = shutil.which("prefect", path=str(Path(sys.executable).parent)) or "prefect"
    proc = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("prefect server did not start within 180 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    result: dict[str, object] = {
        "benchmark": "build_throughput",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "extractor": "cooccurrence",
        "store": "sqlite",
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one = folder / "one.txt"
        one.write_text("Graph neural networks learn node representations. Graph neural networks scale.")
        ephemeral_env = {**env, "PREFECT_HOME": str(folder / "prefect-ephemeral")}
        ephemeral = run_build(one, folder / "overhead-ephemeral.db", ephemeral_env)
        server, api_url = start_server(folder / "prefect-server", env)
        try:
            server_env = {**env, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(folder / "prefect-client")}
            running = run_build(one, folder / "overhead-server.db", server_env)
            result["fixed_overhead"] = {
                "ephemeral_api_s": ephemeral["wall_s"],
                "running_server_s": running["wall_s"],
                "ratio_ephemeral_over_server": round(float(ephemeral["wall_s"]) / float(running["wall_s"]), 2),
            }
            sizes = {}
            for size in args.sizes:
                corpus = write_corpus(folder, size)
                sizes[str(size)] = run_build(corpus, folder / f"build-{size}.db", server_env)
            result["builds_via_running_server"] = sizes
            if len(args.sizes) >= 2:
                small, large = sizes[str(min(args.sizes))], sizes[str(max(args.sizes))]
                result["scaling_ratio_docs_per_s_large_over_small"] = round(
                    float(large["docs_per_s"]) / float(small["docs_per_s"]), 2)
        finally:
            server.terminate()
            server.wait(timeout=30)
    emit(result, args.out)


if __name__ == "__main__":
    main()
