"""Linking and ranking of analysis/retrieval.py on small known-answer graphs (SQLite in memory)."""

from __future__ import annotations

import pytest

from kgweave.analysis.retrieval import CandidateRelation, NoLinkError, link_entities, rank_relations
from kgweave.graph_store.models import Entity, GraphDelta, Relation
from kgweave.graph_store.sqlite_store import SQLiteGraphStore


def _store(*names: str) -> SQLiteGraphStore:
    store = SQLiteGraphStore(":memory:")
    store.upsert(GraphDelta(run_id="r", extractor="test", entities=tuple(Entity.named(n) for n in names)))
    return store


def test_frame_words_join_longer_names_but_never_link_alone() -> None:
    store = _store("relation extraction", "relation", "model", "the model")
    links = link_entities(store, "What is known about relation extraction and the model?")
    assert [(link.mention, link.name) for link in links] == [
        ("relation extraction", "relation extraction"), ("model", "model")]  # "the model": starts with "the"
    with pytest.raises(NoLinkError, match="closest: relation extraction"):
        link_entities(store, "Tell me about the relation extractor?")  # "relation" alone: not a mention


def test_each_entity_is_linked_once_in_question_order() -> None:
    store = _store("GNN", "graph")
    links = link_entities(store, "Is a graph a GNN, or is a GNN a graph?")
    assert [link.name for link in links] == ["graph", "GNN"]


def test_rank_prefers_relations_near_the_seeds_then_support() -> None:
    a, b, c, d = (Entity.named(n).id for n in "abcd")
    near = CandidateRelation(relation=Relation.between(a, "R", b), support=1, hop=1)
    far = CandidateRelation(relation=Relation.between(c, "R", d), support=1, hop=2)
    bridge = CandidateRelation(relation=Relation.between(b, "R", c), support=1, hop=2)
    strong = CandidateRelation(relation=Relation.between(a, "S", b), support=3, hop=1)
    ranked = rank_relations([far, bridge, near, strong], [a])
    assert [c.relation.id for c in ranked] == [r.relation.id for r in (strong, near, bridge, far)]
    assert ranked[0].score > ranked[1].score > ranked[2].score > ranked[3].score > 0
