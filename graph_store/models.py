"""The graph's data model: frozen pydantic models with content-addressed ids.

A build turns documents into a :class:`GraphDelta` (what one batch adds); a store merges deltas
idempotently. Aggregates such as an entity's support are computed by the store from the mention
and evidence rows, so writing the same delta twice changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from kgweave.graph_store.ids import (
    LABEL_PATTERN,
    RELATION_TYPE_PATTERN,
    chunk_id,
    document_id,
    entity_id,
    mention_id,
    relation_id,
)

__all__ = [
    "Chunk",
    "Document",
    "Entity",
    "EntityMerge",
    "GraphDelta",
    "GraphSnapshot",
    "Iteration",
    "Mention",
    "Provenance",
    "RELATION_ORIGINS",
    "Relation",
    "RelationOrigin",
    "Run",
    "SnapshotEdge",
    "SnapshotNode",
    "StoreCounts",
    "WriteStats",
    "utc_now",
]

Label = Annotated[str, StringConstraints(pattern=LABEL_PATTERN.pattern)]
RelationOrigin = Literal["extracted", "record", "imported"]
RELATION_ORIGINS: tuple[RelationOrigin, ...] = ("extracted", "record", "imported")
RelationType = Annotated[str, StringConstraints(pattern=RELATION_TYPE_PATTERN.pattern)]
Scalar = str | int | float | bool | None


def utc_now() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Document(_Frozen):
    """A source text. ``id`` is the hash of ``text``."""

    id: str
    text: str
    source: str = Field(description="Where the text came from: path, or path#record.")
    title: str | None = None
    metadata: dict[str, Scalar] = Field(default_factory=dict)

    @classmethod
    def from_text(
        cls, text: str, source: str, title: str | None = None, metadata: dict[str, Scalar] | None = None
    ) -> Document:
        return cls(id=document_id(text), text=text, source=source, title=title, metadata=metadata or {})


class Chunk(_Frozen):
    """The span ``text == document.text[start:end]`` of a document."""

    id: str
    document_id: str
    index: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str

    @classmethod
    def of(cls, doc: Document, index: int, start: int, end: int) -> Chunk:
        return cls(
            id=chunk_id(doc.id, start, end),
            document_id=doc.id,
            index=index,
            start=start,
            end=end,
            text=doc.text[start:end],
        )


class Entity(_Frozen):
    """A node of the knowledge graph (a concept, character, researcher, paper...)."""

    id: str
    name: str = Field(min_length=1)
    label: Label = "Concept"
    description: str | None = None
    properties: dict[str, Scalar] = Field(default_factory=dict)

    @classmethod
    def named(cls, name: str, label: str = "Concept", **kwargs: object) -> Entity:
        return cls(id=entity_id(name, label), name=name, label=label, **kwargs)  # type: ignore[arg-type]


class EntityMerge(_Frozen):
    """A recorded decision that ``alias_id`` and ``canonical_id`` name one thing.

    Rows are never rewritten by a merge: stores keep both entities and show the collapsed graph
    (the alias's edges and support moved to the canonical), so a merge is reversed by removing its
    record. ``method`` says which layer decided (exact, acronym, embedding, llm); ``score`` is the
    cosine similarity or 1.0.
    """

    alias_id: str = Field(min_length=1)
    canonical_id: str = Field(min_length=1)
    score: float = Field(default=1.0, ge=0.0, le=1.0)
    method: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")] = "exact"
    run_id: str = Field(min_length=1)

    @model_validator(mode="after")
    def _not_self(self) -> EntityMerge:
        if self.alias_id == self.canonical_id:
            raise ValueError("an entity cannot be merged into itself")
        return self


class Mention(_Frozen):
    """An entity seen at ``[start, end)`` (document offsets) inside a chunk."""

    id: str
    entity_id: str
    chunk_id: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str

    @classmethod
    def of(cls, ent_id: str, chk_id: str, start: int, end: int, text: str) -> Mention:
        return cls(
            id=mention_id(ent_id, chk_id, start), entity_id=ent_id, chunk_id=chk_id,
            start=start, end=end, text=text,
        )


class Relation(_Frozen):
    """One observation of a typed, directed relation, with the chunk and sentence it came from.

    The store keeps one relation per ``id`` and one evidence row per (id, chunk); the relation's
    support is the number of distinct chunks that evidence it. An observation names the two mention
    spans it connects (``source_start``..``target_end``, document offsets) when they are known: all
    four or none. ``origin`` says how the relation was written: ``extracted`` (by an extractor from a
    text, or by the expansion agent), ``record`` (stated by a structured record: a paper's authors,
    citations, reviews, and its ``MENTIONS`` of the concepts extracted from its text) or ``imported``
    (from an outside graph file); a store keeps the origin of a relation's first write.
    """

    id: str
    source_id: str
    target_id: str
    type: RelationType
    chunk_id: str | None = Field(default=None, description="Evidence chunk; None for imported edges.")
    evidence: str | None = None
    properties: dict[str, Scalar] = Field(default_factory=dict)
    origin: RelationOrigin = "extracted"
    source_start: int | None = Field(default=None, ge=0, description="Source mention span start (document).")
    source_end: int | None = Field(default=None, ge=0)
    target_start: int | None = Field(default=None, ge=0, description="Target mention span start (document).")
    target_end: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _id_matches(self) -> Relation:
        if self.id != relation_id(self.source_id, self.type, self.target_id):
            raise ValueError("relation id must be relation_id(source_id, type, target_id)")
        spans = self.mention_spans
        known = (self.source_start, self.source_end, self.target_start, self.target_end)
        if spans is None and any(x is not None for x in known):
            raise ValueError("mention spans need all of source_start, source_end, target_start, target_end")
        if spans is not None and (self.chunk_id is None or any(s > e for s, e in spans)):
            raise ValueError("mention spans need an evidence chunk and start <= end")
        return self

    @property
    def mention_spans(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """((source start, end), (target start, end)) of the mentions this observation connects, if known."""
        s0, s1, t0, t1 = self.source_start, self.source_end, self.target_start, self.target_end
        if s0 is None or s1 is None or t0 is None or t1 is None:
            return None
        return (s0, s1), (t0, t1)

    @classmethod
    def between(cls, source_id: str, rel_type: str, target_id: str, **kwargs: object) -> Relation:
        return cls(
            id=relation_id(source_id, rel_type, target_id),
            source_id=source_id, target_id=target_id, type=rel_type, **kwargs,  # type: ignore[arg-type]
        )


class Run(_Frozen):
    """One execution of a flow, with its parameters and outcome."""

    id: str
    kind: str = Field(description="build, import, expand, analyze...")
    started_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None
    status: str = "running"
    extractor: str | None = None
    model: str | None = None
    parameters: dict[str, Scalar] = Field(default_factory=dict)
    summary: dict[str, Scalar] = Field(default_factory=dict)


class Iteration(_Frozen):
    """The graph's recorded state after one iteration of a run (agentic expansion)."""

    run_id: str
    iteration: int = Field(ge=0)
    metrics: dict[str, Scalar] = Field(default_factory=dict)


class GraphDelta(_Frozen):
    """What one batch adds to the graph; merged into a store by ``upsert``."""

    run_id: str
    extractor: str
    model: str | None = None
    fingerprint: str | None = Field(
        default=None, description="Extraction settings hash; marks done_documents as done for resume."
    )
    done_documents: tuple[str, ...] = Field(
        default=(), description="Ids of documents fully extracted in this delta (marked with fingerprint)."
    )
    iteration: int | None = None
    documents: tuple[Document, ...] = ()
    chunks: tuple[Chunk, ...] = ()
    entities: tuple[Entity, ...] = ()
    mentions: tuple[Mention, ...] = ()
    relations: tuple[Relation, ...] = ()


class Provenance(_Frozen):
    """The texts behind a graph: documents, their chunks, the mentions in them and the relation
    observations they evidence (one :class:`Relation` per relation and evidence chunk, with its mention
    spans where known). Relations written without a chunk are not observations and are left out."""

    documents: tuple[Document, ...] = ()
    chunks: tuple[Chunk, ...] = ()
    mentions: tuple[Mention, ...] = ()
    relations: tuple[Relation, ...] = ()


class WriteStats(_Frozen):
    """What an upsert changed: rows newly created (merged rows are not counted)."""

    documents: int = 0
    chunks: int = 0
    entities: int = 0
    mentions: int = 0
    relations: int = 0


class StoreCounts(_Frozen):
    """Totals in a store, with per-label and per-relation-type breakdowns.

    ``entities``, ``relations``, ``labels`` and ``relation_types`` count the collapsed graph (as
    ``snapshot``): aliases of merged entities are left out and their edges re-pointed.
    """

    documents: int
    chunks: int
    entities: int
    relations: int
    mentions: int
    runs: int
    labels: dict[str, int]
    relation_types: dict[str, int]
    merged_entities: int = Field(default=0, description="Entities hidden as aliases of another (merges).")
    relation_origins: dict[str, int] = Field(
        default_factory=dict, description="Relations per origin: extracted, record, imported (see Relation)."
    )


class SnapshotNode(_Frozen):
    id: str
    name: str
    label: str
    support: int = 0


class SnapshotEdge(_Frozen):
    id: str
    source: str
    target: str
    type: str
    support: int = 1
    origin: RelationOrigin = "extracted"


class GraphSnapshot(_Frozen):
    """The entity graph at one moment, for analysis and export."""

    nodes: tuple[SnapshotNode, ...]
    edges: tuple[SnapshotEdge, ...]
