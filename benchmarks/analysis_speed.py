"""Speed of the structure analysis (``analysis.report.analyze``) against the same pipeline in networkx.

Graphs: BioGraph (12,319 nodes, 15,752 edges; read from GraphML) and Barabasi-Albert graphs with
about 100k and 1M edges (m = 5, seed 7; BA graphs are the worst case for community detection).
For each: seconds per step and in total, peak RSS (each configuration runs in its own process, so
the peak is its own), and the main figures. The networkx pipeline does the same steps with the same
sample sizes (networkx Louvain for communities, ``betweenness_centrality(k=...)``, BFS from the same
number of sources) on BioGraph and 100k; at 1M, networkx betweenness (64 sources: > 420 s) and
Louvain (did not finish) are skipped, and with ``--networkx-1m`` the remaining steps run.

``speedup_total`` compares whole pipelines (BioGraph, 100k); ``speedup_common_steps`` only the
steps both ran (at 1M: all but communities and betweenness). Prints one JSON object.
Usage: python benchmarks/analysis_speed.py [--graphs biograph ba100k ba1m]
[--networkx-1m] [--skip-networkx] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _shared import SHARED  # noqa: E402 (benchmarks/_shared.py beside this script)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BIOGRAPH = SHARED / "graphreasoning_biograph" / "BioGraph.graphml"
BA_SIZES = {"ba100k": 20_000, "ba1m": 200_000, "ba1m-store": 200_000}  # nodes; m = 5 edges per new node
STORE_CACHE = Path(os.environ.get("KGWEAVE_BENCH_CACHE", "/tmp/kgweave-bench"))
BA_M, BA_SEED, SEED = 5, 7, 0


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def ba_edges(nodes: int) -> list[tuple[int, int]]:
    import igraph as ig

    from kgweave.analysis.communities import seeded_igraph

    with seeded_igraph(BA_SEED):
        return ig.Graph.Barabasi(nodes, BA_M).get_edgelist()


def ba_store(nodes: int) -> Path:
    """A SQLite store holding the BA graph (built once, cached; building is not timed)."""
    from kgweave.graph_store.models import Entity, GraphDelta, Relation
    from kgweave.graph_store.sqlite_store import SQLiteGraphStore

    path = STORE_CACHE / f"ba{nodes}-m{BA_M}-s{BA_SEED}.db"
    if path.is_file():
        return path
    STORE_CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    store = SQLiteGraphStore(partial)
    store.ensure_schema()
    entities = [Entity.named(f"node {i}") for i in range(nodes)]
    edges = ba_edges(nodes)
    for start in range(0, max(len(entities), len(edges)), 100_000):
        store.upsert(GraphDelta(
            run_id="bench", extractor="benchmark", entities=tuple(entities[start:start + 100_000]),
            relations=tuple(Relation.between(entities[a].id, "RELATED_TO", entities[b].id)
                            for a, b in edges[start:start + 100_000])))
    store.close()
    partial.rename(path)
    return path


def run_ours(graph: str) -> dict[str, object]:
    from kgweave.analysis.graph_view import view_from_edges, view_from_graphml, view_from_snapshot
    from kgweave.analysis.report import AnalysisOptions, analyze

    if graph.endswith("-store"):
        from kgweave.graph_store.sqlite_store import SQLiteGraphStore

        store = SQLiteGraphStore(ba_store(BA_SIZES[graph]))
        started = time.perf_counter()  # load = read the store's snapshot and build the view
        view = view_from_snapshot(store.snapshot(), source=graph)
        store.close()
    else:
        edges = None if graph == "biograph" else ba_edges(BA_SIZES[graph])  # generating is not timed
        started = time.perf_counter()
        if edges is None:
            view = view_from_graphml(BIOGRAPH)  # load = parse the GraphML and build the view
        else:
            view = view_from_edges([str(i) for i in range(BA_SIZES[graph])], edges, source=graph)
    load = time.perf_counter() - started
    report = analyze(view, AnalysisOptions(seed=SEED)).report
    total = load + report.seconds["total"]
    law = report.power_law
    return {
        "engine": f"igraph {report.engine['igraph']} + powerlaw {report.engine['powerlaw']}",
        "nodes": report.nodes, "edges": report.edges, "components": report.components,
        "communities": report.communities, "modularity": round(report.modularity, 4),
        "community_algorithm": f"{report.community_detection.algorithm} (modularity, resolution "
                               f"{report.community_detection.resolution}, n_iterations "
                               f"{report.community_detection.n_iterations})",
        "power_law_alpha": None if law is None else round(law.alpha, 4),
        "power_law_xmin": None if law is None else law.xmin,
        "top_hubs": [[h.name, h.degree] for h in report.top_hubs[:4]],
        "betweenness_sources": report.betweenness.sources, "betweenness_exact": report.betweenness.exact,
        "path_sources": report.average_shortest_path.sources,
        "average_shortest_path": report.average_shortest_path.value,
        "seconds": {"load": round(load, 3), **{k: v for k, v in report.seconds.items() if k != "total"}},
        "total_seconds": round(total, 3),
        "peak_rss_mb": peak_rss_mb(),
    }


def run_networkx(graph: str, betweenness_sources: int, path_sources: int, skip_quadratic: bool) -> dict[str, object]:
    import networkx as nx

    from kgweave.analysis.powerlaw_fit import fit_power_law

    seconds: dict[str, float] = {}

    def step(name: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = work()
        seconds[name] = round(time.perf_counter() - started, 3)
        return result

    if graph == "biograph":
        g = step("load", lambda: nx.Graph(nx.read_graphml(BIOGRAPH)))
    else:
        edges = ba_edges(BA_SIZES[graph])
        g = step("load", lambda: nx.Graph(edges))
    loops = list(nx.selfloop_edges(g))
    degree = step("degree", lambda: [d for _, d in g.degree()])
    simple = g.copy()
    simple.remove_edges_from(loops)
    comps = step("components", lambda: list(nx.connected_components(simple)))
    step("pagerank", lambda: nx.pagerank(simple))
    notes = []
    communities = modularity = None
    if skip_quadratic:
        notes.append("networkx Louvain and betweenness skipped at this size (Louvain did not finish in "
                     "MEASURED.md; betweenness from 64 sources took > 420 s)")
    else:
        parts = step("communities", lambda: nx.community.louvain_communities(simple, seed=SEED))
        communities, modularity = len(parts), round(nx.community.modularity(simple, parts), 4)
        step("betweenness", lambda: nx.betweenness_centrality(simple, k=min(betweenness_sources, len(simple)),
                                                              seed=SEED))

    def sampled_paths() -> float:
        nodes = list(simple)
        chosen = random.Random(SEED).sample(nodes, min(path_sources, len(nodes)))
        total = pairs = 0
        for source in chosen:
            lengths = nx.single_source_shortest_path_length(simple, source)
            total += sum(lengths.values())
            pairs += len(lengths) - 1
        return total / pairs

    average_path = step("shortest_paths", sampled_paths)
    step("bridges", lambda: list(nx.bridges(simple)))
    step("articulation_points", lambda: list(nx.articulation_points(simple)))
    step("clustering", lambda: (nx.transitivity(simple), nx.average_clustering(simple)))
    step("assortativity", lambda: nx.degree_assortativity_coefficient(simple))
    law = step("power_law", lambda: fit_power_law(degree))
    top = sorted(g.degree(), key=lambda nd: -nd[1])[:4]
    return {
        "engine": f"networkx {nx.__version__}", "nodes": g.number_of_nodes(), "edges": g.number_of_edges(),
        "components": len(comps), "communities": communities, "modularity": modularity,
        "community_algorithm": None if communities is None else "networkx louvain_communities (resolution 1)",
        "power_law_alpha": None if law is None else round(law.alpha, 4),
        "top_hubs": [[str(n), d] for n, d in top], "average_shortest_path": average_path,
        "seconds": seconds, "total_seconds": round(sum(seconds.values()), 3), "peak_rss_mb": peak_rss_mb(),
        "notes": notes,
    }


def child(args: argparse.Namespace) -> None:
    if args.engine == "ours":
        result = run_ours(args.graph)
    else:
        result = run_networkx(args.graph, args.betweenness_sources, args.path_sources, args.skip_quadratic)
    sys.stdout.write(json.dumps(result) + "\n")


def spawn(*argv: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", *argv], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", nargs="+", default=["biograph", "ba100k", "ba1m"],
                        choices=["biograph", "ba100k", "ba1m", "ba1m-store"])
    parser.add_argument("--networkx-1m", action="store_true", help="run networkx's fast steps at 1M edges")
    parser.add_argument("--skip-networkx", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=["ours", "networkx"], help=argparse.SUPPRESS)
    parser.add_argument("--graph", help=argparse.SUPPRESS)
    parser.add_argument("--betweenness-sources", type=int, default=256, help=argparse.SUPPRESS)
    parser.add_argument("--path-sources", type=int, default=128, help=argparse.SUPPRESS)
    parser.add_argument("--skip-quadratic", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    results: dict[str, object] = {
        "benchmark": "analysis_speed", "python": platform.python_version(), "cpus": os.cpu_count(),
        "machine": platform.machine(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "seed": SEED, "ba": {"m": BA_M, "seed": BA_SEED},
    }
    graphs: dict[str, dict[str, Any]] = {}
    results["graphs"] = graphs
    for graph in args.graphs:
        if graph == "biograph" and not BIOGRAPH.is_file():
            graphs[graph] = {"error": f"{BIOGRAPH} missing"}
            continue
        ours = spawn("--engine", "ours", "--graph", graph)
        entry: dict[str, object] = {"ours": ours}
        run_nx = not args.skip_networkx and (not graph.startswith("ba1m") or args.networkx_1m)
        if run_nx and "error" not in ours:
            reference = spawn("--engine", "networkx", "--graph", graph,
                              "--betweenness-sources", str(ours["betweenness_sources"]),
                              "--path-sources", str(ours["path_sources"]),
                              *(["--skip-quadratic"] if graph.startswith("ba1m") else []))
            entry["networkx"] = reference
            if "error" not in reference:
                steps = {step: round(reference["seconds"][step] / max(seconds, 1e-4), 1)
                         for step, seconds in ours["seconds"].items()
                         if step in reference["seconds"]}
                entry["speedup_per_step"] = steps
                common = list(steps)
                entry["speedup_common_steps"] = round(
                    sum(reference["seconds"][k] for k in common)
                    / max(sum(ours["seconds"][k] for k in common), 1e-4), 1)
                if not graph.startswith("ba1m"):
                    entry["speedup_total"] = round(
                        float(reference["total_seconds"]) / float(ours["total_seconds"]), 1)
        elif graph.startswith("ba1m"):
            entry["networkx"] = {"skipped": "networkx Louvain (did not finish) and betweenness (> 420 s at 64 "
                                            "sources) are impractical at 1M edges; --networkx-1m runs the rest"}
        graphs[graph] = entry
    text = json.dumps(results, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
