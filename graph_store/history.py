"""The graph as it was at the end of a run, or of one iteration of it, rebuilt from write provenance.

Stores never delete on a build: every entity and relation keeps the run (and iteration) that first
wrote it, and merges keep the run that recorded them. So the graph after run R is the rows first
written by R or by a run started before it, collapsed by the merges of those runs. Support counts
are today's (a later run that saw a relation again raises its support), which is what the structure
comparisons (nodes, edges, communities, hubs by degree) do not use.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from kgweave.graph_store.errors import GraphStoreError
from kgweave.graph_store.merges import collapse
from kgweave.graph_store.models import EntityMerge, GraphSnapshot, Run, SnapshotEdge, SnapshotNode

__all__ = ["AsOf", "UnknownRunError", "as_of", "parse_run_ref", "snapshot_as_of"]


class UnknownRunError(GraphStoreError, LookupError):
    """No run with this id is recorded in the store."""


class AsOf(BaseModel):
    """A point in a store's history: the end of ``run_id`` (or of its ``iteration``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    iteration: int | None = Field(default=None, ge=0)
    earlier_runs: frozenset[str] = Field(description="Runs started before run_id (ordered as store.runs()).")

    def keeps(self, first_run: str | None, first_iteration: int | None) -> bool:
        """Whether a row first written by (first_run, first_iteration) existed at this point."""
        if first_run is None or first_run in self.earlier_runs:
            return True
        if first_run != self.run_id:
            return False
        return self.iteration is None or first_iteration is None or first_iteration <= self.iteration

    def includes_run(self, run_id: str) -> bool:
        return run_id == self.run_id or run_id in self.earlier_runs


def as_of(runs: Iterable[Run], run_id: str, iteration: int | None = None) -> AsOf:
    """The point at the end of ``run_id``; ``runs`` in the store's order (oldest first).

    Raises
    ------
    UnknownRunError
        If no run has this id.
    """
    earlier: list[str] = []
    for run in runs:
        if run.id == run_id:
            return AsOf(run_id=run_id, iteration=iteration, earlier_runs=frozenset(earlier))
        earlier.append(run.id)
    raise UnknownRunError(f"no run {run_id!r} in this store (see kgweave stats: runs)")


def parse_run_ref(ref: str) -> tuple[str, int | None]:
    """``RUN_ID`` or ``RUN_ID:ITERATION`` -> (run id, iteration or None)."""
    run_id, sep, tail = ref.rpartition(":")
    if sep and run_id and tail.isdigit():
        return run_id, int(tail)
    return ref, None


def snapshot_as_of(
    point: AsOf,
    nodes: Iterable[tuple[SnapshotNode, str | None, int | None]],
    edges: Iterable[tuple[SnapshotEdge, str | None, int | None]],
    merges: Iterable[EntityMerge],
) -> GraphSnapshot:
    """The collapsed snapshot at ``point`` from rows carrying (row, first_run, first_iteration).

    An edge is kept when it and both its ends existed at the point. O(nodes + edges).
    """
    kept_nodes = [node for node, run, iteration in nodes if point.keeps(run, iteration)]
    ids = {node.id for node in kept_nodes}
    kept_edges = [edge for edge, run, iteration in edges
                  if point.keeps(run, iteration) and edge.source in ids and edge.target in ids]
    return collapse(kept_nodes, kept_edges, [m for m in merges if point.includes_run(m.run_id)])
