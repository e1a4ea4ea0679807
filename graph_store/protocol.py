"""The contract every graph store implements, grouped by role; one contract test suite runs over all of them.

:class:`GraphStore` is every role together: lifecycle, graph writes, graph reads, runs, merges and
embeddings. Roles only some stores have (:class:`VectorSearch`, :class:`PushSource`) are declared
as :class:`~graph_store.capabilities.Capability` values and reached through :func:`vector_search`
and :func:`push_source`, which refuse a store that does not declare them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Protocol, cast, runtime_checkable

from kgweave.graph_store.capabilities import Capability
from kgweave.graph_store.errors import UnsupportedCapabilityError
from kgweave.graph_store.models import (
    Chunk,
    Entity,
    EntityMerge,
    GraphDelta,
    GraphSnapshot,
    Iteration,
    Provenance,
    Relation,
    Run,
    StoreCounts,
    WriteStats,
)
from kgweave.graph_store.vectors import EmbeddingRows, Vector

__all__ = [
    "EmbeddingStore",
    "GraphReads",
    "GraphStore",
    "GraphWrites",
    "MergeLog",
    "PushSource",
    "RunLog",
    "StoreLifecycle",
    "VectorSearch",
    "push_source",
    "require",
    "vector_search",
]


@runtime_checkable
class StoreLifecycle(Protocol):
    """Where the store is, what it can do beyond :class:`GraphStore`, its schema and its teardown."""

    url: str
    capabilities: frozenset[Capability]  # declared once, on the store class

    def ensure_schema(self) -> None:
        """Create tables/constraints/indexes if missing; safe to call any number of times."""

    def clear(self) -> None:
        """Delete the whole graph (keeps the schema)."""

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""


@runtime_checkable
class GraphWrites(Protocol):
    """Idempotent writes of the graph and of per-node metrics."""

    def upsert(self, delta: GraphDelta) -> WriteStats:
        """Merge one batch in one transaction; rows already present are merged, never duplicated."""

    def write_node_metrics(self, metrics: Mapping[str, Mapping[str, float]]) -> int:
        """Store per-node metrics ({entity id: {metric: value}}); returns nodes updated."""

    def mark_hubs(self, ranked_ids: Sequence[str]) -> int:
        """Make ``ranked_ids`` (best first) the graph's hubs and no other entity: metric ``hub_rank`` 1..N
        (Neo4j also puts the ``:Hub`` label on them, for the style sheet); returns hubs marked."""


@runtime_checkable
class GraphReads(Protocol):
    """Reads of the graph: entities, neighbourhoods, snapshots, metrics, counts."""

    def documents_done(self, document_ids: Iterable[str], fingerprint: str) -> set[str]:
        """Ids among ``document_ids`` already fully written with this extraction fingerprint."""

    def get_entity(self, entity_id: str) -> Entity | None:
        """The entity with this id, or None."""

    def find_entities(self, name: str, limit: int = 10) -> list[Entity]:
        """Entities whose normalised name equals the normalised ``name``."""

    def neighbours(self, entity_id: str, hops: int = 1) -> tuple[list[Entity], list[Relation]]:
        """Entities within ``hops`` of the entity (itself included) and the relations among them."""

    def entities(self, label: str | None = None) -> Iterator[Entity]:
        """Every entity (aliases of merges included), or those of one ``label``, ordered by id."""

    def snapshot(self, run_id: str | None = None, iteration: int | None = None) -> GraphSnapshot:
        """The whole entity graph (nodes with support, edges with support), collapsed by the merges:
        aliases left out, their edges re-pointed to the canonical and their support added to it.

        With ``run_id`` (and optionally ``iteration``): the graph as it was at the end of that run,
        rebuilt from write provenance (:mod:`graph_store.history`); UnknownRunError if no such run.
        """

    def node_metrics(self, entity_id: str) -> dict[str, float]:
        """Metrics stored for one node."""

    def counts(self) -> StoreCounts:
        """Totals and per-label / per-relation-type / per-origin counts."""

    def provenance(self) -> Provenance:
        """Documents, chunks, mentions and relation observations (with their mention spans), ordered by id."""

    def incident_relations(self, entity_ids: Iterable[str]) -> list[tuple[Relation, int]]:
        """Relations with either end among ``entity_ids`` (merges not applied) and their support, ordered by id."""

    def relation_evidence(self, relations: Iterable[Relation]) -> list[Relation]:
        """The observations of ``relations`` (evidence chunk and sentence, mention spans), ordered by
        relation id then chunk id; observations without a chunk are left out."""

    def chunks(self, chunk_ids: Iterable[str]) -> list[Chunk]:
        """The chunks with these ids, ordered by id (unknown ids are skipped)."""


@runtime_checkable
class RunLog(Protocol):
    """Runs and their iterations (what wrote the graph, and when)."""

    def record_run(self, run: Run) -> None:
        """Insert or replace the run record (same id = same run)."""

    def runs(self) -> Iterator[Run]:
        """All runs, oldest first."""

    def record_iteration(self, iteration: Iteration) -> None:
        """Insert or replace one iteration's state."""

    def iterations(self, run_id: str) -> Iterator[Iteration]:
        """A run's iterations in order."""


