"""An expansion run's records in the store, and the report drawn from them (no Prefect needed).

Each iteration's record holds its metrics, its focus and its delta (the entities and relations it
touched), so replaying the records in order rebuilds the graph at any iteration: the expand-graph flow
resumes from them and ``kgweave report`` draws its plots from them without starting Prefect.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from kgweave.analysis.evolution import (
    EvolvingGraph,
    IterationMetrics,
    MetricOptions,
    plot_degree_distributions,
    plot_hub_emergence,
    plot_modularity,
    plot_size,
)
from kgweave.graph_store.models import GraphDelta, GraphSnapshot, Iteration, Run

if TYPE_CHECKING:
    from kgweave.graph_store.protocol import GraphStore

__all__ = [
    "REPORT_FILES",
    "ExpansionError",
    "ExpansionSettings",
    "IterationRecord",
    "StoredIteration",
    "add_snapshot",
    "base_snapshot",
    "find_run",
    "from_iteration",
    "load_records",
    "settings_of",
    "to_iteration",
    "write_expansion_report",
]

REPORT_FILES = ("nodes_edges.png", "modularity.png", "degree_distribution.png", "hub_emergence.png")


class ExpansionError(ValueError):
    """Bad expansion input: empty seed, unknown policy, unknown or foreign run to resume."""


class ExpansionSettings(BaseModel):
    """What defines a run's graph (kept in the run record; a resume reads them back)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: str | None = Field(default=None, description="Topic the graph grows from (optional with from_store).")
    policy: str = Field(default="frontier", description="frontier, bridge, hub, path or random.")
    from_store: bool = Field(default=False, description="Start from the store's whole graph, not the seed alone.")
    rng_seed: int = Field(default=0, description="Seed of the policy's random choices, samples and Leiden.")
    hops: int = Field(default=2, ge=1, le=4, description="Neighbourhood shown in the prompt (hops from the focus).")
    context_relations: int = Field(default=40, ge=0, le=400, description="Known relations shown at most.")
    metrics: MetricOptions = Field(default_factory=MetricOptions, description="Sampling of per-iteration metrics.")


class IterationRecord(IterationMetrics):
    """One iteration as the run's JSON, the store and the artifacts show it."""

    iteration: int
    focus: list[str] = Field(description="Names of the focus nodes.")
    llm_calls: int = 0
    cached_llm_calls: int = 0
    tokens: int = 0
    dropped_concepts: int = 0
    dropped_relations: int = 0
    error: str | None = None
    seconds: float = Field(default=0.0, description="Wall time of the iteration.")
    overhead_seconds: float = Field(default=0.0, description="Wall time outside the LLM call.")


# -- records in the store --------------------------------------------------------------------------

_LIST_FIELDS = ("top_hubs", "top_bridges", "focus")


def to_iteration(
    run_id: str, record: IterationRecord, delta: GraphDelta | None, focus_ids: Sequence[str]
) -> Iteration:
    metrics: dict[str, str | int | float | bool | None] = {}
    for key, value in record.model_dump(mode="json").items():
        metrics[key] = json.dumps(value, ensure_ascii=False) if key in _LIST_FIELDS else value
    entities = [] if delta is None else [[e.id, e.name, e.label] for e in delta.entities]
    relations = [] if delta is None else [[r.id, r.source_id, r.type, r.target_id] for r in delta.relations]
    metrics["delta"] = json.dumps({"focus": list(focus_ids), "entities": entities, "relations": relations},
                                  ensure_ascii=False, separators=(",", ":"))
    return Iteration(run_id=run_id, iteration=record.iteration, metrics=metrics)


class StoredIteration(BaseModel):
    record: IterationRecord
    focus_ids: list[str]
    entities: list[tuple[str, str, str]]
    relations: list[tuple[str, str, str, str]]


def from_iteration(row: Iteration) -> StoredIteration:
    metrics = dict(row.metrics)
    delta = json.loads(str(metrics.pop("delta", "{}")))
    for key in _LIST_FIELDS:
        metrics[key] = json.loads(str(metrics.get(key) or "[]"))  # type: ignore[assignment]
    return StoredIteration(record=IterationRecord.model_validate(metrics), focus_ids=delta.get("focus", []),
                   entities=[tuple(e) for e in delta.get("entities", [])],
                   relations=[tuple(r) for r in delta.get("relations", [])])


