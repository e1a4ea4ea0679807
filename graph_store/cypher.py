"""Cypher for the Neo4j store, as pure string builders (tested as strings, no driver here).

Values always travel as query parameters (``$rows``, ``$run``...). The only names that enter query
text are node labels and relationship types, and only after :func:`check_label` /
:func:`check_relation_type` matched them against the strict patterns of :mod:`graph_store.ids`;
rows are grouped by label or type and each group gets its own query.

Graph layout::

    (:Document {id, fingerprints: [...]})-[:HAS_CHUNK]->(:Chunk {id, document_id, index, start, end, text})
    (:Entity:<Label> {id, name, norm_name, label, support, ...})-[:MENTIONED_IN {id, start, end, text}]->(:Chunk)
    (:Entity)-[:<TYPE> {id, origin, chunk_ids: [...], evidence: [...], source_starts: [...], source_ends: [...],
                        target_starts: [...], target_ends: [...], imported, support, ...}]->(:Entity)
    (:Run {id, kind, started_at, ...})   (:Iteration {id, run_id, iteration, metrics})
    (alias:Entity)-[:SAME_AS {is_merge: true, score, method, run_id}]->(canonical:Entity {aliases: [names]})

A relation's evidence is parallel lists, one item per evidence chunk: the chunk id, the evidence
sentence ('' if none) and the two mention spans the observation connects (-1 where unknown: Neo4j
lists hold no nulls). ``origin`` is ``extracted``, ``record`` or ``imported`` (see ``models.Relation``).

Merge edges carry ``is_merge: true`` (extracted relations keep their properties in one JSON string, so
never have a top-level ``is_merge``); an extracted ``SAME_AS`` relation therefore stays an ordinary edge.

Structural labels (Document, Chunk, Run, Iteration) may also be entity labels (an extracted
"Document" concept), so queries that count or list structural nodes exclude ``:Entity`` nodes.
"""

from __future__ import annotations

import re

from kgweave.graph_store.ids import LABEL_PATTERN, RELATION_TYPE_PATTERN
from kgweave.graph_store.store_helpers import HUB_RANK, METRIC_NAME_PATTERN
from kgweave.graph_store.store_helpers import check_metric_name as _check_metric_pattern

__all__ = [
    "ENTITY_RESERVED_PROPERTIES",
    "HUB_LABEL",
    "HUB_RANK",
    "METRIC_NAME_PATTERN",
    "SCHEMA_META_ID",
    "STRUCTURAL_LABELS",
    "STRUCTURAL_RELATION_TYPES",
    "check_label",
    "check_metric_name",
    "check_relation_type",
    "count_query",
    "create_merges",
    "delete_all",
    "delete_merges",
    "documents_done",
    "embedding_dimension",
    "embedding_hashes",
    "embeddings",
    "entities_by_ids",
    "entities_by_label",
    "entity_label_counts",
    "existing_entity_properties",
    "existing_relation_properties",
    "find_entities",
    "get_entity",
    "iterations",
    "mark_documents_done",
    "mark_hubs",
    "nearest_by_vector",
    "merge_chunks",
    "merge_documents",
    "merge_entities",
    "merge_mentions",
    "merge_relations",
    "merges",
    "migrate_relation_origins",
    "provenance_query",
    "missing_ids",
    "neighbour_ids",
    "node_metrics",
    "read_schema_version",
    "record_iteration",
    "record_run",
    "refresh_aliases",
    "refresh_entity_aggregates",
    "relation_origin_counts",
    "relation_type_counts",
    "relations_among",
    "runs",
    "schema_statements",
    "snapshot_edges",
    "snapshot_nodes",
    "unmark_hubs",
    "vector_index",
    "write_embeddings",
    "write_node_metrics",
    "write_schema_version",
]

