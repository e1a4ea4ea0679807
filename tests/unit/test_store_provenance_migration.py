"""A v3 SQLite store (before mention spans and relation origins) is migrated to v4 in place, nothing lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kgweave.graph_store.models import Chunk, Document, Entity, GraphDelta, Mention, Relation
from kgweave.graph_store.sqlite_store import _SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3, SCHEMA_VERSION, SQLiteGraphStore

TEXT = "BERT uses attention."


def _v3_store(db: Path) -> None:
    doc = Document.from_text(TEXT, source="t.txt")
    chunk = Chunk.of(doc, 0, 0, len(TEXT))
    bert, attention, paper = Entity.named("BERT"), Entity.named("attention"), Entity.named("A paper", "Paper")
    rels = {
        "uses": (Relation.between(bert.id, "USES", attention.id), chunk.id, TEXT, "cooccurrence"),
        "mentions": (Relation.between(paper.id, "MENTIONS", bert.id), chunk.id, None, "cooccurrence"),
        "authored": (Relation.between(paper.id, "CITES", bert.id), None, None, "records"),
        "imported": (Relation.between(attention.id, "RELATED_TO", paper.id), None, None, "import:graphml"),
    }
    conn = sqlite3.connect(db)
    conn.executescript(_SCHEMA_V1 + _SCHEMA_V2 + _SCHEMA_V3 + "PRAGMA user_version = 3;")
    conn.execute("INSERT INTO documents VALUES (?, 't.txt', NULL, '{}', ?, 'r', 'r')", (doc.id, TEXT))
    conn.execute("INSERT INTO chunks VALUES (?, ?, 0, 0, ?, ?)", (chunk.id, doc.id, len(TEXT), TEXT))
    for e in (bert, attention, paper):
        conn.execute("INSERT INTO entities (id, name, norm_name, label) VALUES (?, ?, ?, ?)",
                     (e.id, e.name, e.name.lower(), e.label))
    conn.execute("INSERT INTO mentions VALUES (?, ?, ?, 0, 4, 'BERT')",
                 (Mention.of(bert.id, chunk.id, 0, 4, "BERT").id, bert.id, chunk.id))
    for rel, chunk_id, evidence, extractor in rels.values():
        conn.execute("INSERT INTO relations (id, source_id, target_id, type, support, extractor) "
                     "VALUES (?, ?, ?, ?, 1, ?)", (rel.id, rel.source_id, rel.target_id, rel.type, extractor))
        conn.execute("INSERT INTO relation_evidence VALUES (?, ?, ?, ?)", (rel.id, chunk_id or "-", chunk_id, evidence))
    conn.commit()
    conn.close()


def test_v3_store_migrates_to_mention_spans_and_origins(tmp_path: Path) -> None:
    db = tmp_path / "v3.db"
    _v3_store(db)
    with SQLiteGraphStore(db) as store:
        counts = store.counts()
        assert (counts.documents, counts.chunks, counts.entities, counts.relations, counts.mentions) == (1, 1, 3, 4, 1)
        assert counts.relation_origins == {"extracted": 1, "imported": 1, "record": 2}
        origins = {e.type: e.origin for e in store.snapshot().edges}
        assert origins == {"USES": "extracted", "MENTIONS": "record", "CITES": "record", "RELATED_TO": "imported"}
        observations = store.provenance().relations
        assert sorted(r.type for r in observations) == ["MENTIONS", "USES"]
        assert all(r.mention_spans is None for r in observations)  # unknown before v4, never guessed
        assert next(r for r in observations if r.type == "USES").evidence == TEXT
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    conn.close()


def test_migrated_store_takes_new_observations_with_spans(tmp_path: Path) -> None:
    db = tmp_path / "v3.db"
    _v3_store(db)
    text = "Later, BERT uses attention again."
    doc = Document.from_text(text, source="u.txt")
    chunk = Chunk.of(doc, 0, 0, len(text))
    bert, attention = Entity.named("BERT"), Entity.named("attention")
    rel = Relation.between(bert.id, "USES", attention.id, chunk_id=chunk.id, evidence=text,
                           source_start=7, source_end=11, target_start=17, target_end=26)
    with SQLiteGraphStore(db) as store:
        store.upsert(GraphDelta(run_id="r2", extractor="t", documents=(doc,), chunks=(chunk,),
                                entities=(bert, attention), relations=(rel,)))
        uses = [r for r in store.provenance().relations if r.type == "USES"]
        assert [r.mention_spans for r in uses if r.chunk_id == chunk.id] == [((7, 11), (17, 26))]
        assert next(e for e in store.snapshot().edges if e.type == "USES").support == 2
