"""Cypher for embeddings: only checked property names enter the query text."""

from __future__ import annotations

import pytest

from kgweave.graph_store import cypher


def test_vector_index_is_cosine_with_the_dimension() -> None:
    query = cypher.vector_index("embedding_all_minilm_l6_v2", 384)
    assert query.startswith("CREATE VECTOR INDEX kgweave_embedding_all_minilm_l6_v2 IF NOT EXISTS")
    assert "`vector.dimensions`: 384" in query and "'cosine'" in query


@pytest.mark.parametrize("prop", ["embedding_", "name", "embedding_x}) DETACH DELETE e //", "embedding_A"])
def test_unsafe_properties_are_refused(prop: str) -> None:
    for build in (cypher.write_embeddings, cypher.embeddings, cypher.embedding_hashes, cypher.nearest_by_vector,
                  cypher.delete_embeddings):
        with pytest.raises(ValueError):
            build(prop)


def test_bad_dimensions_are_refused() -> None:
    with pytest.raises(ValueError):
        cypher.vector_index("embedding_m", 0)


def test_writes_are_parameterised() -> None:
    query = cypher.write_embeddings("embedding_m")
    assert "UNWIND $rows AS row" in query and "e.embedding_m = row.vector" in query
    assert "e.embedding_m_hash = row.hash" in query
