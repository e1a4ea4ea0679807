"""The book-review graph (Shahsavari et al. 2020): books, their readers' reviews, and each review's actants.

Graph shape::

    (:Book {book_id, authors})-[:HAS_REVIEW]->(:Review {rating, user_id, text, relation_ids})
    (:Reader)-[:WROTE]->(:Review)                      TEG-DB's textual edge user -> book
    (:Review)-[:MENTIONS]->(actant)                    actants the extractor finds in the review text
    (actant)-[:LOVES|KILLS|...]->(actant)              relations found in the review text

Each review is a small actant graph: its ``MENTIONS`` targets and the relations listed in its
``relation_ids`` property (filled after extraction). :func:`review_graphs_of_book` reads them back
from any store, and :func:`agents.actants.consensus_graph` aggregates them per book, setting aside
what :func:`book_context` says is about the book (its title, authors, other books of the records).
The extractor reads the review's text cleaned of markup (:func:`agents.review_text.clean_review_text`);
the review keeps the original as its ``text`` property.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from kgweave.agents.actants import Actant, ActantRelation, BookContext, ConsensusGraph, ReviewGraph, consensus_graph
from kgweave.agents.labels import BOOK, READER, REVIEW
from kgweave.agents.record_graph import MENTIONS, RecordGraph, RecordGraphBuilder
from kgweave.agents.review_text import clean_review_text
from kgweave.graph_store.ids import content_id, normalize_name
from kgweave.graph_store.models import Document, Entity, Relation
from kgweave.graph_store.protocol import GraphStore

__all__ = [
    "BOOK",
    "HAS_REVIEW",
    "READER",
    "REVIEW",
    "WROTE",
    "BookNotFoundError",
    "ReviewRecord",
    "book_consensus",
    "book_context",
    "find_book",
    "review_graph",
    "review_graphs_of_book",
]

HAS_REVIEW, WROTE = "HAS_REVIEW", "WROTE"
_STRUCTURAL = frozenset({BOOK, REVIEW, READER})


class BookNotFoundError(LookupError):
    """No book with this id or title in the store."""


class ReviewRecord(BaseModel):
    """One reader's review of one book."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    source: str
    book_id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    book_title: str | None = None
    rating: float | None = None
    user_id: str | None = None
    genre: str | None = None
    book_description: str | None = None
    authors: tuple[str, ...] = ()


def _book_name(record: ReviewRecord) -> str:
    return " ".join(record.book_title.split()) if record.book_title else f"Book {record.book_id}"


def review_graph(reviews: Iterable[ReviewRecord]) -> RecordGraph:
    """Books, reviews and readers the records state; review texts are extracted for actants."""
    builder = RecordGraphBuilder()
    for record in reviews:
        names = "; ".join(a for a in record.authors if not a.isdigit())  # TEG-DB gives author ids, not names
        props = {k: v for k, v in (("book_id", record.book_id), ("genre", record.genre), ("authors", names)) if v}
        book = builder.entity(Entity.named(_book_name(record), BOOK, description=record.book_description or None,
                                           properties=props))
        key = content_id("review", record.book_id, record.user_id or "", record.text)
        review_props = {k: v for k, v in (("book_id", record.book_id), ("rating", record.rating),
                                          ("user_id", record.user_id), ("text", record.text)) if v is not None}
        review = builder.entity(Entity.named(f"Review {key[:12]}", REVIEW, properties=review_props))
        builder.relation(Relation.between(book.id, HAS_REVIEW, review.id))
        if record.user_id:
            reader = builder.entity(Entity.named(f"Reader {record.user_id}", READER,
                                                 properties={"user_id": record.user_id}))
            builder.relation(Relation.between(reader.id, WROTE, review.id))
        cleaned = clean_review_text(record.text) or record.text
        builder.text(Document.from_text(cleaned, source=record.source, title=_book_name(record),
                                        metadata={"kind": "review", "book_id": record.book_id}), review)
    return builder.build(relation_ids_of=(REVIEW,))


def find_book(store: GraphStore, book: str) -> Entity:
    """The (:Book) whose ``book_id`` property or name is ``book``; BookNotFoundError if none."""
    for name in (book, f"Book {book}"):
        for entity in store.find_entities(name):
            if entity.label == BOOK:
                return entity
    key = normalize_name(book)
    for node in store.snapshot().nodes:
        if node.label == BOOK:
            found = store.get_entity(node.id)
            if found is not None and (found.properties.get("book_id") == book or normalize_name(found.name) == key):
                return found
    raise BookNotFoundError(f"no book {book!r} in the store (build it with: kgweave build FILE --domain reviews)")


def book_context(store: GraphStore, book: Entity) -> BookContext:
    """The book's title, authors and description, and the other books' titles and authors in the store."""
    others: list[Entity] = []
    for node in store.snapshot().nodes:
        if node.label == BOOK and node.id != book.id and (other := store.get_entity(node.id)) is not None:
            others.append(other)
    return BookContext(
        title=_title(book), authors=_authors(book), description=book.description or "",
        other_titles=tuple(sorted({t for o in others if (t := _title(o))})),
        other_authors=tuple(sorted({a for o in others for a in _authors(o)} - set(_authors(book)))),
    )


def _title(book: Entity) -> str:
    return "" if book.name == f"Book {book.properties.get('book_id')}" else book.name


def _authors(book: Entity) -> tuple[str, ...]:
    return tuple(a.strip() for a in str(book.properties.get("authors") or "").split(";") if a.strip())


def review_graphs_of_book(store: GraphStore, book: Entity) -> list[ReviewGraph]:
    """Each review of ``book`` as its actants and relations, read back from the store."""
    entities, relations = store.neighbours(book.id, hops=2)
    by_id = {e.id: e for e in entities}
    reviews = [by_id[r.target_id] for r in relations
               if r.source_id == book.id and r.type == HAS_REVIEW and r.target_id in by_id]
    rel_by_id = {r.id: r for r in relations}
    graphs = []
    for review in sorted(reviews, key=lambda e: e.id):
        actants = tuple(
            Actant(name=by_id[r.target_id].name, label=by_id[r.target_id].label)
            for r in relations
            if r.source_id == review.id and r.type == MENTIONS and r.target_id in by_id
            and by_id[r.target_id].label not in _STRUCTURAL
        )
        ids = str(review.properties.get("relation_ids") or "").split(",")
        stated = tuple(
            ActantRelation(source=by_id[rel.source_id].name, type=rel.type, target=by_id[rel.target_id].name)
            for rel in (rel_by_id.get(i) for i in ids if i)
            if rel is not None and rel.source_id in by_id and rel.target_id in by_id
        )
        graphs.append(ReviewGraph(review_id=review.id, actants=actants, relations=stated))
    return graphs


def book_consensus(store: GraphStore, book: str, min_actant_support: int = 1, min_relation_support: int = 1,
                   ) -> tuple[Entity, ConsensusGraph]:
    """The book (id or title) and its consensus graph, the book's own names set aside; BookNotFoundError if none."""
    entity = find_book(store, book)
    return entity, consensus_graph(review_graphs_of_book(store, entity), min_actant_support, min_relation_support,
                                   book=book_context(store, entity))
