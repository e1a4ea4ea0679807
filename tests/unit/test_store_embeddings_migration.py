"""A v2 SQLite store (before embeddings) is migrated to v3 in place and keeps its graph."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from kgweave.graph_store.models import Entity, GraphDelta
from kgweave.graph_store.sqlite_store import _SCHEMA_V1, _SCHEMA_V2, SCHEMA_VERSION, SQLiteGraphStore
from kgweave.graph_store.vectors import from_blob, model_property, text_hash, to_blob


def test_v2_store_migrates_to_embeddings(tmp_path: Path) -> None:
    db = tmp_path / "v2.db"
    conn = sqlite3.connect(db)
    conn.executescript(_SCHEMA_V1 + _SCHEMA_V2 + "PRAGMA user_version = 2;")
    conn.execute("INSERT INTO entities (id, name, norm_name, label) VALUES ('e1', 'GNN', 'gnn', 'Concept')")
    conn.commit()
    conn.close()
    with SQLiteGraphStore(db) as store:
        assert [e.name for e in store.entities()] == ["GNN"]
        assert store.write_embeddings("m", {"e1": ("h", [0.5, 0.5])}) == 1
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
    blob = conn.execute("SELECT vector FROM embeddings").fetchone()[0]
    assert len(blob) == 8  # two float32
    conn.close()


def test_blob_packing_and_names() -> None:
    vector = np.array([1.5, -2.25, 3.0], dtype=np.float64)
    assert from_blob(to_blob(vector)).tolist() == [1.5, -2.25, 3.0]
    assert model_property("all-MiniLM-L6-v2") == "embedding_all_minilm_l6_v2"
    assert text_hash("a") != text_hash("b") and len(text_hash("a")) == 32
    with pytest.raises(ValueError):
        model_property("x`) DETACH DELETE n //")


def test_embeddings_of_an_entity_label(tmp_path: Path) -> None:
    with SQLiteGraphStore(tmp_path / "s.db") as store:
        store.upsert(GraphDelta(run_id="r", extractor="t", entities=(Entity.named("A", "Paper"),)))
        assert store.write_embeddings("m", {}) == 0
