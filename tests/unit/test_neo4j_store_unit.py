"""Neo4jGraphStore against a fake transaction: one query per label/type, rows as parameters, batching."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from kgweave.graph_store.errors import GraphStoreError  # noqa: E402
from kgweave.graph_store.models import Chunk, Document, Entity, GraphDelta, Mention, Relation  # noqa: E402
from kgweave.graph_store.neo4j_store import DanglingReferenceError, Neo4jGraphStore, _json_patch  # noqa: E402


@dataclass
class _Counters:
    nodes_created: int = 0
    relationships_created: int = 0
    properties_set: int = 0


@dataclass
class _Result:
    record: dict[str, object] | None
    rows: list[dict[str, object]] = field(default_factory=list)

    def single(self, strict: bool = False) -> dict[str, object] | None:
        return self.record

    def consume(self) -> object:
        return type("Summary", (), {"counters": _Counters(nodes_created=1, relationships_created=1)})()

    def __iter__(self) -> Iterator[dict[str, object]]:
        return iter(self.rows)


class FakeTx:
    """Records (query, parameters); every row 'matches', nothing is missing unless told."""

    def __init__(self, missing: list[str] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.missing = missing or []

    def run(self, query: str, parameters: dict[str, Any] | None = None, **kwargs: Any) -> _Result:
        params = {**(parameters or {}), **kwargs}
        self.calls.append((query, params))
        if "RETURN collect(id) AS missing" in query:
            return _Result({"missing": list(self.missing)})
        rows = params.get("rows") or params.get("ids") or []
        return _Result({"matched": len(rows)})


def _store(batch_size: int = 1000) -> Any:  # Any: _upsert is fed a FakeTx, not a ManagedTransaction
    store = Neo4jGraphStore.__new__(Neo4jGraphStore)  # no driver: _upsert is driven with a fake tx
    store.url, store.database, store.batch_size = "bolt://fake", None, batch_size
    return store


def _delta() -> GraphDelta:
    text = "Alice met Bob in Paris."
    doc = Document.from_text(text, source="t")
    chunk = Chunk.of(doc, 0, 0, len(text))
    alice, bob, paris = Entity.named("Alice", "Person"), Entity.named("Bob", "Person"), Entity.named("Paris", "Place")
    return GraphDelta(
        run_id="r1", extractor="test", fingerprint="fp", done_documents=(doc.id,), documents=(doc,),
        chunks=(chunk,), entities=(alice, bob, paris),
        mentions=(Mention.of(alice.id, chunk.id, 0, 5, "Alice"), Mention.of(bob.id, chunk.id, 10, 13, "Bob")),
        relations=(
            Relation.between(alice.id, "MET", bob.id, chunk_id=chunk.id, evidence=text),
            Relation.between(alice.id, "MET", bob.id, chunk_id=chunk.id, evidence="again"),
            Relation.between(bob.id, "VISITED", paris.id),
        ),
    )


def test_one_entity_and_one_relation_query_with_labels_types_and_rows_as_parameters() -> None:
    tx = FakeTx()
    _store()._upsert(tx, _delta())
    entity_queries = [(q, p) for q, p in tx.calls if "MERGE (e:Entity" in q]
    assert len(entity_queries) == 1  # every label in one query: SET e:$(row.label)
    rows = entity_queries[0][1]["rows"]
    assert sorted((r["label"], r["name"]) for r in rows) == [("Person", "Alice"), ("Person", "Bob"), ("Place", "Paris")]
    relation_queries = [(q, p) for q, p in tx.calls if "MERGE (a)-[r:" in q]
    assert len(relation_queries) == 1  # every type in one query: [r:$(row.type)]
    by_type = {r["type"]: r for r in relation_queries[0][1]["rows"]}
    assert sorted(by_type) == ["MET", "VISITED"]
    # Two observations of MET in one chunk: one row, one evidence entry (the first).
    unknown = {"source_start": -1, "source_end": -1, "target_start": -1, "target_end": -1}  # spans not given
    assert by_type["MET"]["evidence"] == [{"chunk_id": _delta().chunks[0].id, "text": "Alice met Bob in Paris.",
                                           **unknown}]
    assert by_type["MET"]["origin"] == "extracted"
    assert by_type["VISITED"]["imported"] is True and by_type["VISITED"]["evidence"] == []
    for query, _ in tx.calls:
        for name in ("Alice", "Bob", "Paris", "Alice met Bob", "Person", "Place", "MET", "VISITED"):
            assert name not in query, "values, labels and types must be parameters, never query text"


def test_an_unsafe_label_or_type_is_refused_before_any_entity_write() -> None:
    tx = FakeTx()
    bad = Entity.named("Alice", "Person").model_copy(update={"label": "Person`) DETACH DELETE n //"})
    with pytest.raises(ValueError, match="unsafe node label"):
        _store()._upsert(tx, GraphDelta(run_id="r", extractor="t", entities=(bad,)))
    assert not any("MERGE (e:Entity" in q for q, _ in tx.calls)
    good = Entity.named("Alice", "Person")
    rel = Relation.between(good.id, "MET", good.id).model_copy(update={"type": "MET]->(x) DETACH DELETE x //"})
    with pytest.raises(ValueError, match="unsafe relationship type"):  # the models check too; the store again
        _store()._upsert(FakeTx(), GraphDelta.model_construct(run_id="r", extractor="t", entities=(good,),
                                                              relations=(rel,)))


def test_rows_are_split_into_batches_in_the_same_transaction() -> None:
    entities = tuple(Entity.named(f"E{i}", "Concept") for i in range(7))
    tx = FakeTx()
    stats = _store(batch_size=3)._upsert(tx, GraphDelta(run_id="r", extractor="t", entities=entities))
    sizes = [len(p["rows"]) for q, p in tx.calls if "MERGE (e:Entity" in q]
    assert sizes == [3, 3, 1]
    assert stats.entities == 3  # the fake reports one created node per query


def test_dangling_reference_aborts_before_the_relation_write() -> None:
    tx = FakeTx(missing=["nope"])
    delta = GraphDelta(run_id="r", extractor="t", relations=(Relation.between("nope", "MET", "nada"),))
    with pytest.raises(DanglingReferenceError, match="not in the store") as info:
        _store()._upsert(tx, delta)
    assert isinstance(info.value, GraphStoreError)
    assert not any("MERGE (a)-[r:" in q for q, _ in tx.calls)


def test_json_patch_matches_sqlite_json_patch() -> None:
    assert _json_patch(None, {"a": 1, "b": None}) == '{"a": 1}'
    assert _json_patch('{"a": 1, "b": 2}', {"b": None, "c": "x"}) == '{"a": 1, "c": "x"}'
