"""Embeddings on Neo4j: a cosine vector index on the model's property, queried for nearest nodes."""

from __future__ import annotations

import numpy as np
import pytest

from kgweave.graph_store.models import Entity, GraphDelta
from kgweave.graph_store.neo4j_store import Neo4jGraphStore

pytestmark = pytest.mark.integration


def test_vector_index_is_created_and_answers_nearest(neo4j_store: Neo4jGraphStore) -> None:
    entities = [Entity.named(name, "Concept") for name in ("graph", "network", "database")]
    neo4j_store.upsert(GraphDelta(run_id="r", extractor="t", entities=tuple(entities)))
    vectors = {entities[0].id: ("a", [1.0, 0.0, 0.0]), entities[1].id: ("b", [0.9, 0.1, 0.0]),
               entities[2].id: ("c", [0.0, 0.0, 1.0])}
    assert neo4j_store.write_embeddings("all-MiniLM-L6-v2", vectors) == 3
    with neo4j_store._driver.session() as session:
        session.run("CALL db.awaitIndexes(300)").consume()
        index = session.run(
            "SHOW VECTOR INDEXES YIELD name, properties, options WHERE name = $name RETURN properties, options",
            name="kgweave_embedding_all_minilm_l6_v2").single()
    assert index is not None and index["properties"] == ["embedding_all_minilm_l6_v2"]
    config = index["options"]["indexConfig"]
    assert config["vector.dimensions"] == 3 and config["vector.similarity_function"].lower() == "cosine"
    nearest = neo4j_store.nearest("all-MiniLM-L6-v2", np.array([1.0, 0.05, 0.0], dtype=np.float32), k=2)
    assert [i for i, _ in nearest] == [entities[0].id, entities[1].id]
    # entity reads do not carry the vector properties
    assert neo4j_store.get_entity(entities[0].id) == entities[0]
