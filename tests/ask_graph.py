"""A small known-answer graph for ``kgweave ask`` tests: two abstracts about aspirin, with mention spans."""

from __future__ import annotations

from kgweave.graph_store.models import Chunk, Document, Entity, GraphDelta, Mention, Relation

__all__ = ["ASK_TEXTS", "ask_delta", "span_text"]

ASK_TEXTS = (
    "Aspirin inhibits COX-1 in platelets. COX-1 produces thromboxane.",
    "Thromboxane triggers platelet aggregation. Ibuprofen also inhibits COX-1.",
)
# (source, type, target, document): each relation joins the first mentions of its ends in that document
_FACTS = (
    ("Aspirin", "INHIBITS", "COX-1", 0),
    ("COX-1", "PRODUCES", "thromboxane", 0),
    ("Thromboxane", "TRIGGERS", "platelet aggregation", 1),
    ("Ibuprofen", "INHIBITS", "COX-1", 1),
)


def _entity(name: str) -> Entity:
    return Entity.named(name[0].upper() + name[1:], "Concept")


def ask_delta() -> GraphDelta:
    """The graph: Aspirin -INHIBITS-> COX-1 -PRODUCES-> Thromboxane -TRIGGERS-> Platelet aggregation,
    and Ibuprofen -INHIBITS-> COX-1; one chunk per document, every relation with its mention spans."""
    documents = [Document.from_text(text, source=f"ask-{i}.txt") for i, text in enumerate(ASK_TEXTS)]
    chunks = [Chunk.of(doc, 0, 0, len(doc.text)) for doc in documents]
    entities: dict[str, Entity] = {}
    mentions: list[Mention] = []
    relations: list[Relation] = []
    for source, rel_type, target, i in _FACTS:
        text = ASK_TEXTS[i]
        spans = []
        for name in (source, target):
            entity = entities.setdefault(name.casefold(), _entity(name))
            start = text.find(name)
            spans.append((start, start + len(name)))
            mentions.append(Mention.of(entity.id, chunks[i].id, start, start + len(name), name))
        (s0, s1), (t0, t1) = spans
        relations.append(Relation.between(
            entities[source.casefold()].id, rel_type, entities[target.casefold()].id, chunk_id=chunks[i].id,
            evidence=text, source_start=s0, source_end=s1, target_start=t0, target_end=t1))
    unique_mentions = {m.id: m for m in mentions}
    return GraphDelta(run_id="build-ask", extractor="test", fingerprint="fp-ask",
                      done_documents=tuple(d.id for d in documents), documents=tuple(documents), chunks=tuple(chunks),
                      entities=tuple(entities.values()), mentions=tuple(unique_mentions.values()),
                      relations=tuple(relations))


def span_text(document: int, first: str, last: str) -> str:
    """The text of document ``document`` from the first mention of ``first`` to the end of ``last``."""
    text = ASK_TEXTS[document]
    return text[text.find(first): text.find(last) + len(last)]
