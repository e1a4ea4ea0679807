"""The GraphStore contract, run over every implementation (fixture ``store``)."""

from __future__ import annotations

import re

import pytest

from graph_store.errors import GraphStoreError
from graph_store.models import Chunk, Document, Entity, GraphDelta, Iteration, Mention, Relation, Run
from graph_store.protocol import GraphStore


def _delta(run_id: str = "run-1", text: str = "Alice met Bob in Paris. Bob likes Paris.") -> GraphDelta:
    doc = Document.from_text(text, source="t.txt")
    chunk = Chunk.of(doc, 0, 0, len(text))
    alice, bob = Entity.named("Alice", "Person"), Entity.named("Bob", "Person")
    paris = Entity.named("Paris", "Place")
    mentions = [
        Mention.of(e.id, chunk.id, m.start(), m.end(), m.group())
        for e in (alice, bob, paris)
        for m in re.finditer(e.name, text)
    ]
    relations = [Relation.between(alice.id, "MET", bob.id, chunk_id=chunk.id, evidence=text)]
    if "likes" in text:
        relations.append(Relation.between(bob.id, "LIKES", paris.id, chunk_id=chunk.id, evidence=text))
    return GraphDelta(
        run_id=run_id, extractor="test", fingerprint="fp-1", done_documents=(doc.id,), documents=(doc,),
        chunks=(chunk,), entities=(alice, bob, paris), mentions=tuple(mentions), relations=tuple(relations),
    )


def test_store_satisfies_protocol(store: GraphStore) -> None:
    assert isinstance(store, GraphStore)
    store.ensure_schema()  # idempotent: a second call changes nothing
    assert store.counts().entities == 0


def test_upsert_counts_new_rows_once(store: GraphStore) -> None:
    first = store.upsert(_delta())
    assert (first.documents, first.chunks, first.entities, first.relations) == (1, 1, 3, 2)
    second = store.upsert(_delta(run_id="run-2"))
    assert (second.documents, second.chunks, second.entities, second.relations) == (0, 0, 0, 0)
    counts = store.counts()
    assert (counts.documents, counts.chunks, counts.entities, counts.relations, counts.mentions) == (1, 1, 3, 2, 5)
    assert counts.labels == {"Person": 2, "Place": 1}
    assert counts.relation_types == {"LIKES": 1, "MET": 1}


def test_upsert_twice_leaves_identical_snapshot(store: GraphStore) -> None:
    store.upsert(_delta())
    before = store.snapshot()
    store.upsert(_delta(run_id="run-2"))
    assert store.snapshot() == before
    supports = {n.name: n.support for n in before.nodes}
    assert supports == {"Alice": 1, "Bob": 1, "Paris": 1}  # distinct chunks, not mentions


def test_support_counts_distinct_chunks(store: GraphStore) -> None:
    store.upsert(_delta())
    store.upsert(_delta(text="Later, Alice met Bob again."))
    alice = Entity.named("Alice", "Person")
    nodes = {n.id: n for n in store.snapshot().nodes}
    assert nodes[alice.id].support == 2
    met = [e for e in store.snapshot().edges if e.type == "MET"]
    assert len(met) == 1 and met[0].support == 2


def test_documents_done_by_fingerprint(store: GraphStore) -> None:
    delta = _delta()
    assert store.documents_done([delta.documents[0].id], "fp-1") == set()
    store.upsert(delta)
    assert store.documents_done([delta.documents[0].id, "other"], "fp-1") == {delta.documents[0].id}
    assert store.documents_done([delta.documents[0].id], "fp-2") == set()


def test_get_find_and_neighbours(store: GraphStore) -> None:
    store.upsert(_delta())
    alice = Entity.named("Alice", "Person")
    assert store.get_entity(alice.id) == alice
    assert store.get_entity("missing") is None
    assert [e.id for e in store.find_entities("  ALICE ")] == [alice.id]
    one_hop, rels = store.neighbours(alice.id, hops=1)
    assert {e.name for e in one_hop} == {"Alice", "Bob"} and [r.type for r in rels] == ["MET"]
    two_hop, rels2 = store.neighbours(alice.id, hops=2)
    assert {e.name for e in two_hop} == {"Alice", "Bob", "Paris"} and len(rels2) == 2


def test_dangling_relation_is_rejected_and_nothing_is_lost(store: GraphStore) -> None:
    store.upsert(_delta())
    before = store.counts()
    ghost = Relation.between("no-such-source", "MET", "no-such-target")
    with pytest.raises(GraphStoreError):
        store.upsert(GraphDelta(run_id="bad", extractor="test", entities=(Entity.named("Carol", "Person"),),
                                relations=(ghost,)))
    assert store.counts() == before  # the whole batch rolled back


def test_hostile_names_round_trip(store: GraphStore) -> None:
    names = ["a`b", "x' OR 1=1 //", "}) MATCH (n) DETACH DELETE n //", "名前 🚀", "\\u0000", "$param"]
    entities = [Entity.named(n, "Concept") for n in names]
    store.upsert(GraphDelta(run_id="r", extractor="test", entities=tuple(entities)))
    assert sorted(n.name for n in store.snapshot().nodes) == sorted(names)


def test_node_metrics(store: GraphStore) -> None:
    store.upsert(_delta())
    alice = Entity.named("Alice", "Person")
    assert store.write_node_metrics({alice.id: {"degree": 1.0, "pagerank": 0.25}, "missing": {"degree": 3}}) == 1
    assert store.node_metrics(alice.id) == {"degree": 1.0, "pagerank": 0.25}
    with pytest.raises(ValueError):
        store.write_node_metrics({alice.id: {"Bad-Name": 1.0}})


def test_runs_and_iterations(store: GraphStore) -> None:
    run = Run(id="run-1", kind="build", parameters={"paths": "a;b"})
    store.record_run(run)
    store.record_run(run.model_copy(update={"status": "completed", "summary": {"entities": 3}}))
    runs = list(store.runs())
    assert [(r.id, r.status, r.summary) for r in runs] == [("run-1", "completed", {"entities": 3})]
    store.record_iteration(Iteration(run_id="run-1", iteration=1, metrics={"nodes": 5}))
    store.record_iteration(Iteration(run_id="run-1", iteration=0, metrics={"nodes": 2}))
    assert [i.iteration for i in store.iterations("run-1")] == [0, 1]


def test_entity_name_is_most_frequent_surface_form_whatever_the_order(store: GraphStore) -> None:
    def delta(text: str, run_id: str) -> GraphDelta:
        doc = Document.from_text(text, source=run_id)
        chunk = Chunk.of(doc, 0, 0, len(text))
        entity = Entity.named("GCN", "NamedEntity")
        mentions = tuple(Mention.of(entity.id, chunk.id, m.start(), m.end(), m.group())
                         for m in re.finditer(r"GCNs?", text))
        return GraphDelta(run_id=run_id, extractor="test", documents=(doc,), chunks=(chunk,),
                          entities=(entity.model_copy(update={"name": mentions[0].text}),), mentions=mentions)

    store.upsert(delta("GCNs beat MLPs.", "r1"))
    store.upsert(delta("A GCN here, a GCN there, GCNs everywhere.", "r2"))
    (node,) = store.snapshot().nodes
    assert (node.name, node.support) == ("GCN", 2)
