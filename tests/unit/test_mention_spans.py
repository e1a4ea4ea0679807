"""Mention spans of relation observations: picked from the chunk's mentions, inside the evidence sentence."""

from __future__ import annotations

import re

from kgweave.agents.cooccurrence import CooccurrenceExtractor
from kgweave.agents.mention_spans import nearest_pair, with_mention_spans
from kgweave.agents.pipeline import extract_documents
from kgweave.graph_store.models import Chunk, Document, Entity, Mention, Relation

TEXT = "BERT uses attention heads. Later, GPT and\n  BERT both use attention."  # a line break in a sentence


def _setup() -> tuple[Chunk, Entity, Entity, list[Mention]]:
    doc = Document.from_text("Intro. " + TEXT, source="t.txt")
    chunk = Chunk.of(doc, 0, 7, len(doc.text))  # a chunk that does not start at offset 0
    bert, attention = Entity.named("BERT", "NamedEntity"), Entity.named("attention")
    mentions = [Mention.of(e.id, chunk.id, 7 + m.start(), 7 + m.end(), m.group())
                for e in (bert, attention) for m in re.finditer(e.name, TEXT)]
    return chunk, bert, attention, mentions


def test_spans_come_from_the_evidence_sentence() -> None:
    chunk, bert, attention, mentions = _setup()
    second = "Later, GPT and BERT both use attention."  # evidence is written with single spaces
    rel = Relation.between(bert.id, "USES", attention.id, chunk_id=chunk.id, evidence=second)
    (found,) = with_mention_spans([rel], mentions, [chunk])
    text = "Intro. " + TEXT
    (s0, s1), (t0, t1) = found.mention_spans or ((0, 0), (0, 0))
    assert (text[s0:s1], text[t0:t1]) == ("BERT", "attention")
    assert s0 == text.index("BERT", text.index("Later"))  # the second sentence's BERT, not the nearest overall


def test_without_evidence_the_nearest_pair_in_the_chunk() -> None:
    chunk, bert, attention, mentions = _setup()
    rel = Relation.between(bert.id, "USES", attention.id, chunk_id=chunk.id)
    (found,) = with_mention_spans([rel], mentions, [chunk])
    assert found.mention_spans == ((7, 11), (17, 26))


def test_known_spans_chunkless_relations_and_missing_ends_are_left_alone() -> None:
    chunk, bert, attention, mentions = _setup()
    given = Relation.between(bert.id, "USES", attention.id, chunk_id=chunk.id,
                             source_start=1, source_end=2, target_start=3, target_end=4)
    chunkless = Relation.between(bert.id, "CITES", attention.id)
    missing = Relation.between(bert.id, "USES", Entity.named("GPT").id, chunk_id=chunk.id)
    assert with_mention_spans([given, chunkless, missing], mentions, [chunk]) == [given, chunkless, missing]
    assert nearest_pair(mentions[:1], mentions[:1]) is None  # the same span is never a pair


def test_pipeline_gives_every_extracted_observation_the_spans_of_its_two_ends() -> None:
    text = ("The Transformer uses self-attention layers. BERT outperforms ELMo on GLUE. "
            "BERT uses masked language modeling.")
    doc = Document.from_text(text, source="t.txt")
    delta = extract_documents([doc], CooccurrenceExtractor(), run_id="r", fingerprint="fp").delta
    assert delta.relations
    mentions = {(m.entity_id, m.start, m.end) for m in delta.mentions}
    for rel in delta.relations:
        spans = rel.mention_spans
        assert spans is not None, rel
        (s0, s1), (t0, t1) = spans
        assert (rel.source_id, s0, s1) in mentions and (rel.target_id, t0, t1) in mentions
