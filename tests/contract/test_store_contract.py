"""The GraphStore contract, run over every implementation (fixture ``store``)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from kgweave.graph_store.capabilities import Capability
from kgweave.graph_store.errors import GraphStoreError, UnsupportedCapabilityError
from kgweave.graph_store.models import (
    Chunk,
    Document,
    Entity,
    EntityMerge,
    GraphDelta,
    Iteration,
    Mention,
    Relation,
    Run,
)
from kgweave.graph_store.protocol import GraphStore, PushSource, VectorSearch, push_source, vector_search
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from kgweave.graph_store.transfer import push

_T = TypeVar("_T")


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


def test_hubs_move_when_they_change(store: GraphStore) -> None:
    store.upsert(_delta())
    alice, bob, paris = (Entity.named("Alice", "Person"), Entity.named("Bob", "Person"),
                         Entity.named("Paris", "Place"))
    store.write_node_metrics({alice.id: {"degree": 1.0}})
    assert store.mark_hubs([bob.id, alice.id, "missing"]) == 2
    assert store.node_metrics(bob.id) == {"hub_rank": 1.0}
    assert store.node_metrics(alice.id) == {"degree": 1.0, "hub_rank": 2.0}
    assert store.mark_hubs([paris.id, bob.id]) == 2  # Alice is no longer a hub: her rank goes, her degree stays
    assert store.mark_hubs([paris.id, bob.id]) == 2  # idempotent
    assert store.node_metrics(alice.id) == {"degree": 1.0}
    assert (store.node_metrics(paris.id), store.node_metrics(bob.id)) == ({"hub_rank": 1.0}, {"hub_rank": 2.0})
    assert store.mark_hubs([]) == 0 and store.node_metrics(paris.id) == {}


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


# -- entity merges ----------------------------------------------------------------------------------

def _ally_delta() -> GraphDelta:
    """A second document naming Alice "Ally": after merging Ally into Alice its edges move to Alice."""
    text = "Ally met Bob. Ally visited Paris. Ally met Alice."
    doc = Document.from_text(text, source="u.txt")
    chunk = Chunk.of(doc, 0, 0, len(text))
    ally, alice = Entity.named("Ally", "Person"), Entity.named("Alice", "Person")
    bob, paris = Entity.named("Bob", "Person"), Entity.named("Paris", "Place")
    mentions = [Mention.of(e.id, chunk.id, m.start(), m.end(), m.group())
                for e in (ally, alice, bob, paris) for m in re.finditer(rf"\b{e.name}\b", text)]
    relations = [
        Relation.between(ally.id, "MET", bob.id, chunk_id=chunk.id),
        Relation.between(ally.id, "VISITED", paris.id, chunk_id=chunk.id),
        Relation.between(ally.id, "MET", alice.id, chunk_id=chunk.id),
    ]
    return GraphDelta(run_id="run-2", extractor="test", documents=(doc,), chunks=(chunk,),
                      entities=(ally, alice, bob, paris), mentions=tuple(mentions), relations=tuple(relations))


def _ally_merge(run_id: str = "resolve-1") -> EntityMerge:
    return EntityMerge(alias_id=Entity.named("Ally", "Person").id, canonical_id=Entity.named("Alice", "Person").id,
                       score=0.91, method="embedding", run_id=run_id)


def test_merge_collapses_snapshot_and_counts(store: GraphStore) -> None:
    store.upsert(_delta())
    store.upsert(_ally_delta())
    alice, bob = Entity.named("Alice", "Person"), Entity.named("Bob", "Person")
    raw_met = sorted(e.id for e in store.snapshot().edges if e.type == "MET" and e.target == bob.id)
    assert store.record_merges([_ally_merge()]) == 1
    assert store.merges() == [_ally_merge()]
    view = store.snapshot()
    nodes = {n.name: n for n in view.nodes}
    assert set(nodes) == {"Alice", "Bob", "Paris"}
    assert nodes["Alice"].support == 3  # its own two chunks plus Ally's one (summed)
    edges = {(e.source, e.type, e.target): e for e in view.edges}
    assert (alice.id, "MET", alice.id) not in edges  # "Ally met Alice" became a self-loop: dropped
    met = edges[(alice.id, "MET", bob.id)]
    assert (met.id, met.support) == (raw_met[0], 2)  # parallel edges: one, smallest id, summed support
    assert {e.type for e in view.edges} == {"MET", "LIKES", "VISITED"} and len(view.edges) == 3
    counts = store.counts()
    assert (counts.entities, counts.relations, counts.merged_entities) == (3, 3, 1)
    assert counts.labels == {"Person": 2, "Place": 1}
    assert counts.relation_types == {"LIKES": 1, "MET": 1, "VISITED": 1}
    assert store.get_entity(_ally_merge().alias_id) is not None  # rows are never rewritten by a merge


def test_merges_are_idempotent_and_reversible(store: GraphStore) -> None:
    store.upsert(_delta())
    store.upsert(_ally_delta())
    before, before_counts = store.snapshot(), store.counts()
    assert store.record_merges([_ally_merge()]) == 1
    merged = store.snapshot()
    assert store.record_merges([_ally_merge()]) == 0  # recording twice changes nothing
    assert store.snapshot() == merged and len(store.merges()) == 1
    assert store.remove_merges(run_id="other-run") == 0
    assert store.remove_merges(run_id="resolve-1") == 1
    assert store.snapshot() == before and store.counts() == before_counts and store.merges() == []
    store.record_merges([_ally_merge()])
    assert store.remove_merges(alias_ids=[_ally_merge().alias_id]) == 1
    assert store.snapshot() == before
    store.upsert(_ally_delta())  # a rebuild after a merge keeps the merge and the ids
    store.record_merges([_ally_merge()])
    store.upsert(_ally_delta())
    assert store.snapshot() == merged


def test_merge_chains_point_at_the_final_canonical(store: GraphStore) -> None:
    store.upsert(_delta())
    store.upsert(_ally_delta())
    ally, alice = Entity.named("Ally", "Person").id, Entity.named("Alice", "Person").id
    bob = Entity.named("Bob", "Person").id
    store.record_merges([EntityMerge(alias_id=ally, canonical_id=alice, method="exact", run_id="r1")])
    # Alice becomes an alias of Bob: Ally, Alice's alias, is re-pointed to Bob.
    store.record_merges([EntityMerge(alias_id=alice, canonical_id=bob, method="llm", score=0.5, run_id="r2")])
    assert {(m.alias_id, m.canonical_id, m.run_id) for m in store.merges()} == {(ally, bob, "r1"), (alice, bob, "r2")}
    # A merge into an alias goes to its canonical; one that would close a cycle is already in force.
    assert store.record_merges([EntityMerge(alias_id=bob, canonical_id=ally, run_id="r3")]) == 0
    assert {n.name for n in store.snapshot().nodes} == {"Bob", "Paris"}
    assert store.counts().merged_entities == 2


def test_merge_with_unknown_entity_is_rejected_whole(store: GraphStore) -> None:
    store.upsert(_delta())
    alice = Entity.named("Alice", "Person").id
    bob = Entity.named("Bob", "Person").id
    with pytest.raises(GraphStoreError):
        store.record_merges([EntityMerge(alias_id=bob, canonical_id=alice, run_id="r"),
                             EntityMerge(alias_id="no-such-entity", canonical_id=alice, run_id="r")])
    assert store.merges() == [] and store.counts().merged_entities == 0


def _history(store: GraphStore) -> dict[str, Entity]:
    """Run A writes Alice-MET-Bob; run B (an expansion) adds Carol at iteration 0 and Dave at 1."""
    people = {name: Entity.named(name, "Person") for name in ("Alice", "Bob", "Carol", "Dave")}
    a, b, c, d = people.values()
    store.record_run(Run(id="run-a", kind="build"))
    store.upsert(GraphDelta(run_id="run-a", extractor="test", entities=(a, b),
                            relations=(Relation.between(a.id, "MET", b.id),)))
    store.record_run(Run(id="run-b", kind="expand"))
    store.upsert(GraphDelta(run_id="run-b", extractor="test", iteration=0, entities=(b, c),
                            relations=(Relation.between(b.id, "KNOWS", c.id),)))
    store.upsert(GraphDelta(run_id="run-b", extractor="test", iteration=1, entities=(c, d),
                            relations=(Relation.between(c.id, "KNOWS", d.id),)))
    return people


def test_snapshot_as_of_a_run_and_an_iteration(store: GraphStore) -> None:
    people = _history(store)
    names = {e.id: name for name, e in people.items()}

    def shape(snapshot: object) -> tuple[list[str], list[str]]:
        nodes = sorted(names[n.id] for n in snapshot.nodes)  # type: ignore[attr-defined]
        edges = sorted(f"{names[e.source]}-{e.type}-{names[e.target]}" for e in snapshot.edges)  # type: ignore[attr-defined]
        return nodes, edges

    assert shape(store.snapshot("run-a")) == (["Alice", "Bob"], ["Alice-MET-Bob"])
    assert shape(store.snapshot("run-b", iteration=0)) == (["Alice", "Bob", "Carol"],
                                                           ["Alice-MET-Bob", "Bob-KNOWS-Carol"])
    assert store.snapshot("run-b") == store.snapshot()
    assert len(store.snapshot().nodes) == 4


def test_snapshot_as_of_applies_only_earlier_merges(store: GraphStore) -> None:
    people = _history(store)
    store.record_run(Run(id="resolve-1", kind="resolve"))
    store.record_merges([EntityMerge(alias_id=people["Dave"].id, canonical_id=people["Carol"].id,
                                     run_id="resolve-1")])
    assert len(store.snapshot("run-b").nodes) == 4  # before the merge
    assert len(store.snapshot("resolve-1").nodes) == 3 == len(store.snapshot().nodes)


def test_snapshot_as_of_unknown_run_raises(store: GraphStore) -> None:
    from kgweave.graph_store.history import UnknownRunError

    _history(store)
    with pytest.raises(UnknownRunError, match="no run 'nope'"):
        store.snapshot("nope")


def test_entities_lists_every_entity_with_its_text(store: GraphStore) -> None:
    store.upsert(_delta())
    paper = Entity.named("Graph Attention Networks", "Paper", description="We present GATs.",
                         properties={"category": "ML"})
    store.upsert(GraphDelta(run_id="run-1", extractor="test", entities=(paper,)))
    listed = list(store.entities())
    assert [e.id for e in listed] == sorted(e.id for e in listed) and len(listed) == 4
    assert list(store.entities(label="Paper")) == [paper]
    assert sorted(e.name for e in store.entities(label="Person")) == ["Alice", "Bob"]
    assert list(store.entities(label="Nothing")) == []


def test_embeddings_round_trip_as_float32(store: GraphStore) -> None:
    import numpy as np

    store.upsert(_delta())
    alice, bob = Entity.named("Alice", "Person"), Entity.named("Bob", "Person")
    a, b = np.array([0.6, 0.8, 0.0], dtype=np.float32), np.array([0.0, 0.28, 0.96], dtype=np.float64)
    written = store.write_embeddings("all-MiniLM-L6-v2", {alice.id: ("h-a", a), bob.id: ("h-b", b), "nope": ("h", a)})
    assert written == 2  # the unknown id is skipped
    got = store.embeddings("all-MiniLM-L6-v2")
    assert set(got) == {alice.id, bob.id}
    assert got[alice.id].dtype == np.float32 and np.array_equal(got[alice.id], a)
    assert np.allclose(got[bob.id], b.astype(np.float32), atol=0)
    assert store.embedding_hashes("all-MiniLM-L6-v2") == {alice.id: "h-a", bob.id: "h-b"}
    assert set(store.embeddings("all-MiniLM-L6-v2", ids=[bob.id, "nope"])) == {bob.id}
    assert store.embeddings("other-model") == {} and store.embedding_hashes("other-model") == {}


def test_embeddings_are_replaced_and_keep_one_dimension(store: GraphStore) -> None:
    import numpy as np

    store.upsert(_delta())
    alice = Entity.named("Alice", "Person")
    store.write_embeddings("m1", {alice.id: ("old", [1.0, 0.0])})
    store.write_embeddings("m1", {alice.id: ("new", [0.0, 1.0])})
    assert store.embedding_hashes("m1") == {alice.id: "new"}
    assert np.array_equal(store.embeddings("m1")[alice.id], np.array([0.0, 1.0], dtype=np.float32))
    with pytest.raises(GraphStoreError, match="dimensional"):
        store.write_embeddings("m1", {alice.id: ("x", [1.0, 0.0, 0.0])})
    with pytest.raises(ValueError, match="model name"):
        store.write_embeddings("bad model!", {alice.id: ("x", [1.0])})
    with pytest.raises(ValueError, match="not finite"):
        store.write_embeddings("m2", {alice.id: ("x", [float("nan")])})
    store.clear()
    assert store.embeddings("m1") == {}


def test_embeddings_are_deleted_by_id(store: GraphStore) -> None:
    import numpy as np

    store.upsert(_delta())
    alice, bob = Entity.named("Alice", "Person"), Entity.named("Bob", "Person")
    store.write_embeddings("m1", {alice.id: ("a", [1.0, 0.0]), bob.id: ("b", [0.0, 1.0])})
    store.write_embeddings("m2", {alice.id: ("a", [1.0, 0.0])})
    assert store.delete_embeddings("m1", [alice.id, "nope", alice.id]) == 1
    assert store.embedding_hashes("m1") == {bob.id: "b"} and set(store.embeddings("m1")) == {bob.id}
    assert store.embedding_hashes("m2") == {alice.id: "a"}  # other models keep theirs
    assert store.delete_embeddings("m1", [alice.id]) == 0 and store.delete_embeddings("m1", []) == 0
    with pytest.raises(ValueError, match="model name"):
        store.delete_embeddings("bad model!", [bob.id])
    store.write_embeddings("m1", {alice.id: ("a2", np.array([0.5, 0.5]))})  # written again after a delete
    assert store.embedding_hashes("m1") == {alice.id: "a2", bob.id: "b"}


# -- declared capabilities ----------------------------------------------------------------------------

def test_store_declares_its_capabilities_and_has_their_roles(store: GraphStore) -> None:
    assert isinstance(store.capabilities, frozenset)
    assert all(isinstance(c, Capability) for c in store.capabilities)
    # a declared capability has its role's methods, an undeclared one does not pretend to
    assert isinstance(store, VectorSearch) == (Capability.VECTOR_SEARCH in store.capabilities)
    assert isinstance(store, PushSource) == (Capability.PUSH_SOURCE in store.capabilities)


def _eventually(read: Callable[[], _T], done: Callable[[_T], bool], seconds: float = 60.0) -> _T:
    """``read()`` until ``done`` says yes (a new vector index comes online in the background)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = read()
            if done(value) or time.monotonic() > deadline:
                return value
        except GraphStoreError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def test_vector_search_answers_nearest_or_is_refused(store: GraphStore) -> None:
    import numpy as np

    store.upsert(_delta())
    alice, bob, paris = (Entity.named("Alice", "Person"), Entity.named("Bob", "Person"),
                         Entity.named("Paris", "Place"))
    # a model no other test writes: clear() keeps Neo4j's vector index, and with it the index's dimension
    store.write_embeddings("nearest-3d", {alice.id: ("a", [1.0, 0.0, 0.0]), bob.id: ("b", [0.9, 0.1, 0.0]),
                                  paris.id: ("p", [0.0, 0.0, 1.0])})
    if Capability.VECTOR_SEARCH not in store.capabilities:
        with pytest.raises(UnsupportedCapabilityError, match="vector_search"):
            vector_search(store)
        return
    search = vector_search(store)
    query = np.array([1.0, 0.05, 0.0], dtype=np.float32)
    found = _eventually(lambda: search.nearest("nearest-3d", query, k=2), lambda hits: len(hits) == 2)
    assert [i for i, _ in found] == [alice.id, bob.id]
    assert found[0][1] >= found[1][1]  # best first


