"""Neo4jGraphStore on a real Neo4j: the graph's layout, parity with the SQLite store, errors.

Needs the ``neo4j_server`` / ``neo4j_store`` fixtures of ``tests/integration/neo4j_fixture.py``
(registered in ``tests/conftest.py``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import neo4j
import pytest

from kgweave.graph_store.errors import SchemaVersionError, StoreUnavailableError
from kgweave.graph_store.models import Chunk, Document, Entity, GraphDelta, Iteration, Mention, Relation, Run
from kgweave.graph_store.neo4j_store import Neo4jGraphStore  # noqa: E402
from kgweave.graph_store.protocol import GraphStore
from kgweave.graph_store.sqlite_store import SQLiteGraphStore

pytestmark = pytest.mark.integration


def _doc_delta(text: str, run_id: str, labels: dict[str, str], rels: list[tuple[str, str, str]],
               iteration: int | None = None, **entity_kwargs: dict[str, object]) -> GraphDelta:
    doc = Document.from_text(text, source=f"{run_id}.txt", metadata={"run": run_id})
    chunk = Chunk.of(doc, 0, 0, len(text))
    entities = {name: Entity.named(name, label, **entity_kwargs.get(name, {})) for name, label in labels.items()}
    mentions = [
        Mention.of(e.id, chunk.id, m.start(), m.end(), m.group())
        for e in entities.values() for m in re.finditer(re.escape(e.name), text, re.IGNORECASE)
    ]
    relations = [
        Relation.between(entities[a].id, t, entities[b].id, chunk_id=chunk.id, evidence=text,
                         properties={"confidence": 0.5})
        for a, t, b in rels
    ]
    return GraphDelta(
        run_id=run_id, extractor="test", model="m1", fingerprint="fp", iteration=iteration,
        done_documents=(doc.id,), documents=(doc,), chunks=(chunk,), entities=tuple(entities.values()),
        mentions=tuple(mentions), relations=tuple(relations),
    )


def _scenario() -> list[GraphDelta]:
    """Deltas touching every merge rule: repeats, new evidence, imported edges, property patches."""
    people = {"Alice": "Person", "Bob": "Person", "Paris": "Place", "Report": "Document"}
    first = _doc_delta("Alice met Bob in Paris. Alice wrote a Report.", "r1", people,
                       [("Alice", "MET", "Bob"), ("Alice", "WROTE", "Report")], iteration=0,
                       Alice={"description": "first", "properties": {"age": 30, "city": "Paris"}})
    second = _doc_delta("ALICE met bob again.", "r2", {"Alice": "Person", "Bob": "Person"},
                        [("Alice", "MET", "Bob")], iteration=1,
                        Alice={"description": "second", "properties": {"city": None, "job": "chemist"}})
    alice, paris = Entity.named("Alice", "Person"), Entity.named("Paris", "Place")
    imported = GraphDelta(run_id="imp", extractor="import", relations=(
        Relation.between(alice.id, "LIVES_IN", paris.id, evidence="from a file"),
        Relation.between(alice.id, "LIVES_IN", paris.id),  # the same import twice: support stays 1
        Relation.between(alice.id, "MET", Entity.named("Bob", "Person").id),  # chunk-less evidence adds one
    ))
    return [first, second, imported, first, imported]  # repeats must change nothing


def _state(store: GraphStore, entity_ids: list[str]) -> dict[str, object]:
    return {
        "snapshot": store.snapshot(),
        "counts": store.counts(),
        "entities": [store.get_entity(i) for i in entity_ids],
        "neighbours": [store.neighbours(i, hops=2) for i in entity_ids],
        "find": [store.find_entities(n) for n in ("alice", "Bob", "paris", "nobody")],
        "done": store.documents_done([d.id for delta in _scenario() for d in delta.documents], "fp"),
    }


def test_matches_the_sqlite_store(neo4j_store: Neo4jGraphStore, tmp_path: Path) -> None:
    sqlite = SQLiteGraphStore(tmp_path / "ref.db")
    stats = {"neo4j": [], "sqlite": []}  # type: dict[str, list[object]]
    for delta in _scenario():
        stats["neo4j"].append(neo4j_store.upsert(delta))
        stats["sqlite"].append(sqlite.upsert(delta))
    assert stats["neo4j"] == stats["sqlite"]
    ids = sorted({e.id for delta in _scenario() for e in delta.entities})
    assert _state(neo4j_store, ids) == _state(sqlite, ids)
    alice = neo4j_store.get_entity(Entity.named("Alice", "Person").id)
    assert alice is not None and alice.description == "first"
    # r2 removed city (null) and added job; the repeated r1 batch patched city back in.
    assert alice.properties == {"age": 30, "city": "Paris", "job": "chemist"}
    edges = {e.type: e.support for e in neo4j_store.snapshot().edges}
    assert edges == {"MET": 3, "WROTE": 1, "LIVES_IN": 1}
    sqlite.close()


def test_small_batches_give_the_same_graph(neo4j_store: Neo4jGraphStore, neo4j_server: object) -> None:
    for delta in _scenario():
        neo4j_store.upsert(delta)
    expected = (neo4j_store.snapshot(), neo4j_store.counts())
    neo4j_store.clear()
    conn = neo4j_server
    with Neo4jGraphStore(conn.url, conn.user, conn.password, batch_size=2) as small:  # type: ignore[attr-defined]
        for delta in _scenario():
            small.upsert(delta)
        assert (small.snapshot(), small.counts()) == expected


def test_graph_layout_in_neo4j(neo4j_store: Neo4jGraphStore, neo4j_server: object) -> None:
    delta = _scenario()[0]
    neo4j_store.upsert(delta)
    conn = neo4j_server
    with neo4j.GraphDatabase.driver(conn.url, auth=(conn.user, conn.password)) as driver:  # type: ignore[attr-defined]
        labels = driver.execute_query("MATCH (e:Entity {name: 'Alice'}) RETURN labels(e) AS l").records[0]["l"]
        assert sorted(labels) == ["Entity", "Person"]
        report = driver.execute_query("MATCH (e:Entity:Document) RETURN e.name AS n").records
        assert [r["n"] for r in report] == ["Report"]
        rec = driver.execute_query(
            "MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk)<-[m:MENTIONED_IN]-(e:Entity {name: 'Alice'}) "
            "RETURN d.fingerprints AS fp, count(m) AS mentions, e.support AS support, e.first_run AS run, "
            "e.extractor AS extractor, e.model AS model, e.first_iteration AS it"
        ).records[0]
        assert (rec["fp"], rec["mentions"], rec["support"], rec["run"], rec["extractor"], rec["model"],
                rec["it"]) == (["fp"], 2, 1, "r1", "test", "m1", 0)
        met = driver.execute_query("MATCH (:Entity)-[r:MET]->(:Entity) RETURN r").records[0]["r"]
        assert met["support"] == 1 and met["chunk_ids"] == [delta.chunks[0].id] and met["last_run"] == "r1"
    counts = neo4j_store.counts()
    assert counts.documents == 1 and counts.labels == {"Document": 1, "Person": 2, "Place": 1}


def test_metrics_are_node_properties(neo4j_store: Neo4jGraphStore) -> None:
    neo4j_store.upsert(_scenario()[0])
    alice = Entity.named("Alice", "Person").id
    assert neo4j_store.write_node_metrics({alice: {"degree": 2, "pagerank": 0.5}, "ghost": {"degree": 1}}) == 1
    assert neo4j_store.write_node_metrics({alice: {"degree": 3}}) == 1
    assert neo4j_store.node_metrics(alice) == {"degree": 3.0, "pagerank": 0.5}
    assert neo4j_store.node_metrics("ghost") == {}
    for bad in ("name", "support", "Page-Rank"):
        with pytest.raises(ValueError):
            neo4j_store.write_node_metrics({alice: {bad: 1.0}})
    assert neo4j_store.get_entity(alice) == Entity.named(
        "Alice", "Person", description="first", properties={"age": 30, "city": "Paris"})


def test_runs_keep_their_timestamps(neo4j_store: Neo4jGraphStore) -> None:
    start = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    late = Run(id="b", kind="expand", started_at=start + timedelta(hours=1), parameters={"seed": "x"})
    early = Run(id="a", kind="build", started_at=start, finished_at=start + timedelta(minutes=5),
                status="completed", extractor="cooccurrence", summary={"entities": 3, "ok": True})
    neo4j_store.record_run(late)
    neo4j_store.record_run(early)
    assert list(neo4j_store.runs()) == [early, late]
    neo4j_store.record_iteration(Iteration(run_id="b", iteration=2, metrics={"modularity": 0.4}))
    neo4j_store.record_iteration(Iteration(run_id="b", iteration=2, metrics={"modularity": 0.5}))
    assert list(neo4j_store.iterations("b")) == [Iteration(run_id="b", iteration=2, metrics={"modularity": 0.5})]
    assert neo4j_store.counts().runs == 2


def test_unreachable_or_refused_server_is_store_unavailable(neo4j_server: object) -> None:
    conn = neo4j_server
    with pytest.raises(StoreUnavailableError, match="credentials"):
        Neo4jGraphStore(conn.url, conn.user, "not-the-password")  # type: ignore[attr-defined]
    with pytest.raises(StoreUnavailableError, match="unreachable"):
        Neo4jGraphStore("bolt://127.0.0.1:9", "neo4j", "whatever-password")


def test_newer_schema_is_refused(neo4j_store: Neo4jGraphStore) -> None:
    from kgweave.graph_store import cypher

    neo4j_store._write("bump", lambda tx: tx.run(cypher.write_schema_version(), id=cypher.SCHEMA_META_ID,
                                                  version=99).consume())
    with pytest.raises(SchemaVersionError, match="99"):
        neo4j_store.ensure_schema()


def test_schema_2_relations_get_an_origin_and_keep_parallel_evidence_lists(neo4j_store: Neo4jGraphStore) -> None:
    from kgweave.graph_store import cypher

    text = "BERT uses attention."
    delta = _doc_delta(text, "r1", {"BERT": "Concept", "attention": "Concept"}, [("BERT", "USES", "attention")])
    bert, attention = Entity.named("BERT"), Entity.named("attention")
    paper = Entity.named("A paper", "Paper")
    chunk_id = delta.chunks[0].id
    neo4j_store.upsert(delta.model_copy(update={"entities": (*delta.entities, paper), "relations": (
        *delta.relations, Relation.between(paper.id, "MENTIONS", bert.id, chunk_id=chunk_id))}))
    neo4j_store.upsert(GraphDelta(run_id="r2", extractor="records",
                                  relations=(Relation.between(paper.id, "CITES", attention.id),)))
    neo4j_store.upsert(GraphDelta(run_id="r3", extractor="import:graphml",
                                  relations=(Relation.between(attention.id, "RELATED_TO", paper.id),)))
    # as a store written before schema 3 left it: no origin, no span lists
    neo4j_store._write("downgrade", lambda tx: tx.run(
        "MATCH (:Entity)-[r]->(:Entity) REMOVE r.origin, r.source_starts, r.source_ends, r.target_starts, "
        "r.target_ends").consume())
    neo4j_store._write("v2", lambda tx: tx.run(cypher.write_schema_version(), id=cypher.SCHEMA_META_ID,
                                                version=2).consume())
    neo4j_store.ensure_schema()
    assert {e.type: e.origin for e in neo4j_store.snapshot().edges} == {
        "USES": "extracted", "MENTIONS": "record", "CITES": "record", "RELATED_TO": "imported"}
    later = _doc_delta("Later BERT uses attention.", "r4", {"BERT": "Concept", "attention": "Concept"},
                       [("BERT", "USES", "attention")])
    (uses,) = later.relations
    spans = {"source_start": 6, "source_end": 10, "target_start": 16, "target_end": 25}
    neo4j_store.upsert(later.model_copy(update={"relations": (uses.model_copy(update=spans),)}))
    observed = {r.chunk_id: r.mention_spans for r in neo4j_store.provenance().relations if r.type == "USES"}
    assert observed == {chunk_id: None, later.chunks[0].id: ((6, 10), (16, 25))}  # lists stayed parallel
