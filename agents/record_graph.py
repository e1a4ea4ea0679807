"""Graphs built from structured records (papers, researchers, book reviews), plus their texts to extract.

A structured source gives two things: nodes and edges that the records state outright (a paper's
authors, a review's book), and texts (abstracts, bios, review texts) whose concepts come from the
configured extractor. :class:`RecordGraph` holds both, and which record nodes *own* each text, so
that after extraction :meth:`RecordGraph.link` adds ``(owner)-[:MENTIONS]->(entity)`` for every
entity found in an owned text. Every id is content-addressed, so writing the same records twice
changes nothing. Every relation built here (the stated edges and the ``MENTIONS`` links) has origin
``record``, so stores, exports and stats tell it from the relations extractors found in the texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from kgweave.agents.pipeline import BatchResult
from kgweave.graph_store.models import Document, Entity, GraphDelta, Relation

__all__ = ["MENTIONS", "RecordGraph", "RecordGraphBuilder", "undirected"]

MENTIONS = "MENTIONS"
_T = TypeVar("_T", Document, Entity, Relation)


def undirected(source_id: str, rel_type: str, target_id: str, **kwargs: object) -> Relation:
    """A symmetric relation stored with its ends in id order, so either order gives one relation."""
    a, b = sorted((source_id, target_id))
    return Relation.between(a, rel_type, b, **kwargs)


@dataclass(frozen=True)
class RecordGraph:
    """What a structured source states (entities, relations), its texts, and who owns each text.

    ``relation_ids_of`` lists the labels of owners that also record, in their ``relation_ids``
    property, the ids of the relations extracted from their text (a review's own actant graph).
    """

    documents: tuple[Document, ...] = ()
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()
    owners: Mapping[str, tuple[Entity, ...]] = field(default_factory=dict)
    relation_ids_of: frozenset[str] = frozenset()

    def delta(self, run_id: str, extractor: str = "records") -> GraphDelta:
        """The stated part as one delta (no documents: those are written with their extraction)."""
        return GraphDelta(run_id=run_id, extractor=extractor, entities=self.entities, relations=self.relations)

    def merged(self, other: RecordGraph) -> RecordGraph:
        """This graph and ``other`` as one (for an id in both, this graph's entity, relation or text wins)."""
        owners = dict(self.owners)
        for doc, theirs in other.owners.items():
            owners[doc] = _union(owners.get(doc, ()), theirs)
        return RecordGraph(documents=_union(self.documents, other.documents),
                           entities=_union(self.entities, other.entities),
                           relations=_union(self.relations, other.relations), owners=owners,
                           relation_ids_of=self.relation_ids_of | other.relation_ids_of)

    def link(self, result: BatchResult) -> BatchResult:
        """``result`` plus ``(owner)-[:MENTIONS]->(entity)`` for every entity mentioned in an owned text."""
        delta = result.delta
        if not self.owners or not delta.chunks:
            return result
        document_of = {c.id: c.document_id for c in delta.chunks}
        owners: dict[str, Entity] = {}
        links: dict[tuple[str, str | None], Relation] = {}
        for mention in delta.mentions:
            for owner in self.owners.get(document_of.get(mention.chunk_id, ""), ()):
                owners[owner.id] = owner
                rel = Relation.between(owner.id, MENTIONS, mention.entity_id, chunk_id=mention.chunk_id,
                                       origin="record")
                links.setdefault((rel.id, rel.chunk_id), rel)
        owners.update(self._with_relation_ids(delta))
        if not links and not owners:
            return result
        new_delta = delta.model_copy(update={
            "entities": (*delta.entities, *owners.values()),
            "relations": (*delta.relations, *links.values()),
        })
        return result.model_copy(update={"delta": new_delta})

    def _with_relation_ids(self, delta: GraphDelta) -> dict[str, Entity]:
        if not self.relation_ids_of:
            return {}
        document_of = {c.id: c.document_id for c in delta.chunks}
        ids: dict[str, set[str]] = {}
        owner_of: dict[str, Entity] = {}
        for doc in delta.documents:
            for owner in self.owners.get(doc.id, ()):
                if owner.label in self.relation_ids_of:
                    ids.setdefault(owner.id, set())
                    owner_of[owner.id] = owner
        for rel in delta.relations:
            for owner in self.owners.get(document_of.get(rel.chunk_id or "", ""), ()):
                if owner.id in ids:
                    ids[owner.id].add(rel.id)
        return {
            oid: owner_of[oid].model_copy(update={"properties": {
                **owner_of[oid].properties, "relation_ids": ",".join(sorted(found))}})
            for oid, found in ids.items()
        }


def _union(first: tuple[_T, ...], second: tuple[_T, ...]) -> tuple[_T, ...]:
    """Items of ``first``, then those of ``second`` whose id is new."""
    out = {x.id: x for x in first}
    for x in second:
        out.setdefault(x.id, x)
    return tuple(out.values())


class RecordGraphBuilder:
    """Collects entities, relations and owned texts, each once (first writer wins, properties merged)."""

    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        self.relations: dict[str, Relation] = {}
        self.documents: dict[str, Document] = {}
        self.owners: dict[str, dict[str, Entity]] = {}

    def entity(self, entity: Entity) -> Entity:
        """Add ``entity`` (or merge its properties and description into the one with its id)."""
        known = self.entities.get(entity.id)
        if known is None:
            self.entities[entity.id] = entity
            return entity
        update: dict[str, object] = {}
        if entity.properties and any(k not in known.properties for k in entity.properties):
            update["properties"] = {**entity.properties, **known.properties}
        if entity.description and not known.description:
            update["description"] = entity.description
        if update:
            known = self.entities[entity.id] = known.model_copy(update=update)
        return known

    def relation(self, relation: Relation) -> None:
        """Add ``relation`` once (its first properties win), as a record edge (origin ``record``)."""
        if relation.id not in self.relations:
            self.relations[relation.id] = relation.model_copy(update={"origin": "record"})

    def text(self, document: Document, owner: Entity) -> None:
        """A text to extract concepts from, owned by a record's node."""
        self.documents.setdefault(document.id, document)
        self.owners.setdefault(document.id, {})[owner.id] = owner

    def build(self, relation_ids_of: Iterable[str] = ()) -> RecordGraph:
        """The collected graph; owners refer to the final (merged) entities."""
        return RecordGraph(
            documents=tuple(self.documents.values()),
            entities=tuple(self.entities.values()),
            relations=tuple(self.relations.values()),
            owners={doc: tuple(self.entities[o] for o in owners) for doc, owners in self.owners.items()},
            relation_ids_of=frozenset(relation_ids_of),
        )