STRUCTURAL_RELATION_TYPES = ("HAS_CHUNK", "MENTIONED_IN")
SCHEMA_META_ID = "kgweave-schema"
# Entity properties the store owns; a node metric with one of these names would overwrite them.
ENTITY_RESERVED_PROPERTIES = frozenset({
    "id", "name", "norm_name", "label", "description", "properties", "support", "first_run",
    "last_run", "first_iteration", "last_iteration", "extractor", "model", "metric_names", "aliases",
})
# Node labels of the graph's structure (KgweaveMeta holds the schema version).
STRUCTURAL_LABELS = ("Document", "Chunk", "Entity", "Run", "Iteration", "KgweaveMeta")
# The label `kgweave analyze --write-back` puts on the top-N hubs (and takes off nodes no longer among them).
HUB_LABEL = "Hub"
_NOT_STRUCTURAL = "NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'] AND r.is_merge IS NULL"
_ORIGIN = "coalesce(r.origin, 'extracted')"

# one row per evidence chunk of a matched relation (a)-[r]->(b): its observation, with the two mention spans
_OBSERVATIONS = (
    "UNWIND range(0, size(r.chunk_ids) - 1) AS i\n"
    "RETURN r.id AS id, a.id AS source_id, b.id AS target_id, type(r) AS type,\n"
    f"    r.properties AS properties, {_ORIGIN} AS origin, r.chunk_ids[i] AS chunk_id,\n"
    "    r.evidence[i] AS evidence, r.source_starts[i] AS source_start,\n"
    "    r.source_ends[i] AS source_end, r.target_starts[i] AS target_start,\n"
    "    r.target_ends[i] AS target_end\n"
    "ORDER BY id, chunk_id"
)


def check_label(label: str) -> str:
    """Return ``label`` if it may enter Cypher text as a node label, else raise ValueError."""
    if not isinstance(label, str) or not LABEL_PATTERN.fullmatch(label):
        raise ValueError(f"unsafe node label {label!r}: must match {LABEL_PATTERN.pattern}")
    return label


def check_relation_type(rel_type: str) -> str:
    """Return ``rel_type`` if it may enter Cypher text as a relationship type, else raise ValueError."""
    if not isinstance(rel_type, str) or not RELATION_TYPE_PATTERN.fullmatch(rel_type):
        raise ValueError(f"unsafe relationship type {rel_type!r}: must match {RELATION_TYPE_PATTERN.pattern}")
    if rel_type in STRUCTURAL_RELATION_TYPES:
        raise ValueError(f"relationship type {rel_type!r} is reserved for the graph's structure")
    return rel_type


def check_metric_name(name: str) -> str:
    """Return ``name`` if it may be a node metric (stored as a node property), else raise ValueError."""
    if _check_metric_pattern(name) in ENTITY_RESERVED_PROPERTIES:
        raise ValueError(f"metric name {name!r} is reserved for the entity's own properties")
    return name


def _structural_label(label: str) -> str:
    if label not in STRUCTURAL_LABELS:
        raise ValueError(f"{label!r} is not one of the store's structural labels {STRUCTURAL_LABELS}")
    return label


# -- schema --------------------------------------------------------------------------------------


def schema_statements() -> list[str]:
    """Constraints and indexes, each safe to run again (``IF NOT EXISTS``); one statement per query."""
    unique = [
        ("kgweave_document_id", "(n:Document)", "n.id"),
        ("kgweave_chunk_id", "(n:Chunk)", "n.id"),
        ("kgweave_entity_id", "(n:Entity)", "n.id"),
        ("kgweave_run_id", "(n:Run)", "n.id"),
        ("kgweave_iteration_id", "(n:Iteration)", "n.id"),
        ("kgweave_meta_id", "(n:KgweaveMeta)", "n.id"),
        ("kgweave_mention_id", "()-[n:MENTIONED_IN]-()", "n.id"),
    ]
    indexes = [
        ("kgweave_entity_norm_name", "(n:Entity)", "n.norm_name"),
        ("kgweave_entity_name", "(n:Entity)", "n.name"),
        ("kgweave_entity_label", "(n:Entity)", "n.label"),
        ("kgweave_entity_first_run", "(n:Entity)", "n.first_run"),
        ("kgweave_entity_last_run", "(n:Entity)", "n.last_run"),
        ("kgweave_chunk_document", "(n:Chunk)", "n.document_id"),
        ("kgweave_iteration_run", "(n:Iteration)", "n.run_id"),
        ("kgweave_run_started", "(n:Run)", "n.started_at"),
    ]
    return [
        *(f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR {pattern} REQUIRE {prop} IS UNIQUE"
          for name, pattern, prop in unique),
        *(f"CREATE INDEX {name} IF NOT EXISTS FOR {pattern} ON ({prop})" for name, pattern, prop in indexes),
    ]


