"""The contract every graph store implements; one contract test suite runs over all of them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from kgweave.graph_store.models import (
    Entity,
    EntityMerge,
    GraphDelta,
    GraphSnapshot,
    Iteration,
    Relation,
    Run,
    StoreCounts,
    WriteStats,
)
from kgweave.graph_store.vectors import EmbeddingRows, Vector

__all__ = ["GraphStore"]


@runtime_checkable
class GraphStore(Protocol):
    """A place that holds the graph. Every write is an idempotent merge on content-addressed ids."""

    url: str

    def ensure_schema(self) -> None:
        """Create tables/constraints/indexes if missing; safe to call any number of times."""

    def upsert(self, delta: GraphDelta) -> WriteStats:
        """Merge one batch in one transaction; rows already present are merged, never duplicated."""

    def documents_done(self, document_ids: Iterable[str], fingerprint: str) -> set[str]:
        """Ids among ``document_ids`` already fully written with this extraction fingerprint."""

    def get_entity(self, entity_id: str) -> Entity | None:
        """The entity with this id, or None."""

    def find_entities(self, name: str, limit: int = 10) -> list[Entity]:
        """Entities whose normalised name equals the normalised ``name``."""

    def neighbours(self, entity_id: str, hops: int = 1) -> tuple[list[Entity], list[Relation]]:
        """Entities within ``hops`` of the entity (itself included) and the relations among them."""

    def snapshot(self, run_id: str | None = None, iteration: int | None = None) -> GraphSnapshot:
        """The whole entity graph (nodes with support, edges with support), collapsed by the merges:
        aliases left out, their edges re-pointed to the canonical and their support added to it.

        With ``run_id`` (and optionally ``iteration``): the graph as it was at the end of that run,
        rebuilt from write provenance (:mod:`graph_store.history`); UnknownRunError if no such run.
        """

    def write_node_metrics(self, metrics: Mapping[str, Mapping[str, float]]) -> int:
        """Store per-node metrics ({entity id: {metric: value}}); returns nodes updated."""

    def node_metrics(self, entity_id: str) -> dict[str, float]:
        """Metrics stored for one node."""

    def counts(self) -> StoreCounts:
        """Totals and per-label / per-relation-type counts."""

    def record_merges(self, merges: Sequence[EntityMerge]) -> int:
        """Record entity merges (idempotent upsert); returns merge records created or changed.

        Every alias ends up pointing at a final canonical (see :func:`graph_store.merges.apply_merges`);
        a merge naming an entity that is not in the store is rejected whole (GraphStoreError).
        """

    def remove_merges(self, run_id: str | None = None, alias_ids: Iterable[str] | None = None) -> int:
        """Reverse merges: those of ``run_id`` and/or of ``alias_ids`` (both None: all); returns how many."""

    def merges(self) -> list[EntityMerge]:
        """Every recorded merge, ordered by alias id."""

    def record_run(self, run: Run) -> None:
        """Insert or replace the run record (same id = same run)."""

    def runs(self) -> Iterator[Run]:
        """All runs, oldest first."""

    def record_iteration(self, iteration: Iteration) -> None:
        """Insert or replace one iteration's state."""

    def iterations(self, run_id: str) -> Iterator[Iteration]:
        """A run's iterations in order."""

    def entities(self, label: str | None = None) -> Iterator[Entity]:
        """Every entity (aliases of merges included), or those of one ``label``, ordered by id."""

    def write_embeddings(self, model: str, vectors: EmbeddingRows) -> int:
        """Store ``{entity id: (text hash, vector)}`` for ``model``, replacing older vectors of those
        entities; ids not in the store are skipped; one dimension per model. Returns entities written."""

    def embeddings(self, model: str, ids: Iterable[str] | None = None) -> dict[str, Vector]:
        """``{entity id: float32 vector}`` stored for ``model`` (all, or those among ``ids``)."""

    def embedding_hashes(self, model: str) -> dict[str, str]:
        """``{entity id: text hash}`` of the vectors stored for ``model`` (to re-embed changed text only)."""

    def delete_embeddings(self, model: str, ids: Iterable[str]) -> int:
        """Drop the vectors of ``model`` stored for ``ids`` (a vector whose text is stale); returns how many."""

    def clear(self) -> None:
        """Delete the whole graph (keeps the schema)."""

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
