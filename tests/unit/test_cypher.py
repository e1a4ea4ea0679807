"""The Neo4j store's Cypher, tested as strings: names are checked, values travel as parameters."""

from __future__ import annotations

import re

import pytest

from kgweave.graph_store import cypher

HOSTILE_LABELS = [
    "Person`) DETACH DELETE n //",
    "Person:Admin",
    "Person {id: 1}",
    "person",
    "",
    " Person",
    "Person\n",
    "Pérson",
    "P" * 65,
    "1Person",
    "Person-X",
]
HOSTILE_TYPES = [
    "KNOWS]->(x) DETACH DELETE x //",
    "KNOWS|LIKES",
    "KNOWS*1..5",
    "knows",
    "Knows",
    "KNOWS\n",
    "",
    "K" * 65,
    "_KNOWS",
    "KNOWS `x`",
]

# Every builder that takes no name, with what each must contain.
PLAIN_BUILDERS = [
    cypher.merge_documents, cypher.merge_chunks, cypher.merge_mentions, cypher.refresh_entity_aggregates,
    cypher.existing_entity_properties, cypher.mark_documents_done, cypher.documents_done,
    cypher.get_entity, cypher.find_entities, cypher.neighbour_ids, cypher.entities_by_ids,
    cypher.relations_among, cypher.snapshot_nodes, cypher.snapshot_edges, cypher.write_node_metrics,
    cypher.node_metrics, cypher.entity_label_counts, cypher.relation_type_counts, cypher.record_run,
    cypher.runs, cypher.record_iteration, cypher.iterations, cypher.read_schema_version,
    cypher.write_schema_version, cypher.delete_all,
]


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_hostile_labels_are_rejected(label: str) -> None:
    with pytest.raises(ValueError):
        cypher.check_label(label)


@pytest.mark.parametrize("rel_type", HOSTILE_TYPES)
def test_hostile_relation_types_are_rejected(rel_type: str) -> None:
    with pytest.raises(ValueError):
        cypher.check_relation_type(rel_type)
    with pytest.raises(ValueError):
        cypher.existing_relation_properties(rel_type)


@pytest.mark.parametrize("rel_type", cypher.STRUCTURAL_RELATION_TYPES)
def test_structural_relation_types_are_not_relation_types(rel_type: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        cypher.check_relation_type(rel_type)


def test_non_strings_are_rejected() -> None:
    with pytest.raises(ValueError):
        cypher.check_label(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cypher.check_relation_type(42)  # type: ignore[arg-type]


def test_entity_merge_takes_each_label_as_a_value() -> None:
    query = cypher.merge_entities()
    assert query.startswith("UNWIND $rows AS row\nMERGE (e:Entity {id: row.id})")
    assert "ON CREATE SET e:$(row.label), e.label = row.label" in query  # dynamic label: a value, never text
    for value in ("row.name", "row.norm_name", "row.description", "row.properties", "$run", "$iteration",
                  "$extractor", "$model"):
        assert value in query
    # First-written name, extractor and model: only set when the node is created.
    create_part = query.split("ON CREATE SET", 1)[1].split("\nSET ", 1)[0]
    assert "e.name = row.name" in create_part and "e.extractor = $extractor" in create_part


def test_relation_merge_is_keyed_on_id_between_matched_entities() -> None:
    query = cypher.merge_relations()
    assert "MATCH (a:Entity {id: row.source_id})" in query
    assert "MATCH (b:Entity {id: row.target_id})" in query
    assert "MERGE (a)-[r:$(row.type) {id: row.id}]->(b)" in query
    # Support is derived from the de-duplicated evidence list, so merging again changes nothing.
    assert "WHERE NOT ev.chunk_id IN r.chunk_ids" in query
    assert "r.support = size(r.chunk_ids) + CASE WHEN r.imported THEN 1 ELSE 0 END" in query
    assert query.rstrip().endswith("RETURN count(r) AS matched")


def test_mentions_link_entities_to_chunks() -> None:
    query = cypher.merge_mentions()
    assert "MERGE (e)-[m:MENTIONED_IN {id: row.id}]->(c)" in query
    assert "ON CREATE SET m.start = row.start, m.end = row.end, m.text = row.text" in query


def test_entity_aggregates_come_from_mentions() -> None:
    query = cypher.refresh_entity_aggregates()
    assert "MATCH (e:Entity {id: id})-[m:MENTIONED_IN]->(c:Chunk)" in query
    assert "ORDER BY uses DESC, text ASC" in query
    assert "count(DISTINCT chunk_id) AS support" in query


def test_documents_done_reads_the_fingerprints_list() -> None:
    assert "$fingerprint IN d.fingerprints" in cypher.documents_done()
    assert "coalesce(d.fingerprints, []) + $fingerprint" in cypher.mark_documents_done()


@pytest.mark.parametrize("builder", PLAIN_BUILDERS)
def test_values_travel_as_parameters(builder: object) -> None:
    query = builder()  # type: ignore[operator]
    assert isinstance(query, str) and query.strip()
    assert not re.search(r"\{[a-z_]+\}", query), "an unformatted placeholder was left in the query"
    assert "'" not in query or "['HAS_CHUNK', 'MENTIONED_IN']" in query, "string literals only for fixed types"


def test_schema_has_unique_ids_and_lookup_indexes() -> None:
    statements = cypher.schema_statements()
    assert all("IF NOT EXISTS" in s for s in statements)
    for label in ("Document", "Chunk", "Entity", "Run", "Iteration"):
        assert f"FOR (n:{label}) REQUIRE n.id IS UNIQUE" in " ".join(statements)
    assert any("()-[n:MENTIONED_IN]-()" in s and "IS UNIQUE" in s for s in statements)
    joined = "\n".join(statements)
    for prop in ("n.norm_name", "n.name", "n.first_run", "n.run_id"):
        assert f"ON ({prop})" in joined
    names = [s.split()[2] for s in statements]
    assert len(names) == len(set(names)), "constraint and index names must be unique"


@pytest.mark.parametrize("name", ["degree", "pagerank", "hub_score_2", "c" + "x" * 63])
def test_metric_names_accepted(name: str) -> None:
    assert cypher.check_metric_name(name) == name


@pytest.mark.parametrize("name", ["Degree", "page-rank", "2nd", "", "x" * 65, "a b", "name", "support", "id",
                                  "metric_names", "degree\n"])
def test_metric_names_rejected(name: str) -> None:
    with pytest.raises(ValueError):
        cypher.check_metric_name(name)


def test_structural_helpers_refuse_other_labels() -> None:
    assert "(n:Chunk {id: id})" in cypher.missing_ids("Chunk")
    with pytest.raises(ValueError):
        cypher.missing_ids("Person")
    with pytest.raises(ValueError):
        cypher.count_query("everything")


def test_counts_exclude_structure() -> None:
    assert "NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN']" in cypher.relation_type_counts()
    assert "WHERE NOT n:Entity" in cypher.count_query("documents")  # an entity may be labelled Document
    assert "e.label AS key" in cypher.entity_label_counts()