def read_schema_version() -> str:
    return "MATCH (m:KgweaveMeta {id: $id}) RETURN m.schema_version AS version"


def write_schema_version() -> str:
    return "MERGE (m:KgweaveMeta {id: $id}) SET m.schema_version = $version"


# -- upsert --------------------------------------------------------------------------------------


def merge_documents() -> str:
    """Rows: id, source, title, metadata (JSON), text. First write wins; last_run always moves."""
    return (
        "UNWIND $rows AS row\n"
        "MERGE (d:Document {id: row.id})\n"
        "ON CREATE SET d.source = row.source, d.title = row.title, d.metadata = row.metadata,\n"
        "    d.text = row.text, d.first_run = $run, d.fingerprints = []\n"
        "SET d.last_run = $run\n"
        "RETURN count(d) AS matched"
    )


def merge_chunks() -> str:
    """Rows: id, document_id, index, start, end, text. A row whose document is missing is dropped."""
    return (
        "UNWIND $rows AS row\n"
        "MATCH (d:Document {id: row.document_id})\n"
        "MERGE (c:Chunk {id: row.id})\n"
        "ON CREATE SET c.document_id = row.document_id, c.index = row.index, c.start = row.start,\n"
        "    c.end = row.end, c.text = row.text\n"
        "MERGE (d)-[:HAS_CHUNK]->(c)\n"
        "RETURN count(c) AS matched"
    )


def existing_entity_properties() -> str:
    """Current ``properties`` JSON of the entities in ``$ids`` (to merge new properties into)."""
    return "UNWIND $ids AS id MATCH (e:Entity {id: id}) RETURN e.id AS id, e.properties AS properties"


def merge_entities() -> str:
    """Rows of any labels: id, label, name, norm_name, description, properties (merged JSON or null).

    One query text for every label (Cypher 5.26 dynamic labels): the caller checks each row's label
    with :func:`check_label` first. The first-written name, extractor and model stay; description is
    filled if empty.
    """
    return (
        "UNWIND $rows AS row\n"
        "MERGE (e:Entity {id: row.id})\n"
        "ON CREATE SET e:$(row.label), e.label = row.label, e.name = row.name, e.norm_name = row.norm_name,\n"
        "    e.support = 0, e.first_run = $run, e.first_iteration = $iteration,\n"
        "    e.extractor = $extractor, e.model = $model\n"
        "SET e.last_run = $run, e.last_iteration = coalesce($iteration, e.last_iteration),\n"
        "    e.description = coalesce(e.description, row.description),\n"
        "    e.properties = coalesce(row.properties, e.properties, '{}')\n"
        "RETURN count(e) AS matched"
    )


def merge_mentions() -> str:
    """Rows: id, entity_id, chunk_id, start, end, text. Rows with a missing endpoint are dropped."""
    return (
        "UNWIND $rows AS row\n"
        "MATCH (e:Entity {id: row.entity_id})\n"
        "MATCH (c:Chunk {id: row.chunk_id})\n"
        "MERGE (e)-[m:MENTIONED_IN {id: row.id}]->(c)\n"
        "ON CREATE SET m.start = row.start, m.end = row.end, m.text = row.text\n"
        "RETURN count(m) AS matched"
    )


def refresh_entity_aggregates() -> str:
    """Set support (distinct chunks mentioning) and name (most frequent mention text) of ``$ids``.

    Recomputed from the MENTIONED_IN edges, so the result does not depend on batch order.
    """
    return (
        "UNWIND $ids AS id\n"
        "MATCH (e:Entity {id: id})-[m:MENTIONED_IN]->(c:Chunk)\n"
        "WITH e, m.text AS text, count(m) AS uses, collect(DISTINCT c.id) AS chunk_ids\n"
        "ORDER BY uses DESC, text ASC\n"
        "WITH e, collect(text)[0] AS name, collect(chunk_ids) AS chunk_id_lists\n"
        "UNWIND chunk_id_lists AS chunk_id_list\n"
        "UNWIND chunk_id_list AS chunk_id\n"
        "WITH e, name, count(DISTINCT chunk_id) AS support\n"
        "SET e.name = name, e.support = support\n"
        "RETURN count(e) AS matched"
    )


