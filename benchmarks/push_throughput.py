"""`kgweave push` into Neo4j against `kgweave build` of the same graph into Neo4j, side by side.

One run, one throwaway Neo4j (free loopback ports, the cached jars of ``$KGWEAVE_NEO4J_HOME``):
1. build the corpus (default: the 613 ResearchTown ICLR-2023 papers, ``--domain papers``) into an
   embedded store: the push source;
2. build the same corpus straight into the empty Neo4j (`kgweave build --store bolt://...`);
3. clear Neo4j and `kgweave push` the embedded store into it;
4. check that both ways gave the same ``stats``.

Both commands run as real processes. The build runs through Prefect's ephemeral API, whose start-up
(~15-20 s here) is in ``build_wall_s`` but not in the flow's own ``build_flow_s``; push runs no flow.
``push_over_build_flow`` is the strict ratio (target: <= 1). ``--profile FILE`` also pushes once
more in process under cProfile (into the cleared Neo4j) and writes the top functions to FILE.

Prints one JSON object. Usage: python benchmarks/push_throughput.py [--corpus PATH] [--domain papers]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import SHARED, emit  # noqa: E402 (benchmarks/_shared.py beside this script)

from kgweave.deploy.neo4j_server import Neo4jServer

REPO = Path(__file__).resolve().parents[1]
ICLR = SHARED / "researchtown_agent_data" / "iclr2023_review_score_papers"
PASSWORD = "kgweave-bench-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def jars_home() -> Path:
    """The resolved jars of ``kgweave neo4j start`` (``$KGWEAVE_NEO4J_HOME`` or ``./.kgweave/neo4j``)."""
    env = os.environ.get("KGWEAVE_NEO4J_HOME")
    return Path(env) if env else REPO / ".kgweave" / "neo4j"


def kgweave(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, object]]:
    """Run one kgweave command with ``--json``: (wall seconds, its JSON)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kgweave.flows.cli", *args, "--json"], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=3600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"kgweave {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return round(wall, 2), json.loads(done.stdout)


def profile_push(source: Path, url: str, password: str, out: Path) -> float:
    """Push in process under cProfile; write the top 40 functions by cumulative time to ``out``."""
    from kgweave.graph_store.neo4j_store import Neo4jGraphStore
    from kgweave.graph_store.sqlite_store import SQLiteGraphStore
    from kgweave.graph_store.transfer import push

    with SQLiteGraphStore(source) as src, Neo4jGraphStore(url, password=password) as target:
        target.clear()
        target.ensure_schema()
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        push(src, target)  # type: ignore[arg-type]
        profiler.disable()
        seconds = time.perf_counter() - started
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
    out.write_text(text.getvalue())
    return round(seconds, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ICLR)
    parser.add_argument("--domain", default="papers")
    parser.add_argument("--profile", type=Path, default=None, help="also profile one push in process into FILE")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a killed run still stops its Neo4j

    result: dict[str, object] = {
        "benchmark": "push_throughput",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m": round(os.getloadavg()[0], 2)},
        "corpus": str(args.corpus), "domain": args.domain,
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {**os.environ, "PREFECT_HOME": str(folder / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "DO_NOT_TRACK": "1", "KGWEAVE_NEO4J_PASSWORD": PASSWORD}
        env.pop("PREFECT_API_URL", None)
        env.pop("KGWEAVE_STORE", None)
        source = folder / "source.db"
        build = ["build", str(args.corpus), "--domain", args.domain]
        kgweave([*build, "--store", str(source)], env)
        _, source_stats = kgweave(["stats", "--store", str(source)], env)
        server = Neo4jServer(folder / "neo4j", bolt_port=free_port(), http_port=free_port(), password=PASSWORD,
                             jars_home=jars_home())
        server.start(wait_s=240)
        try:
            url = server.bolt_url
            build_wall, summary = kgweave([*build, "--store", url], env)
            _, built_stats = kgweave(["stats", "--store", url], env)
            kgweave(["store", "clear", "--yes", "--store", url], env)
            push_wall, pushed = kgweave(["push", "--from", str(source), "--to", url], env)
            _, pushed_stats = kgweave(["stats", "--store", url], env)
            build_flow = float(summary["seconds"])  # type: ignore[arg-type]
            result.update({
                "documents": source_stats["documents"], "entities": source_stats["entities"],
                "relations": source_stats["relations"],
                "build_wall_s": build_wall, "build_flow_s": round(build_flow, 2), "push_wall_s": push_wall,
                "push_over_build_flow": round(push_wall / build_flow, 2),
                "push_over_build_wall": round(push_wall / build_wall, 2),
                "push_batches": pushed.get("batches"),
                "same_stats_built_and_pushed": built_stats == pushed_stats,
                "same_stats_source_and_pushed": source_stats == pushed_stats,
            })
            if args.profile:
                result["profiled_push_s"] = profile_push(source, url, PASSWORD, args.profile)
        finally:
            server.stop()
    emit(result, args.out)


if __name__ == "__main__":
    main()