def load_records(store: GraphStore, run_id: str) -> list[IterationRecord]:
    """A run's recorded iterations, in order."""
    return [from_iteration(row).record for row in store.iterations(run_id)]


def find_run(store: GraphStore, run_id: str) -> Run | None:
    return next((run for run in store.runs() if run.id == run_id), None)


def base_snapshot(store: GraphStore, run_id: str) -> GraphSnapshot:
    """The store's graph as it was when ``run_id`` began: at the end of the run recorded before it.

    A store without history snapshots (``snapshot(run_id=...)``) gives today's graph instead.
    """
    earlier = None
    for run in store.runs():
        if run.id == run_id:
            break
        earlier = run.id
    if earlier is None:
        return GraphSnapshot(nodes=(), edges=())
    try:
        return store.snapshot(run_id=earlier)  # type: ignore[call-arg]
    except TypeError:
        return store.snapshot()


def _replay(base: GraphSnapshot | None, stored: Sequence[StoredIteration]) -> EvolvingGraph:
    graph = EvolvingGraph()
    if base is not None:
        add_snapshot(graph, base)
    for item in stored:
        graph.add(item.entities, item.relations, item.record.iteration)
    return graph


def add_snapshot(graph: EvolvingGraph, snapshot: GraphSnapshot) -> None:
    graph.add(((n.id, n.name, n.label) for n in snapshot.nodes),
              ((e.id, e.source, e.type, e.target) for e in snapshot.edges), 0)


def settings_of(run: Run) -> ExpansionSettings:
    raw = run.parameters.get("settings")
    if not isinstance(raw, str):
        raise ExpansionError(f"run {run.id!r} has no recorded expansion settings")
    return ExpansionSettings.model_validate_json(raw)


# -- report ----------------------------------------------------------------------------------------

def write_expansion_report(store: GraphStore, run_id: str, out: str | Path, snapshots: int = 4) -> list[Path]:
    """Write the run's plots (``REPORT_FILES``) and ``iterations.json`` into ``out`` from its records.

    Degree distributions (at ``snapshots`` evenly spaced iterations) and hub emergence (degree of
    the final top hubs at every iteration) come from replaying the recorded deltas. Raises
    ExpansionError for an unknown run or one with no records.
    """
    run = find_run(store, run_id)
    if run is None or run.kind != "expand":
        raise ExpansionError(f"no expansion run {run_id!r} in {store.url}")
    stored = [from_iteration(row) for row in store.iterations(run_id)]
    if not stored:
        raise ExpansionError(f"run {run_id!r} recorded no iterations")
    settings = settings_of(run)
    base = base_snapshot(store, run_id) if settings.from_store else None
    iterations = [s.record.iteration for s in stored]
    wanted = {iterations[round(k * (len(iterations) - 1) / max(snapshots - 1, 1))] for k in range(snapshots)}
    final = _replay(base, stored)  # first pass: which nodes end up the top hubs
    final_degrees = final.graph.degree()
    top_ids = [final.ids[v] for v in sorted(range(final.nodes), key=lambda v: (-final_degrees[v], v))[:5]]
    graph = EvolvingGraph()
    if base is not None:
        add_snapshot(graph, base)
    distributions: dict[int, list[int]] = {}
    hubs: dict[str, list[int]] = {final.names[final.index[i]]: [] for i in top_ids}
    for item in stored:  # second pass: their degrees over time, and the distributions asked for
        graph.add(item.entities, item.relations, item.record.iteration)
        for node_id, series in zip(top_ids, hubs.values(), strict=True):
            v = graph.index.get(node_id)
            series.append(0 if v is None else graph.graph.degree(v))
        if item.record.iteration in wanted:
            distributions[item.record.iteration] = graph.graph.degree()
    records = [s.record for s in stored]
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [
        plot_size(iterations, [r.nodes for r in records], [r.edges for r in records], folder / REPORT_FILES[0]),
        plot_modularity(iterations, [r.modularity for r in records], [r.communities for r in records],
                        folder / REPORT_FILES[1]),
        plot_degree_distributions(distributions, folder / REPORT_FILES[2]),
        plot_hub_emergence(iterations, hubs, folder / REPORT_FILES[3]),
    ]
    data = folder / "iterations.json"
    data.write_text(json.dumps([r.model_dump(mode="json") for r in records], ensure_ascii=False, indent=1), "utf-8")
    return [*paths, data]