def missing_ids(label: str) -> str:
    """Which of ``$ids`` have no node of the structural ``label`` (to reject dangling references)."""
    label = _structural_label(label)
    return (
        "UNWIND $ids AS id\n"
        f"OPTIONAL MATCH (n:{label} {{id: id}})\n"
        "WITH id, n WHERE n IS NULL\n"
        "RETURN collect(id) AS missing"
    )


def existing_relation_properties(rel_type: str) -> str:
    """Current ``properties`` JSON of relations of one type; rows: id, source_id, target_id."""
    rel_type = check_relation_type(rel_type)
    return (
        "UNWIND $rows AS row\n"
        f"MATCH (:Entity {{id: row.source_id}})-[r:{rel_type} {{id: row.id}}]->(:Entity {{id: row.target_id}})\n"
        "RETURN r.id AS id, r.properties AS properties"
    )


def merge_relations() -> str:
    """Rows of any types: id, type, source_id, target_id, origin, properties (merged JSON or null),
    evidence (list of {chunk_id, text, source_start, source_end, target_start, target_end}, -1 for an
    unknown span, first seen first), imported (bool), imported_evidence.

    One query text for every type (Cypher 5.26 dynamic types): the caller checks each row's type with
    :func:`check_relation_type` first. Support = distinct evidence chunks, plus one if the edge was
    ever imported without a chunk; merging the same evidence again changes nothing (the first write
    per chunk keeps its text and spans; the origin is the first write's). Span lists of a relation
    written before they existed are padded with -1 so that they stay parallel to ``chunk_ids``.
    """
    return (
        "UNWIND $rows AS row\n"
        "MATCH (a:Entity {id: row.source_id})\n"
        "MATCH (b:Entity {id: row.target_id})\n"
        "MERGE (a)-[r:$(row.type) {id: row.id}]->(b)\n"
        "ON CREATE SET r.first_run = $run, r.first_iteration = $iteration, r.extractor = $extractor,\n"
        "    r.model = $model, r.chunk_ids = [], r.evidence = [], r.imported = false, r.origin = row.origin\n"
        "SET r.last_run = $run, r.last_iteration = coalesce($iteration, r.last_iteration),\n"
        "    r.properties = coalesce(row.properties, r.properties, '{}')\n"
        "WITH r, row, [ev IN row.evidence WHERE NOT ev.chunk_id IN r.chunk_ids] AS fresh,\n"
        "    [c IN r.chunk_ids | -1] AS unknown\n"
        "SET r.source_starts = coalesce(r.source_starts, unknown) + [ev IN fresh | ev.source_start],\n"
        "    r.source_ends = coalesce(r.source_ends, unknown) + [ev IN fresh | ev.source_end],\n"
        "    r.target_starts = coalesce(r.target_starts, unknown) + [ev IN fresh | ev.target_start],\n"
        "    r.target_ends = coalesce(r.target_ends, unknown) + [ev IN fresh | ev.target_end]\n"
        "SET r.chunk_ids = r.chunk_ids + [ev IN fresh | ev.chunk_id],\n"
        "    r.evidence = r.evidence + [ev IN fresh | coalesce(ev.text, '')],\n"
        "    r.imported_evidence = CASE WHEN r.imported THEN r.imported_evidence\n"
        "        ELSE row.imported_evidence END,\n"
        "    r.imported = r.imported OR row.imported\n"
        "SET r.support = size(r.chunk_ids) + CASE WHEN r.imported THEN 1 ELSE 0 END\n"
        "RETURN count(r) AS matched"
    )


def mark_documents_done() -> str:
    """Add ``$fingerprint`` to the ``fingerprints`` list of the documents ``$ids`` (once)."""
    return (
        "UNWIND $ids AS id\n"
        "MATCH (d:Document {id: id})\n"
        "SET d.fingerprints = CASE WHEN $fingerprint IN coalesce(d.fingerprints, [])\n"
        "    THEN d.fingerprints ELSE coalesce(d.fingerprints, []) + $fingerprint END\n"
        "RETURN count(d) AS matched"
    )


# -- merges --------------------------------------------------------------------------------------


