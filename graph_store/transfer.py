"""Copy a graph from a push source (the embedded store) into another store (``kgweave push``), idempotently."""

from __future__ import annotations

from kgweave.graph_store.models import WriteStats
from kgweave.graph_store.protocol import GraphStore, push_source

__all__ = ["push"]


def push(source: GraphStore, target: GraphStore, batch_documents: int = 500) -> dict[str, int]:
    """Merge everything in ``source`` into ``target``: graph, provenance, runs, merges, node metrics.

    Every write is a merge on the same content-addressed ids, so pushing twice changes nothing and
    pushing into a graph that already holds part of it adds only the rest. A ``source`` that does
    not declare ``Capability.PUSH_SOURCE`` is refused (UnsupportedCapabilityError) before any write.
    """
    exporter = push_source(source)
    created = {name: 0 for name in WriteStats.model_fields}
    batches = 0
    for delta in exporter.export_deltas(batch_documents):
        stats = target.upsert(delta)
        batches += 1
        for name in created:
            created[name] += getattr(stats, name)
    runs = 0
    for run in source.runs():
        target.record_run(run)
        runs += 1
        for iteration in source.iterations(run.id):
            target.record_iteration(iteration)
    merges = target.record_merges(source.merges())
    metrics = exporter.all_node_metrics()
    if metrics:
        target.write_node_metrics(metrics)
    return {"batches": batches, **{f"new_{k}": v for k, v in created.items()}, "runs": runs,
            "merges": merges, "nodes_with_metrics": len(metrics)}
