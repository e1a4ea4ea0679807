"""Agentic expansion: time per iteration outside the LLM call as the graph grows, and a long run.

Part 1 starts a ``--from-store`` expansion on a Barabasi-Albert graph (m = 2) of 1k, 10k and 100k
nodes in a SQLite store and runs the real iteration step (:meth:`flows.expand_graph._Loop.step`:
policy, prompt, answer conversion, store write, incremental graph update, every metric, the
iteration record) with an in-process stand-in for the LLM, so ``overhead_seconds`` is everything
but the model. It reports mean, median and max per policy, the iterations where Leiden ran from
scratch separately, and, side by side, what one full reload of the graph (store snapshot + graph
rebuild: what a non-incremental loop pays every iteration before any metric) costs at that size.

Part 2 runs ``--iterations 500`` end to end (real openai client over HTTP) against the test LLM
server (tests/llm_server.py) and reports the graph it grew.

Prints one JSON object. ``python benchmarks/expansion_overhead.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import igraph as ig  # noqa: E402

from kgweave.agents.expansion import ExpansionAnswer  # noqa: E402
from kgweave.agents.expansion_loop import ExpansionLimits, ExpansionSettings, _Loop, expand  # noqa: E402
from kgweave.agents.llm_client import CallResult, LLMConfig  # noqa: E402
from kgweave.agents.schemas import strict_json_schema  # noqa: E402
from kgweave.analysis.evolution import EvolvingGraph  # noqa: E402
from kgweave.graph_store.models import Entity, GraphDelta, Relation  # noqa: E402
from kgweave.graph_store.sqlite_store import SQLiteGraphStore  # noqa: E402
from tests.llm_server import LLMTestServer, answer  # noqa: E402

TARGETS_S = {1_000: None, 10_000: 0.1, 100_000: 1.0}


class StandInLLM:
    """Answers like the test server, in process (no HTTP): the step's LLM window is excluded anyway."""

    def __init__(self) -> None:
        self.schema = strict_json_schema(ExpansionAnswer)

    async def complete_json(self, messages, schema_model, schema_name, prompt_version):  # type: ignore[no-untyped-def]
        body = {"messages": messages,
                "response_format": {"type": "json_schema", "json_schema": {"schema": self.schema}}}
        return CallResult(value=ExpansionAnswer.model_validate_json(answer(body)), attempts=1)

    async def aclose(self) -> None:
        return None


def base_store(path: Path, nodes: int) -> SQLiteGraphStore:
    """A store holding a Barabasi-Albert graph (m = 2) written as one build run."""
    graph = ig.Graph.Barabasi(nodes, 2, directed=False)
    entities = [Entity.named(f"concept {i}") for i in range(nodes)]
    relations = [Relation.between(entities[u].id, "RELATED_TO", entities[v].id) for u, v in graph.get_edgelist()]
    store = SQLiteGraphStore(path)
    from kgweave.graph_store.models import Run

    store.record_run(Run(id="base", kind="import", status="completed"))
    store.upsert(GraphDelta(run_id="base", extractor="import", entities=tuple(entities), relations=tuple(relations)))
    return store


def overhead(store: SQLiteGraphStore, policy: str, iterations: int) -> dict[str, object]:
    settings = ExpansionSettings(seed="benchmark topic", policy=policy, from_store=True)
    llm = LLMConfig(base_url="http://unused/v1", model="stand-in", cache_dir=None)
    loop = _Loop(store, f"bench-{policy}", settings, ExpansionLimits(iterations=iterations), llm)
    began = time.perf_counter()
    loop.load(resume=False)
    load_s = time.perf_counter() - began
    fake = StandInLLM()
    with asyncio.Runner() as runner:
        records = [loop.step(runner, fake, i) for i in range(1, iterations + 1)]  # type: ignore[arg-type]
    plain = [r.overhead_seconds for r in records if not r.communities_refreshed]
    refreshed = [r.overhead_seconds for r in records if r.communities_refreshed]
    every = [r.overhead_seconds for r in records]
    return {
        "iterations": iterations, "load_once_s": round(load_s, 3), "nodes_after": records[-1].nodes,
        "edges_after": records[-1].edges,
        "mean_s": round(statistics.fmean(every), 4), "median_s": round(statistics.median(every), 4),
        "max_s": round(max(every), 4),
        "mean_without_leiden_s": round(statistics.fmean(plain), 4) if plain else None,
        "mean_with_leiden_s": round(statistics.fmean(refreshed), 4) if refreshed else None,
        "leiden_iterations": len(refreshed),
    }