def merges() -> str:
    """Every merge edge: alias id, canonical id, score, method, run id."""
    return (
        "MATCH (a:Entity)-[s:SAME_AS]->(c:Entity) WHERE s.is_merge = true\n"
        "RETURN a.id AS alias_id, c.id AS canonical_id, s.score AS score, s.method AS method,\n"
        "    s.run_id AS run_id\n"
        "ORDER BY alias_id"
    )


def delete_merges() -> str:
    """Remove the merge edges leaving the aliases ``$ids``."""
    return (
        "UNWIND $ids AS id\n"
        "MATCH (:Entity {id: id})-[s:SAME_AS]->(:Entity) WHERE s.is_merge = true\n"
        "DELETE s"
    )


def create_merges() -> str:
    """Rows: alias_id, canonical_id, score, method, run_id (each alias has no merge edge yet)."""
    return (
        "UNWIND $rows AS row\n"
        "MATCH (a:Entity {id: row.alias_id})\n"
        "MATCH (c:Entity {id: row.canonical_id})\n"
        "CREATE (a)-[s:SAME_AS {is_merge: true, score: row.score, method: row.method, run_id: row.run_id}]->(c)\n"
        "RETURN count(s) AS matched"
    )


def refresh_aliases() -> str:
    """Set ``aliases`` (sorted alias names) on the entities ``$ids``; removed when there are none."""
    return (
        "UNWIND $ids AS id\n"
        "MATCH (c:Entity {id: id})\n"
        "OPTIONAL MATCH (a:Entity)-[s:SAME_AS]->(c) WHERE s.is_merge = true\n"
        "WITH c, a.name AS name ORDER BY name\n"
        "WITH c, collect(name) AS names\n"
        "SET c.aliases = CASE WHEN size(names) = 0 THEN null ELSE names END\n"
        "RETURN count(c) AS matched"
    )


# -- reads ---------------------------------------------------------------------------------------

_ENTITY_FIELDS = (
    "e.id AS id, e.name AS name, e.label AS label, e.description AS description, "
    "e.properties AS properties"
)


def documents_done() -> str:
    return (
        "UNWIND $ids AS id\n"
        "MATCH (d:Document {id: id}) WHERE $fingerprint IN d.fingerprints\n"
        "RETURN d.id AS id"
    )


def get_entity() -> str:
    return f"MATCH (e:Entity {{id: $id}}) RETURN {_ENTITY_FIELDS}"


def find_entities() -> str:
    return (
        f"MATCH (e:Entity {{norm_name: $norm_name}}) RETURN {_ENTITY_FIELDS}\n"
        "ORDER BY e.support DESC, e.id LIMIT $limit"
    )


def neighbour_ids() -> str:
    """Ids of entities one relation away (either direction) from the entities ``$ids``."""
    return (
        "UNWIND $ids AS id\n"
        "MATCH (:Entity {id: id})-[r]-(m:Entity)\n"
        f"WHERE {_NOT_STRUCTURAL}\n"
        "RETURN DISTINCT m.id AS id"
    )


def entities_by_ids() -> str:
    return f"MATCH (e:Entity) WHERE e.id IN $ids RETURN {_ENTITY_FIELDS} ORDER BY e.id"


def relations_among() -> str:
    """Relations whose both ends are among ``$ids``."""
    return (
        "MATCH (a:Entity) WHERE a.id IN $ids\n"
        "MATCH (a)-[r]->(b:Entity)\n"
        f"WHERE b.id IN $ids AND {_NOT_STRUCTURAL}\n"
        "RETURN r.id AS id, a.id AS source_id, b.id AS target_id, type(r) AS type,\n"
        f"    r.properties AS properties, {_ORIGIN} AS origin\n"
        "ORDER BY id"
    )


def incident_relations() -> str:
    """Relations with either end among ``$ids``, with their support (one row per relation)."""
    return (
        "UNWIND $ids AS id\n"
        "MATCH (:Entity {id: id})-[r]-(:Entity)\n"
        f"WHERE {_NOT_STRUCTURAL}\n"
        "WITH DISTINCT r\n"
        "MATCH (a:Entity)-[r]->(b:Entity)\n"
        "RETURN r.id AS id, a.id AS source_id, b.id AS target_id, type(r) AS type,\n"
        f"    r.properties AS properties, {_ORIGIN} AS origin, coalesce(r.support, 1) AS support\n"
        "ORDER BY id"
    )


