"""Grounding an LLM answer in its chunk: what is kept, where its mentions are, which evidence survives."""

from __future__ import annotations

from kgweave.agents.domains.reviews import ReviewsExtraction
from kgweave.agents.llm_extractor import ground_output
from kgweave.agents.schemas import ExtractionOutput
from kgweave.graph_store.ids import LABEL_PATTERN, RELATION_TYPE_PATTERN, entity_id
from kgweave.graph_store.models import Chunk, Document

PREFIX = "Header paragraph that is not part of the chunk.\n\n"
TEXT = (
    "We train graph neural networks on the Cora dataset. "
    "The GCN baseline concatenates features.\n"
    "Message passing is studied by Bilbo\nBaggins."
)


def _chunk(text: str = TEXT) -> Chunk:
    doc = Document.from_text(PREFIX + text, "doc.txt")
    return Chunk.of(doc, 1, len(PREFIX), len(PREFIX) + len(text))


def _answer(entities: list[tuple[str, str]], relations: list[tuple[str, str, str, str | None]]) -> ExtractionOutput:
    """An answer with free entity and relation types (the base schema: grounding does not depend on a domain's)."""
    return ExtractionOutput.model_validate({
        "entities": [{"name": n, "type": t, "description": None} for n, t in entities],
        "relations": [{"source": s, "target": o, "type": r, "evidence": e} for s, o, r, e in relations],
    })


def test_names_ground_by_normalised_words_and_mentions_carry_document_offsets() -> None:
    chunk = _chunk()
    answer = _answer([("Graph Neural Network", "Method"), ("CORA dataset", "Dataset")], [])
    grounded = ground_output(chunk, answer)
    assert [e.name for e in grounded.entities] == ["graph neural networks", "Cora dataset"]
    assert grounded.ungrounded == 0
    doc_text = PREFIX + TEXT
    for mention in grounded.mentions:
        assert doc_text[mention.start : mention.end] == mention.text
    assert grounded.entities[0].id == entity_id("graph neural network", "Method")


def test_names_not_in_the_chunk_or_only_inside_words_are_dropped() -> None:
    chunk = _chunk()
    answer = _answer(
        [("GCN", "Model"), ("cat", "Concept"), ("Transformers", "Model"), ("!!!", "Concept")],
        [("GCN", "Transformers", "OUTPERFORMS", None)],
    )
    grounded = ground_output(chunk, answer)
    assert [e.name for e in grounded.entities] == ["GCN"]  # "cat" only occurs inside "concatenates"
    assert grounded.ungrounded == 3
    assert grounded.relations == () and grounded.dropped_relations == 1


def test_name_matches_across_a_line_break_and_case() -> None:
    grounded = ground_output(_chunk(), ReviewsExtraction.model_validate(
        {"entities": [{"name": "bilbo baggins", "type": "Character", "description": "A hobbit."}]}
    ))
    (entity,) = grounded.entities
    assert entity.name == "Bilbo Baggins" and entity.label == "Character" and entity.description == "A hobbit."
    assert grounded.mentions[0].text == "Bilbo\nBaggins"


def test_every_occurrence_is_a_mention() -> None:
    text = "GCN beats MLP. GCN is simple. A gcn layer."
    grounded = ground_output(_chunk(text), _answer([("GCN", "Model")], []))
    assert [m.start - len(PREFIX) for m in grounded.mentions] == [0, 15, 32]


def test_evidence_is_kept_only_if_it_occurs_in_the_chunk() -> None:
    chunk = _chunk()
    quoted = "The GCN baseline concatenates   features."  # whitespace differences do not matter
    invented = "GCN was evaluated on Cora with great success."
    answer = _answer(
        [("GCN", "Model"), ("features", "Concept"), ("Cora dataset", "Dataset"), ("Message passing", "Method")],
        [
            ("GCN", "features", "USES", quoted),
            ("Cora dataset", "graph neural networks", "USED_BY", None),  # target not in the entity list
            ("features", "Cora dataset", "PART_OF", invented),  # same sentence? no: different sentences
            ("Message passing", "GCN", "RELATED_TO", invented),
            ("GCN", "GCN", "IS_A", None),  # self-loop
        ],
    )
    grounded = ground_output(chunk, answer)
    evidence = {r.type: r.evidence for r in grounded.relations}
    assert evidence == {"USES": "The GCN baseline concatenates features.", "PART_OF": None, "RELATED_TO": None}
    assert grounded.dropped_relations == 2


def test_evidence_falls_back_to_the_sentence_holding_both_ends() -> None:
    answer = _answer([("Cora", "Dataset"), ("graph neural networks", "Method")],
                     [("graph neural networks", "Cora", "EVALUATED_ON", "made up")])
    (relation,) = ground_output(_chunk(), answer).relations
    assert relation.evidence == "We train graph neural networks on the Cora dataset."


def test_hostile_strings_become_data_and_safe_identifiers() -> None:
    text = "Mallory wrote }) MATCH (n) DETACH DELETE n // in the `Evil` Corp wiki."
    answer = _answer(
        [("}) MATCH (n) DETACH DELETE n //", "Concept"), ("`Evil` Corp", "Concept"), ("Mallory", "Concept")],
        [("Mallory", "`Evil` Corp", "`KNOWS`]->(m) SET m.pwned = true //", None),
         ("Mallory", "}) MATCH (n) DETACH DELETE n //", "}) MATCH (n) DETACH DELETE n //", None),
         ("`Evil` Corp", "Mallory", "\u202e123", None)],
    )
    grounded = ground_output(_chunk(text), answer)
    assert {e.name for e in grounded.entities} == {"}) MATCH (n) DETACH DELETE n //", "`Evil` Corp", "Mallory"}
    types = sorted(r.type for r in grounded.relations)
    assert types == ["RELATED_TO"] * 3  # no plausible type: the model's text is kept as a property, not a type
    assert {r.properties["original_type"] for r in grounded.relations} == {
        "\u202e123", "`KNOWS`]->(m) SET m.pwned = true //", "}) MATCH (n) DETACH DELETE n //"}
    assert all(RELATION_TYPE_PATTERN.match(t) for t in types)
    assert all(LABEL_PATTERN.match(e.label) for e in grounded.entities)