def full_reload_s(store: SQLiteGraphStore) -> float:
    """One non-incremental reload: the store's snapshot and the graph rebuilt from it."""
    began = time.perf_counter()
    snapshot = store.snapshot()
    graph = EvolvingGraph()
    graph.add(((n.id, n.name, n.label) for n in snapshot.nodes),
              ((e.id, e.source, e.type, e.target) for e in snapshot.edges), 0)
    return time.perf_counter() - began


def long_run(iterations: int, folder: Path, policy: str) -> dict[str, object]:
    with LLMTestServer() as server:
        config = LLMConfig(base_url=server.base_url, model="kgweave-test-model", cache_dir=folder / f"cache-{policy}")
        store = SQLiteGraphStore(folder / f"long-{policy}.db")
        began = time.perf_counter()
        summary = expand(store, "long", ExpansionSettings(seed="impact-resistant materials", policy=policy),
                         ExpansionLimits(iterations=iterations), config)
        seconds = time.perf_counter() - began
        store.close()
    last = summary.iterations[-1]
    overheads = [r.overhead_seconds for r in summary.iterations[1:]]
    return {
        "iterations": last.iteration, "stopped_because": summary.stopped_because, "seconds": round(seconds, 2),
        "llm_calls": summary.llm_calls, "requests_served": len(server.chat_requests), "nodes": last.nodes,
        "edges": last.edges, "modularity": last.modularity, "communities": last.communities,
        "power_law_alpha": last.power_law_alpha, "power_law_xmin": last.power_law_xmin,
        "average_shortest_path": last.average_shortest_path, "clustering": last.clustering,
        "largest_component_share": last.largest_component_share,
        "top_hubs": [h.model_dump() for h in last.top_hubs[:3]],
        "mean_overhead_s": round(statistics.fmean(overheads), 4), "max_overhead_s": round(max(overheads), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1k and 10k only, 100 long-run iterations")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="graph sizes (default 1k 10k 100k)")
    parser.add_argument("--no-long-run", action="store_true", help="skip the 500-iteration run")
    args = parser.parse_args()
    sizes = args.sizes or ([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000])
    result: dict[str, object] = {
        "benchmark": "expansion_overhead", "python": platform.python_version(), "igraph": ig.__version__,
        "cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "policies": ["frontier", "hub", "bridge", "path", "random"], "sizes": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for nodes in sizes:
            base = folder / f"base-{nodes}.db"
            base_store(base, nodes).close()
            per_policy = {}
            for policy in ("frontier", "hub", "bridge", "path", "random"):  # each on a fresh copy of the base
                copy = folder / f"{policy}-{nodes}.db"
                shutil.copyfile(base, copy)
                with SQLiteGraphStore(copy) as store:
                    per_policy[policy] = overhead(store, policy, 20)
            store = SQLiteGraphStore(base)
            reload_s = full_reload_s(store)
            worst = max(float(p["mean_s"]) for p in per_policy.values())  # type: ignore[arg-type]
            target = TARGETS_S.get(nodes)
            result["sizes"][str(nodes)] = {  # type: ignore[index]
                "policies": per_policy, "full_reload_s": round(reload_s, 3),
                "full_reload_over_worst_mean_overhead": round(reload_s / worst, 1),
                "target_s": target, "worst_mean_over_target": None if target is None else round(worst / target, 3),
            }
            store.close()
        if not args.no_long_run:
            result["long_run"] = {policy: long_run(100 if args.quick else 500, folder, policy)
                                  for policy in ("frontier", "hub", "bridge", "path", "random")}
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews times
    print(json.dumps(result))


if __name__ == "__main__":
    main()
