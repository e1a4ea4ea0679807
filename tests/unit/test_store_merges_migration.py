"""A v1 SQLite store (before entity merges) is migrated in place and keeps its graph."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kgweave.graph_store.models import Entity, EntityMerge, GraphDelta
from kgweave.graph_store.sqlite_store import _SCHEMA_V1, SCHEMA_VERSION, SQLiteGraphStore


def test_v1_store_migrates_to_merges(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    conn = sqlite3.connect(db)
    conn.executescript(_SCHEMA_V1 + "PRAGMA user_version = 1;")
    conn.close()
    with SQLiteGraphStore(db) as store:
        store.upsert(GraphDelta(run_id="r", extractor="test",
                                entities=(Entity.named("GNN", "Concept"), Entity.named("GNNs", "NamedEntity"))))
        alias, canonical = Entity.named("GNNs", "NamedEntity").id, Entity.named("GNN", "Concept").id
        assert store.record_merges([EntityMerge(alias_id=alias, canonical_id=canonical, run_id="x")]) == 1
        assert store.counts().entities == 1
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
    conn.close()