def relation_evidence() -> str:
    """Observations (one row per evidence chunk) of the relations ``$rels`` (``{id, source_id, target_id}``),
    found from their ends (entity ids are indexed, relation ids are not); -1 for an unknown span."""
    return (
        "UNWIND $rels AS rel\n"
        "MATCH (a:Entity {id: rel.source_id})-[r]->(b:Entity {id: rel.target_id})\n"
        f"WHERE r.id = rel.id AND {_NOT_STRUCTURAL} AND size(coalesce(r.chunk_ids, [])) > 0\n"
        + _OBSERVATIONS
    )


def chunks_by_ids() -> str:
    return (
        "UNWIND $ids AS id\n"
        "MATCH (c:Chunk {id: id}) WHERE NOT c:Entity\n"
        "RETURN c.id AS id, c.document_id AS document_id, c.index AS index, c.start AS start,\n"
        "    c.end AS end, c.text AS text ORDER BY id"
    )


def snapshot_nodes() -> str:
    return (
        "MATCH (e:Entity)\n"
        "RETURN e.id AS id, e.name AS name, e.label AS label, coalesce(e.support, 0) AS support,\n"
        "    e.first_run AS first_run, e.first_iteration AS first_iteration\n"
        "ORDER BY id"
    )


def snapshot_edges() -> str:
    return (
        "MATCH (a:Entity)-[r]->(b:Entity)\n"
        f"WHERE {_NOT_STRUCTURAL}\n"
        "RETURN r.id AS id, a.id AS source, b.id AS target, type(r) AS type,\n"
        "    coalesce(r.support, 1) AS support, r.first_run AS first_run, r.first_iteration AS first_iteration,\n"
        f"    {_ORIGIN} AS origin\n"
        "ORDER BY id"
    )


def write_node_metrics() -> str:
    """Rows: id, metrics (map of checked names to floats); returns how many entities matched."""
    return (
        "UNWIND $rows AS row\n"
        "MATCH (e:Entity {id: row.id})\n"
        "SET e += row.metrics,\n"
        "    e.metric_names = coalesce(e.metric_names, [])\n"
        "        + [k IN keys(row.metrics) WHERE NOT k IN coalesce(e.metric_names, [])]\n"
        "RETURN count(e) AS matched"
    )


def unmark_hubs() -> str:
    """Take the Hub label and the hub_rank metric off every entity not in $ids."""
    return (
        f"MATCH (e:Entity) WHERE (e:{HUB_LABEL} OR e.{HUB_RANK} IS NOT NULL) AND NOT e.id IN $ids\n"
        f"REMOVE e:{HUB_LABEL}, e.{HUB_RANK}\n"
        f"SET e.metric_names = [k IN coalesce(e.metric_names, []) WHERE k <> '{HUB_RANK}']"
    )


def mark_hubs() -> str:
    """Put the Hub label and hub_rank (1 = first of $ids) on the entities $ids; returns how many matched."""
    return (
        "UNWIND range(0, size($ids) - 1) AS i\n"
        "MATCH (e:Entity {id: $ids[i]})\n"
        f"SET e:{HUB_LABEL}, e.{HUB_RANK} = toFloat(i + 1),\n"
        f"    e.metric_names = [k IN coalesce(e.metric_names, []) WHERE k <> '{HUB_RANK}'] + ['{HUB_RANK}']\n"
        "RETURN count(e) AS matched"
    )


def node_metrics() -> str:
    return (
        "MATCH (e:Entity {id: $id})\n"
        "RETURN [k IN coalesce(e.metric_names, []) | [k, e[k]]] AS metrics"
    )


def count_query(what: str) -> str:
    """Total of one kind: documents, chunks, entities, relations, mentions or runs."""
    queries = {
        "documents": "MATCH (n:Document) WHERE NOT n:Entity RETURN count(n) AS n",
        "chunks": "MATCH (n:Chunk) WHERE NOT n:Entity RETURN count(n) AS n",
        "entities": "MATCH (n:Entity) RETURN count(n) AS n",
        "relations": f"MATCH (:Entity)-[r]->(:Entity) WHERE {_NOT_STRUCTURAL} RETURN count(r) AS n",
        "mentions": "MATCH ()-[r:MENTIONED_IN]->() RETURN count(r) AS n",
        "runs": "MATCH (n:Run) WHERE NOT n:Entity RETURN count(n) AS n",
    }
    if what not in queries:
        raise ValueError(f"unknown count {what!r}; choose one of {', '.join(queries)}")
    return queries[what]


