"""The research graph of ResearchTown's agent data: researchers, papers, reviews and their links.

Graph shape (labels and relation types)::

    (:Researcher)-[:AUTHORED]->(:Paper)            from a paper's authors or a profile's publications
    (:Researcher)-[:COLLABORATES_WITH]-(:Researcher)  a profile's collaborators and co-authors (stored once)
    (:Paper)-[:CITES]->(:Paper)                    references / bibliography, matched by title
    (:Review)-[:REVIEWED {score, confidence}]->(:Paper)   one node per review score (ICLR 2023)
    (:Researcher)-[:WORKS_ON]->(:Topic)            a profile's research domains
    (:Paper)-[:HAS_TOPIC]->(:Topic)                keywords, arXiv category, ICLR area
    (:Paper|:Researcher)-[:MENTIONS]->(concepts)   entities the extractor finds in the abstract / bio

Papers are identified by their normalised title and researchers by their normalised name
(:func:`graph_store.ids.entity_id`), so one paper read from two files, or cited by title, is one node.
A paper's abstract and a researcher's bio are the node's ``description`` and the texts extracted.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations

from pydantic import BaseModel, ConfigDict, Field

from kgweave.agents.labels import PAPER, RESEARCHER, REVIEW, TOPIC
from kgweave.agents.record_graph import RecordGraph, RecordGraphBuilder, undirected
from kgweave.graph_store.models import Document, Entity, Relation

__all__ = [
    "AUTHORED",
    "CITES",
    "COLLABORATES_WITH",
    "HAS_TOPIC",
    "PAPER",
    "RESEARCHER",
    "REVIEW",
    "REVIEWED",
    "TOPIC",
    "WORKS_ON",
    "PaperRecord",
    "ResearcherRecord",
    "research_graph",
]

AUTHORED, COLLABORATES_WITH, CITES, REVIEWED = "AUTHORED", "COLLABORATES_WITH", "CITES", "REVIEWED"
WORKS_ON, HAS_TOPIC = "WORKS_ON", "HAS_TOPIC"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    source: str = Field(description="file#key the record came from")


class PaperRecord(_Record):
    """A paper (PaperDB, ICLR-2023 review set, generic papers JSONL)."""

    title: str = Field(min_length=1)
    abstract: str | None = None
    authors: tuple[str, ...] = ()
    year: int | None = None
    url: str | None = None
    venue: str | None = None
    topics: tuple[str, ...] = ()
    references: tuple[str, ...] = Field(default=(), description="Titles of cited papers.")
    review_scores: tuple[float, ...] = ()
    review_confidences: tuple[float, ...] = ()
    decision: str | None = None


class ResearcherRecord(_Record):
    """A researcher profile (ResearchTown ProfileDB / agent data / ResearchBench profiles)."""

    name: str = Field(min_length=1)
    bio: str | None = None
    collaborators: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    institute: str | None = None
    publications: tuple[PaperRecord, ...] = ()


def research_graph(researchers: Iterable[ResearcherRecord], papers: Iterable[PaperRecord]) -> RecordGraph:
    """Nodes and edges the records state, plus abstracts and bios to extract concepts from."""
    builder = RecordGraphBuilder()
    for person in researchers:
        _add_researcher(builder, person)
    for paper in papers:
        _add_paper(builder, paper)
    return builder.build()


def _researcher(builder: RecordGraphBuilder, name: str, **kwargs: object) -> Entity:
    return builder.entity(Entity.named(" ".join(name.split()), RESEARCHER, **kwargs))


def _topic(builder: RecordGraphBuilder, name: str) -> Entity | None:
    name = " ".join(name.split())
    return builder.entity(Entity.named(name, TOPIC)) if name else None


def _add_researcher(builder: RecordGraphBuilder, person: ResearcherRecord) -> None:
    props = {"institute": person.institute} if person.institute else {}
    node = _researcher(builder, person.name, description=person.bio or None, properties=props)
    if person.bio:
        builder.text(Document.from_text(person.bio, source=person.source, title=person.name,
                                        metadata={"kind": "bio", "researcher": person.name}), node)
    for other in person.collaborators:
        if other.strip() and Entity.named(other, RESEARCHER).id != node.id:
            peer = _researcher(builder, other)
            builder.relation(undirected(node.id, COLLABORATES_WITH, peer.id))
    for domain in person.domains:
        topic = _topic(builder, domain)
        if topic is not None:
            builder.relation(Relation.between(node.id, WORKS_ON, topic.id))
    for paper in person.publications:
        _add_paper(builder, paper.model_copy(update={"authors": tuple(dict.fromkeys((person.name, *paper.authors)))}))


def _add_paper(builder: RecordGraphBuilder, paper: PaperRecord) -> None:
    props: dict[str, str | int | float | bool | None] = {
        k: v for k, v in (("url", paper.url), ("year", paper.year), ("venue", paper.venue),
                          ("decision", paper.decision)) if v not in (None, "")
    }
    if paper.review_scores:
        props["reviews"] = len(paper.review_scores)
        props["mean_score"] = round(sum(paper.review_scores) / len(paper.review_scores), 3)
    title = " ".join(paper.title.split())
    node = builder.entity(Entity.named(title, PAPER, description=paper.abstract or None, properties=props))
    if paper.abstract:
        builder.text(Document.from_text(paper.abstract, source=paper.source, title=title,
                                        metadata={"kind": "abstract", "paper": title}), node)
    authors = []
    for name in dict.fromkeys(a for a in paper.authors if a.strip()):
        author = _researcher(builder, name)
        authors.append(author)
        builder.relation(Relation.between(author.id, AUTHORED, node.id))
    for a, b in combinations(authors, 2):
        if a.id != b.id:
            builder.relation(undirected(a.id, COLLABORATES_WITH, b.id))
    for ref in paper.references:
        ref = " ".join(ref.split())
        if ref and Entity.named(ref, PAPER).id != node.id:
            cited = builder.entity(Entity.named(ref, PAPER))
            builder.relation(Relation.between(node.id, CITES, cited.id))
    for name in paper.topics:
        topic = _topic(builder, name)
        if topic is not None:
            builder.relation(Relation.between(node.id, HAS_TOPIC, topic.id))
    for i, score in enumerate(paper.review_scores):
        review_props: dict[str, str | int | float | bool | None] = {"score": score, "index": i + 1}
        if i < len(paper.review_confidences):
            review_props["confidence"] = paper.review_confidences[i]
        review = builder.entity(Entity.named(f"Review {i + 1} of {title}", REVIEW, properties=review_props))
        builder.relation(Relation.between(review.id, REVIEWED, node.id, properties=review_props))