@runtime_checkable
class MergeLog(Protocol):
    """Entity merges (alias -> canonical), recorded beside the rows they collapse."""

    def record_merges(self, merges: Sequence[EntityMerge]) -> int:
        """Record entity merges (idempotent upsert); returns merge records created or changed.

        Every alias ends up pointing at a final canonical (see :func:`graph_store.merges.apply_merges`);
        a merge naming an entity that is not in the store is rejected whole (GraphStoreError).
        """

    def remove_merges(self, run_id: str | None = None, alias_ids: Iterable[str] | None = None) -> int:
        """Reverse merges: those of ``run_id`` and/or of ``alias_ids`` (both None: all); returns how many."""

    def merges(self) -> list[EntityMerge]:
        """Every recorded merge, ordered by alias id."""


@runtime_checkable
class EmbeddingStore(Protocol):
    """One vector per (entity, model), with the hash of the text it was computed from."""

    def write_embeddings(self, model: str, vectors: EmbeddingRows) -> int:
        """Store ``{entity id: (text hash, vector)}`` for ``model``, replacing older vectors of those
        entities; ids not in the store are skipped; one dimension per model. Returns entities written."""

    def embeddings(self, model: str, ids: Iterable[str] | None = None) -> dict[str, Vector]:
        """``{entity id: float32 vector}`` stored for ``model`` (all, or those among ``ids``)."""

    def embedding_hashes(self, model: str) -> dict[str, str]:
        """``{entity id: text hash}`` of the vectors stored for ``model`` (to re-embed changed text only)."""

    def delete_embeddings(self, model: str, ids: Iterable[str]) -> int:
        """Drop the vectors of ``model`` stored for ``ids`` (a vector whose text is stale); returns how many."""


@runtime_checkable
class GraphStore(StoreLifecycle, GraphWrites, GraphReads, RunLog, MergeLog, EmbeddingStore, Protocol):
    """A place that holds the graph. Every write is an idempotent merge on content-addressed ids."""


# -- optional roles, declared as capabilities ---------------------------------------------------------

@runtime_checkable
class VectorSearch(Protocol):
    """Nearest-neighbour search on a vector index (:attr:`Capability.VECTOR_SEARCH`)."""

    def nearest(self, model: str, vector: Vector, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` entities whose ``model`` vectors are nearest to ``vector``: (id, cosine score), best first."""


@runtime_checkable
class PushSource(Protocol):
    """A store that exports itself for ``kgweave push`` (:attr:`Capability.PUSH_SOURCE`)."""

    def export_deltas(self, batch_rows: int = 5000, skip_documents: Collection[str] = ()) -> Iterator[GraphDelta]:
        """The whole graph but ``skip_documents`` as deltas of about ``batch_rows`` rows that rebuild it,
        provenance included, in another store; a document's done marks come after all of it."""

    def done_fingerprints(self) -> dict[str, tuple[str, ...]]:
        """Every extraction fingerprint with the ids of the documents it marks done."""

    def document_count(self) -> int:
        """How many documents the store holds."""

    def all_node_metrics(self) -> dict[str, dict[str, float]]:
        """Every stored node metric, ``{entity id: {metric: value}}``."""


def require(store: StoreLifecycle, capability: Capability) -> None:
    """Raise UnsupportedCapabilityError unless ``store`` declares ``capability``."""
    if capability not in store.capabilities:
        raise UnsupportedCapabilityError(
            f"store {store.url} cannot {capability.task}: it does not declare {capability.value!r}"
        )


def vector_search(store: GraphStore) -> VectorSearch:
    """``store`` as a :class:`VectorSearch`; UnsupportedCapabilityError if it does not declare one."""
    require(store, Capability.VECTOR_SEARCH)
    return cast(VectorSearch, store)


def push_source(store: GraphStore) -> PushSource:
    """``store`` as a :class:`PushSource`; UnsupportedCapabilityError if it does not declare one."""
    require(store, Capability.PUSH_SOURCE)
    return cast(PushSource, store)