def entity_label_counts() -> str:
    return "MATCH (e:Entity) RETURN e.label AS key, count(e) AS n ORDER BY key"


def relation_type_counts() -> str:
    return (
        "MATCH (:Entity)-[r]->(:Entity)\n"
        f"WHERE {_NOT_STRUCTURAL}\n"
        "RETURN type(r) AS key, count(r) AS n ORDER BY key"
    )


def relation_origin_counts() -> str:
    return (
        "MATCH (:Entity)-[r]->(:Entity)\n"
        f"WHERE {_NOT_STRUCTURAL}\n"
        f"RETURN {_ORIGIN} AS key, count(r) AS n ORDER BY key"
    )


def migrate_relation_origins() -> str:
    """Set ``origin`` on relations written before it existed (schema 3), from how they were written: a
    GraphML import, a records delta, or a MENTIONS link from a record (chunks but no evidence sentence)."""
    return (
        "MATCH (:Entity)-[r]->(:Entity)\n"
        f"WHERE {_NOT_STRUCTURAL} AND r.origin IS NULL\n"
        "SET r.origin = CASE\n"
        "    WHEN r.extractor = 'import:graphml' THEN 'imported'\n"
        "    WHEN r.extractor IN ['records', 'citeseer-tape']\n"
        "        OR (type(r) = 'MENTIONS' AND all(t IN coalesce(r.evidence, []) WHERE t = '')) THEN 'record'\n"
        "    ELSE 'extracted' END"
    )


def provenance_query(what: str) -> str:
    """Every row of one kind, ordered by id: documents, chunks, mentions, or relations (one row per
    relation and evidence chunk, with its evidence and mention spans; -1 for an unknown span)."""
    queries = {
        "documents": "MATCH (d:Document) WHERE NOT d:Entity\n"
                     "RETURN d.id AS id, d.source AS source, d.title AS title, d.metadata AS metadata,\n"
                     "    d.text AS text ORDER BY id",
        "chunks": "MATCH (c:Chunk) WHERE NOT c:Entity\n"
                  "RETURN c.id AS id, c.document_id AS document_id, c.index AS index, c.start AS start,\n"
                  "    c.end AS end, c.text AS text ORDER BY id",
        "mentions": "MATCH (e:Entity)-[m:MENTIONED_IN]->(c:Chunk)\n"
                    "RETURN m.id AS id, e.id AS entity_id, c.id AS chunk_id, m.start AS start, m.end AS end,\n"
                    "    m.text AS text ORDER BY id",
        "relations": "MATCH (a:Entity)-[r]->(b:Entity)\n"
                     f"WHERE {_NOT_STRUCTURAL} AND size(coalesce(r.chunk_ids, [])) > 0\n"
                     + _OBSERVATIONS,
    }
    if what not in queries:
        raise ValueError(f"unknown provenance rows {what!r}; choose one of {', '.join(queries)}")
    return queries[what]


def record_run() -> str:
    """Insert or replace the run: ``$props`` holds every property (id included)."""
    return "MERGE (r:Run {id: $props.id}) SET r = $props"


def runs() -> str:
    return (
        "MATCH (r:Run) WHERE NOT r:Entity\n"
        "RETURN r.id AS id, r.kind AS kind, r.started_at AS started_at, r.finished_at AS finished_at,\n"
        "    r.status AS status, r.extractor AS extractor, r.model AS model,\n"
        "    r.parameters AS parameters, r.summary AS summary\n"
        "ORDER BY r.started_at, r.id"
    )


def record_iteration() -> str:
    return (
        "MERGE (i:Iteration {id: $id})\n"
        "SET i.run_id = $run_id, i.iteration = $iteration, i.metrics = $metrics"
    )


def iterations() -> str:
    return (
        "MATCH (i:Iteration {run_id: $run_id}) WHERE NOT i:Entity\n"
        "RETURN i.run_id AS run_id, i.iteration AS iteration, i.metrics AS metrics\n"
        "ORDER BY i.iteration"
    )