def test_push_source_rebuilds_itself_elsewhere_or_is_refused(store: GraphStore, tmp_path: Path) -> None:
    store.upsert(_delta())
    store.upsert(_ally_delta())
    store.record_run(Run(id="run-1", kind="build"))
    store.record_merges([_ally_merge()])
    alice = Entity.named("Alice", "Person")
    store.write_node_metrics({alice.id: {"degree": 2.0}})
    store.mark_hubs([alice.id])
    with SQLiteGraphStore(tmp_path / "target.db") as target:
        target.upsert(_delta())
        target.mark_hubs([Entity.named("Bob", "Person").id])  # the target's own former hub loses its mark
        before = target.counts()
        if Capability.PUSH_SOURCE not in store.capabilities:
            with pytest.raises(UnsupportedCapabilityError, match="push_source"):
                push_source(store)
            with pytest.raises(UnsupportedCapabilityError):
                push(store, target)
            assert target.counts() == before  # refused before any write
            return
        result = push(store, target)
        assert (result["new_entities"], result["runs"], result["merges"]) == (1, 1, 1)
        assert target.snapshot() == store.snapshot() and target.merges() == store.merges()
        assert target.node_metrics(alice.id) == {"degree": 2.0, "hub_rank": 1.0}
        assert target.node_metrics(Entity.named("Bob", "Person").id) == {}
        assert [r.id for r in target.runs()] == ["run-1"]


