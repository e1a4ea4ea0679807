"""Copy a graph from a push source (the embedded store) into another store (``kgweave push``), idempotently."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from kgweave.graph_store.models import WriteStats
from kgweave.graph_store.protocol import GraphStore, PushSource, push_source
from kgweave.graph_store.store_helpers import HUB_RANK

__all__ = ["DEFAULT_PUSH_BATCH_ROWS", "PushProgress", "push"]

DEFAULT_PUSH_BATCH_ROWS = 5000
PushProgress = Callable[[str, int, int | None], None]  # (stage, done, total or None when unknown)


def push(source: GraphStore, target: GraphStore, batch_rows: int = DEFAULT_PUSH_BATCH_ROWS,
         progress: PushProgress | None = None) -> dict[str, int]:
    """Merge everything in ``source`` into ``target``: graph, provenance, runs, merges, node metrics.

    One transaction per delta of about ``batch_rows`` rows, so a push that is stopped keeps every batch
    it committed. Every write is a merge on the same content-addressed ids, so pushing twice changes
    nothing and pushing into a graph that already holds part of it adds only the rest; documents the
    target already has done under every fingerprint the source marks them with (a batch's done marks
    are written after all of it) are skipped, which is how a re-run resumes. A ``source`` that does not
    declare ``Capability.PUSH_SOURCE`` is refused (UnsupportedCapabilityError) before any write.
    ``progress(stage, done, total)`` hears of documents, then of the rows without a document.
    """
    exporter = push_source(source)
    skip = _documents_done_in(target, exporter, batch_rows)
    total_documents = exporter.document_count() - len(skip)
    created = Counter({name: 0 for name in WriteStats.model_fields})
    batches = documents = rows = 0
    for delta in exporter.export_deltas(batch_rows, skip_documents=skip):
        stats = target.upsert(delta)
        batches += 1
        created.update(stats.model_dump())
        if delta.documents or delta.chunks or delta.mentions or delta.done_documents:
            documents += len(delta.documents)
            if progress:
                progress("documents", documents, total_documents)
        else:
            rows += len(delta.entities) + len(delta.relations)
            if progress:
                progress("records", rows, None)
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
        hubs = sorted((values[HUB_RANK], node) for node, values in metrics.items() if HUB_RANK in values)
        if hubs:  # the target's own mark (Neo4j: the :Hub label) follows the source's hub_rank
            target.mark_hubs([node for _, node in hubs])
    return {"batches": batches, "skipped_documents": len(skip),
            **{f"new_{k}": created[k] for k in WriteStats.model_fields}, "runs": runs,
            "merges": merges, "nodes_with_metrics": len(metrics)}


def _documents_done_in(target: GraphStore, exporter: PushSource, batch_rows: int) -> set[str]:
    """Documents the target has done under every fingerprint the source marks them with."""
    wanted: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for fingerprint, ids in exporter.done_fingerprints().items():
        wanted.update(ids)
        for start in range(0, len(ids), batch_rows):
            found.update(target.documents_done(ids[start:start + batch_rows], fingerprint))
    return {doc_id for doc_id, count in wanted.items() if found[doc_id] == count}