def delete_all() -> str:
    """Remove every node and relationship in one transaction (tests, small graphs; schema stays)."""
    return "MATCH (n) DETACH DELETE n"


# -- embeddings ----------------------------------------------------------------------------------
# ``prop`` is graph_store.vectors.model_property(model): "embedding_" + [a-z0-9_], checked again here.

_EMBEDDING_PROPERTY = re.compile(r"^embedding_[a-z0-9_]{1,64}$")


def _embedding_property(prop: str) -> str:
    if not isinstance(prop, str) or not _EMBEDDING_PROPERTY.fullmatch(prop):
        raise ValueError(f"unsafe embedding property {prop!r}: must match {_EMBEDDING_PROPERTY.pattern}")
    return prop


def entities_by_label() -> str:
    """Every entity, or those whose label is ``$label`` (null: all), ordered by id."""
    return f"MATCH (e:Entity) WHERE $label IS NULL OR e.label = $label RETURN {_ENTITY_FIELDS} ORDER BY e.id"


def vector_index(prop: str, dimensions: int) -> str:
    """A cosine vector index on ``(:Entity).<prop>`` (Neo4j 5.11+), created once."""
    prop = _embedding_property(prop)
    if not isinstance(dimensions, int) or not 1 <= dimensions <= 4096:
        raise ValueError(f"vector dimensions must be an integer in 1..4096, got {dimensions!r}")
    return (
        f"CREATE VECTOR INDEX kgweave_{prop} IF NOT EXISTS FOR (e:Entity) ON (e.{prop})\n"
        f"OPTIONS {{indexConfig: {{`vector.dimensions`: {dimensions:d}, `vector.similarity_function`: 'cosine'}}}}"
    )


def write_embeddings(prop: str) -> str:
    """Rows: id, hash, vector (list of floats); sets ``<prop>`` and ``<prop>_hash`` of existing entities."""
    prop = _embedding_property(prop)
    return (
        "UNWIND $rows AS row\n"
        "MATCH (e:Entity {id: row.id})\n"
        f"SET e.{prop} = row.vector, e.{prop}_hash = row.hash\n"
        "RETURN count(e) AS matched"
    )


def embedding_dimension(prop: str) -> str:
    """The length of one stored ``<prop>`` vector (none stored: no row)."""
    prop = _embedding_property(prop)
    return f"MATCH (e:Entity) WHERE e.{prop} IS NOT NULL RETURN size(e.{prop}) AS dim LIMIT 1"


def embeddings(prop: str) -> str:
    """Ids and vectors of the entities that have ``<prop>`` (``$ids`` null: all of them)."""
    prop = _embedding_property(prop)
    return (
        f"MATCH (e:Entity) WHERE e.{prop} IS NOT NULL AND ($ids IS NULL OR e.id IN $ids)\n"
        f"RETURN e.id AS id, e.{prop} AS vector ORDER BY id"
    )


def embedding_hashes(prop: str) -> str:
    prop = _embedding_property(prop)
    return f"MATCH (e:Entity) WHERE e.{prop}_hash IS NOT NULL RETURN e.id AS id, e.{prop}_hash AS hash"


def delete_embeddings(prop: str) -> str:
    """Rows: id; removes ``<prop>`` and ``<prop>_hash`` from those entities that have them (the index follows)."""
    prop = _embedding_property(prop)
    return (
        "UNWIND $rows AS row\n"
        f"MATCH (e:Entity {{id: row.id}}) WHERE e.{prop} IS NOT NULL\n"
        f"REMOVE e.{prop}, e.{prop}_hash\n"
        "RETURN count(e) AS matched"
    )


def nearest_by_vector(prop: str) -> str:
    """The ``$k`` entities nearest to ``$vector`` by the cosine vector index on ``<prop>``, with their cosine
    (the index scores cosine similarity as (1 + cosine) / 2)."""
    prop = _embedding_property(prop)
    return (
        f"CALL db.index.vector.queryNodes('kgweave_{prop}', $k, $vector) YIELD node, score\n"
        "RETURN node.id AS id, 2 * score - 1 AS score ORDER BY score DESC, id"
    )