# -- mention-level provenance and relation origins ----------------------------------------------------

def _spans_delta(run_id: str = "run-1", spans: tuple[int, int, int, int] = (0, 5, 10, 13)) -> GraphDelta:
    """``_delta`` whose MET observation names the two mentions it connects, plus a record edge."""
    base = _delta(run_id)
    met, likes = base.relations
    s0, s1, t0, t1 = spans
    met = met.model_copy(update={"source_start": s0, "source_end": s1, "target_start": t0, "target_end": t1})
    alice, paris = Entity.named("Alice", "Person"), Entity.named("Paris", "Place")
    visited = Relation.between(alice.id, "VISITED", paris.id, origin="record")  # stated by a record, no chunk
    return base.model_copy(update={"relations": (met, likes, visited)})


def test_relation_observations_keep_their_mention_spans(store: GraphStore) -> None:
    store.upsert(_spans_delta())
    first = store.provenance()
    by_type = {r.type: r for r in first.relations}
    assert set(by_type) == {"MET", "LIKES"}  # one observation per relation and evidence chunk; VISITED has none
    assert by_type["MET"].mention_spans == ((0, 5), (10, 13))
    assert by_type["LIKES"].mention_spans is None  # not given: unknown, never guessed by the store
    assert by_type["MET"].evidence == _delta().documents[0].text
    assert [(d.id, d.text) for d in first.documents] == [(d.id, d.text) for d in _delta().documents]
    assert [(c.start, c.end) for c in first.chunks] == [(0, len(_delta().documents[0].text))]
    assert sorted((m.start, m.end, m.text) for m in first.mentions) == sorted(
        (m.start, m.end, m.text) for m in _delta().mentions)


def test_mention_spans_are_idempotent_and_the_first_write_wins(store: GraphStore) -> None:
    store.upsert(_spans_delta())
    before, snapshot = store.provenance(), store.snapshot()
    store.upsert(_spans_delta(run_id="run-2"))  # the same delta again
    store.upsert(_spans_delta(run_id="run-3", spans=(0, 5, 24, 27)))  # same (relation, chunk), other spans
    assert store.provenance() == before
    assert store.snapshot() == snapshot
    met = next(e for e in store.snapshot().edges if e.type == "MET")
    assert met.support == 1


def test_record_edges_are_told_from_extracted_relations(store: GraphStore) -> None:
    store.upsert(_spans_delta())
    origins = {e.type: e.origin for e in store.snapshot().edges}
    assert origins == {"MET": "extracted", "LIKES": "extracted", "VISITED": "record"}
    counts = store.counts()
    assert counts.relation_origins == {"extracted": 2, "record": 1}
    assert counts.relations == 3
    alice = Entity.named("Alice", "Person")
    _, rels = store.neighbours(alice.id)
    assert {r.type: r.origin for r in rels} == {"MET": "extracted", "LIKES": "extracted", "VISITED": "record"}


def test_json_export_holds_provenance_and_origins(store: GraphStore, tmp_path: Path) -> None:
    import json

    from kgweave.graph_store.exchange import export_graph

    store.upsert(_spans_delta())
    out = tmp_path / "graph.json"
    summary = export_graph(store, "json", out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert {"nodes", "relationships", "documents", "chunks", "mentions", "evidence"} <= set(data)
    assert (summary["documents"], summary["chunks"], summary["mentions"], summary["evidence"]) == (1, 1, 5, 2)
    text = data["documents"][0]["text"]
    (chunk,) = data["chunks"]
    assert (chunk["document_id"], chunk["start"], chunk["end"]) == (data["documents"][0]["id"], 0, len(text))
    assert all(text[m["start"]:m["end"]] == m["text"] for m in data["mentions"])
    met = next(e for e in data["evidence"] if e["type"] == "MET")
    assert (text[met["source_start"]:met["source_end"]], text[met["target_start"]:met["target_end"]]) == (
        "Alice", "Bob")
    assert (met["chunk_id"], met["origin"], met["evidence"]) == (chunk["id"], "extracted", text)
    likes = next(e for e in data["evidence"] if e["type"] == "LIKES")
    assert likes["source_start"] is None and likes["target_end"] is None
    assert {r["type"]: r["origin"] for r in data["relationships"]} == {
        "MET": "extracted", "LIKES": "extracted", "VISITED": "record"}
    assert {r["type"]: r["support"] for r in data["relationships"]}["MET"] == 1  # existing keys still there


def test_push_keeps_mention_spans_and_origins(store: GraphStore, tmp_path: Path) -> None:
    if Capability.PUSH_SOURCE not in store.capabilities:
        pytest.skip("not a push source (refusal tested above)")
    store.upsert(_spans_delta())
    with SQLiteGraphStore(tmp_path / "target.db") as target:
        push(store, target)
        assert target.provenance() == store.provenance()
        assert target.snapshot() == store.snapshot()  # origins included
