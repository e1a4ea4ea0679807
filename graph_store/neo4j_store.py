"""The Neo4j store: the graph in a Neo4j 5 database, written with idempotent ``UNWIND $rows MERGE``.

The only module of kgweave that imports the ``neo4j`` driver. One driver per store; every write runs
in a managed transaction (``session.execute_write``), so the driver retries transient errors, and
one ``upsert`` is one transaction. The Cypher lives in :mod:`graph_store.cypher`.

Semantics follow :class:`graph_store.sqlite_store.SQLiteGraphStore` (the contract suite runs over
both): first-written document, chunk and entity fields stay, entity name and support are
recomputed from the mentions, relation support counts distinct evidence chunks, a batch with a
reference to a missing node is rejected whole.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

import neo4j
from neo4j import GraphDatabase, ManagedTransaction
from neo4j import exceptions as neo4j_errors

from kgweave.graph_store import cypher
from kgweave.graph_store.capabilities import Capability
from kgweave.graph_store.errors import GraphStoreError, SchemaVersionError, StoreUnavailableError
from kgweave.graph_store.history import as_of
from kgweave.graph_store.ids import normalize_name
from kgweave.graph_store.merges import collapse
from kgweave.graph_store.models import (
    Chunk,
    Document,
    Entity,
    EntityMerge,
    GraphDelta,
    GraphSnapshot,
    Iteration,
    Mention,
    Provenance,
    Relation,
    Run,
    Scalar,
    SnapshotEdge,
    SnapshotNode,
    StoreCounts,
    WriteStats,
)
from kgweave.graph_store.store_helpers import (
    changed_merges,
    check_dimension,
    collapsed_counts,
    shown_ids,
    snapshot_of_rows,
    to_json,
)
from kgweave.graph_store.vectors import EmbeddingRows, Vector, check_model_name, model_property, validated_rows

__all__ = ["SCHEMA_VERSION", "DanglingReferenceError", "Neo4jGraphStore"]

SCHEMA_VERSION = 3  # 2: entity merges (SAME_AS edges); 3: relation origin and evidence mention spans
_T = TypeVar("_T")
_Row = dict[str, object]


class DanglingReferenceError(GraphStoreError):
    """A batch refers to a node that is neither in the batch nor in the store; nothing was written."""


def _json_patch(current: str | None, new: Mapping[str, Scalar]) -> str:
    """RFC 7386 merge of flat objects, as SQLite's json_patch: new keys win, null removes a key."""
    merged: dict[str, object] = json.loads(current) if current else {}
    for key, value in new.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return to_json(merged)


def _slices(rows: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


class Neo4jGraphStore:
    """A :class:`~graph_store.protocol.GraphStore` in a Neo4j 5 database (5.26 LTS or newer).

    Parameters
    ----------
    url
        ``bolt://host:port`` or ``neo4j://host:port`` (the ``+s``/``+ssc`` variants too).
    user, password
        Basic auth; ``password=None`` connects without auth (for servers with auth disabled).
    database
        Database name; None uses the server's default database.
    batch_size
        Rows per ``UNWIND`` query; a larger batch is several queries in the same transaction.
    """

    capabilities: frozenset[Capability] = frozenset({Capability.VECTOR_SEARCH})

    def __init__(
        self,
        url: str,
        user: str = "neo4j",
        password: str | None = None,
        database: str | None = None,
        batch_size: int = 1000,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.url = url
        self.database = database
        self.batch_size = batch_size
        auth = (user, password) if password is not None else None
        with self._translated(f"connect to {url}"):
            # Notifications ("property key does not exist" on a young graph) would be logged as
            # warnings on every batch; the queries are fixed and tested, so the server is told not to send them.
            self._driver = GraphDatabase.driver(url, auth=auth, notifications_min_severity="OFF")
            try:
                self._driver.verify_connectivity()
            except BaseException:
                self._driver.close()
                raise

    # -- plumbing -------------------------------------------------------------------------------

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Translate driver errors into graph_store errors at the boundary."""
        try:
            yield
        except GraphStoreError:
            raise
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired) as exc:
            raise StoreUnavailableError(f"cannot {what}: Neo4j at {self.url} is unreachable: {exc}") from exc
        except neo4j_errors.AuthError as exc:
            raise StoreUnavailableError(f"cannot {what}: Neo4j at {self.url} refused the credentials") from exc
        except (neo4j_errors.Neo4jError, neo4j_errors.DriverError) as exc:
            raise GraphStoreError(f"cannot {what} on Neo4j at {self.url}: {exc}") from exc

    def _write(self, what: str, work: Callable[[ManagedTransaction], _T]) -> _T:
        with self._translated(what), self._driver.session(database=self.database) as session:
            return session.execute_write(work)

    def _read(self, what: str, work: Callable[[ManagedTransaction], _T]) -> _T:
        with self._translated(what), self._driver.session(database=self.database) as session:
            return session.execute_read(work)

    def _records(self, what: str, query: str, **params: object) -> list[neo4j.Record]:
        def work(tx: ManagedTransaction) -> list[neo4j.Record]:
            return list(tx.run(query, params))

        return self._read(what, work)

    # -- schema ---------------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create the constraints and indexes if missing; refuse a store written by a newer kgweave."""
        with self._translated("create the schema"):
            for statement in cypher.schema_statements():
                self._driver.execute_query(statement, database_=self.database)
        records = self._records("read the schema version", cypher.read_schema_version(), id=cypher.SCHEMA_META_ID)
        version = records[0]["version"] if records else None
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"Neo4j store {self.url} has schema version {version}; this kgweave knows up to "
                f"{SCHEMA_VERSION}: upgrade kgweave"
            )
        if isinstance(version, int) and version < 3:
            self._write("migrate relation origins", lambda tx: tx.run(cypher.migrate_relation_origins()).consume())
        if version != SCHEMA_VERSION:
            self._write("record the schema version", lambda tx: tx.run(
                cypher.write_schema_version(), id=cypher.SCHEMA_META_ID, version=SCHEMA_VERSION
            ).consume())

    # -- writes ---------------------------------------------------------------------------------

    def upsert(self, delta: GraphDelta) -> WriteStats:
        """Merge one batch in one transaction; counts only nodes/edges that did not exist before."""
        return self._write("write a batch", lambda tx: self._upsert(tx, delta))

    def _run_rows(self, tx: ManagedTransaction, query: str, rows: Sequence[_Row], counter: str,
                  **params: object) -> tuple[int, int]:
        """Run ``query`` over ``rows`` in slices; (rows matched, ``counter`` total)."""
        matched = created = 0
        for part in _slices(rows, self.batch_size):
            result = tx.run(query, {**params, "rows": list(part)})
            record = result.single()
            matched += int(record["matched"]) if record else 0
            created += int(getattr(result.consume().counters, counter))
        return matched, created

    def _require(self, tx: ManagedTransaction, label: str, ids: Iterable[str], what: str) -> None:
        wanted = sorted(set(ids))
        if not wanted:
            return
        missing: list[str] = []
        for part in _slices(wanted, self.batch_size):
            record = tx.run(cypher.missing_ids(label), ids=list(part)).single()
            missing += record["missing"] if record else []
        if missing:
            raise DanglingReferenceError(
                f"batch rejected: {what} refer to {len(missing)} {label} node(s) not in the store: {shown_ids(missing)}"
            )

    def _upsert(self, tx: ManagedTransaction, delta: GraphDelta) -> WriteStats:
        params: dict[str, object] = {
            "run": delta.run_id, "iteration": delta.iteration,
            "extractor": delta.extractor, "model": delta.model,
        }
        # Duplicates inside one batch: first row wins for insert-only rows, as INSERT OR IGNORE.
        docs = list({d.id: d for d in reversed(delta.documents)}.values())[::-1]
        _, new_docs = self._run_rows(tx, cypher.merge_documents(), [
            {"id": d.id, "source": d.source, "title": d.title, "metadata": to_json(d.metadata), "text": d.text}
            for d in docs
        ], "nodes_created", **params)

        chunks = list({c.id: c for c in reversed(delta.chunks)}.values())[::-1]
        self._require(tx, "Document", {c.document_id for c in chunks}, "chunks")
        _, new_chunks = self._run_rows(tx, cypher.merge_chunks(), [
            {"id": c.id, "document_id": c.document_id, "index": c.index, "start": c.start, "end": c.end,
             "text": c.text}
            for c in chunks
        ], "nodes_created", **params)

        new_entities = self._merge_entities(tx, delta, params)

        mentions = list({m.id: m for m in reversed(delta.mentions)}.values())[::-1]
        self._require(tx, "Entity", {m.entity_id for m in mentions}, "mentions")
        self._require(tx, "Chunk", {m.chunk_id for m in mentions}, "mentions")
        _, new_mentions = self._run_rows(tx, cypher.merge_mentions(), [
            {"id": m.id, "entity_id": m.entity_id, "chunk_id": m.chunk_id, "start": m.start, "end": m.end,
             "text": m.text}
            for m in mentions
        ], "relationships_created")
        touched = sorted({m.entity_id for m in mentions})
        for part in _slices(touched, self.batch_size):
            tx.run(cypher.refresh_entity_aggregates(), ids=list(part)).consume()

        new_relations = self._merge_relations(tx, delta, params)

        if delta.fingerprint and delta.done_documents:
            done = sorted(set(delta.done_documents))
            self._require(tx, "Document", done, "done_documents")
            for part in _slices(done, self.batch_size):
                tx.run(cypher.mark_documents_done(), ids=list(part), fingerprint=delta.fingerprint).consume()
        return WriteStats(documents=new_docs, chunks=new_chunks, entities=new_entities,
                          mentions=new_mentions, relations=new_relations)

    def _merge_entities(self, tx: ManagedTransaction, delta: GraphDelta, params: Mapping[str, object]) -> int:
        entities = list({e.id: e for e in delta.entities}.values())  # last row wins, as the SQLite store
        with_props = [e.id for e in entities if e.properties]
        current: dict[str, str | None] = {}
        for part in _slices(with_props, self.batch_size):
            current.update({r["id"]: r["properties"] for r in tx.run(cypher.existing_entity_properties(),
                                                                      ids=list(part))})
        rows: list[_Row] = [{
            "id": e.id, "label": cypher.check_label(e.label), "name": e.name, "norm_name": normalize_name(e.name),
            "description": e.description,
            "properties": _json_patch(current.get(e.id), e.properties) if e.properties else None,
        } for e in entities]
        return self._run_rows(tx, cypher.merge_entities(), rows, "nodes_created", **params)[1]

    def _merge_relations(self, tx: ManagedTransaction, delta: GraphDelta, params: Mapping[str, object]) -> int:
        if not delta.relations:
            return 0
        self._require(tx, "Entity", {r.source_id for r in delta.relations} | {r.target_id for r in delta.relations},
                      "relations")
        self._require(tx, "Chunk", {r.chunk_id for r in delta.relations if r.chunk_id}, "relation evidence")
        rows: dict[str, _Row] = {}
        evidence: dict[str, dict[str, Relation]] = defaultdict(dict)
        imported: dict[str, str | None] = {}
        for rel in delta.relations:
            rows[rel.id] = {"id": rel.id, "type": rel.type, "source_id": rel.source_id,
                            "target_id": rel.target_id, "properties": rel.properties, "origin": rel.origin}
            if rel.chunk_id is None:
                imported.setdefault(rel.id, rel.evidence)
            else:
                evidence[rel.id].setdefault(rel.chunk_id, rel)  # first evidence per chunk wins
        with_props: dict[str, list[_Row]] = defaultdict(list)  # by type: few, so static queries
        for row in rows.values():
            cypher.check_relation_type(str(row["type"]))
            if row["properties"]:
                with_props[str(row["type"])].append(
                    {"id": row["id"], "source_id": row["source_id"], "target_id": row["target_id"]})
        current: dict[str, str | None] = {}
        for rel_type in sorted(with_props):
            for part in _slices(with_props[rel_type], self.batch_size):
                current.update({rec["id"]: rec["properties"]
                                for rec in tx.run(cypher.existing_relation_properties(rel_type), rows=list(part))})
        query_rows: list[_Row] = []
        for rel_id, row in rows.items():
            props = row["properties"]
            assert isinstance(props, dict)
            query_rows.append({
                "id": rel_id, "type": row["type"], "source_id": row["source_id"], "target_id": row["target_id"],
                "origin": row["origin"], "properties": _json_patch(current.get(rel_id), props) if props else None,
                "evidence": [_evidence_row(c, r) for c, r in evidence.get(rel_id, {}).items()],
                "imported": rel_id in imported, "imported_evidence": imported.get(rel_id),
            })
        return self._run_rows(tx, cypher.merge_relations(), query_rows, "relationships_created", **params)[1]

    def write_node_metrics(self, metrics: Mapping[str, Mapping[str, float]]) -> int:
        """Set metrics as entity properties (``n.degree``...); names must match ^[a-z][a-z0-9_]{0,63}$
        and not be one of the entity's own properties. Returns how many entities exist among the ids."""
        rows: list[_Row] = []
        for node_id, values in metrics.items():
            rows.append({"id": node_id,
                         "metrics": {cypher.check_metric_name(k): float(v) for k, v in values.items()}})

        def work(tx: ManagedTransaction) -> int:
            return self._run_rows(tx, cypher.write_node_metrics(), rows, "properties_set")[0]

        return self._write("write node metrics", work) if rows else 0

    def mark_hubs(self, ranked_ids: Sequence[str]) -> int:
        """Move the ``:Hub`` label and ``hub_rank`` to exactly ``ranked_ids`` (best first), in one transaction."""
        ids = list(dict.fromkeys(ranked_ids))

        def work(tx: ManagedTransaction) -> int:
            tx.run(cypher.unmark_hubs(), ids=ids).consume()
            return int(tx.run(cypher.mark_hubs(), ids=ids).single(strict=True)["matched"]) if ids else 0

        return self._write("mark hubs", work)

    def record_merges(self, merges: Sequence[EntityMerge]) -> int:
        """Record merges as ``SAME_AS`` edges (idempotent); aliases always point at a final canonical,
        and each canonical's ``aliases`` lists its aliases' names. Returns merges created or changed."""
        if not merges:
            return 0
        ids = {m.alias_id for m in merges} | {m.canonical_id for m in merges}

        def work(tx: ManagedTransaction) -> int:
            self._require(tx, "Entity", ids, "merges")
            current = {m.alias_id: m for m in self._merge_records(tx)}
            changed = changed_merges(current, merges)
            self._set_merges(tx, changed, current)
            return len(changed)

        return self._write("record merges", work)

    def _set_merges(self, tx: ManagedTransaction, changed: Sequence[EntityMerge],
                    current: Mapping[str, EntityMerge]) -> None:
        aliases = sorted({m.alias_id for m in changed})
        touched = set(aliases) | {m.canonical_id for m in changed}
        touched |= {current[a].canonical_id for a in aliases if a in current}
        for part in _slices(aliases, self.batch_size):
            tx.run(cypher.delete_merges(), ids=list(part)).consume()
        rows: list[_Row] = [m.model_dump() for m in changed]
        for batch in _slices(rows, self.batch_size):
            tx.run(cypher.create_merges(), rows=list(batch)).consume()
        for part in _slices(sorted(touched), self.batch_size):
            tx.run(cypher.refresh_aliases(), ids=list(part)).consume()

    def remove_merges(self, run_id: str | None = None, alias_ids: Iterable[str] | None = None) -> int:
        """Delete the merge edges of ``run_id`` and/or ``alias_ids`` (both None: all merges)."""
        wanted = None if alias_ids is None else set(alias_ids)

        def work(tx: ManagedTransaction) -> int:
            doomed = [m for m in self._merge_records(tx)
                      if (run_id is None or m.run_id == run_id) and (wanted is None or m.alias_id in wanted)]
            ids = sorted(m.alias_id for m in doomed)
            for part in _slices(ids, self.batch_size):
                tx.run(cypher.delete_merges(), ids=list(part)).consume()
            for part in _slices(sorted({m.canonical_id for m in doomed}), self.batch_size):
                tx.run(cypher.refresh_aliases(), ids=list(part)).consume()
            return len(doomed)

        return self._write("remove merges", work)

    def merges(self) -> list[EntityMerge]:
        """Every recorded merge, ordered by alias id."""
        return self._read("read merges", self._merge_records)

    @staticmethod
    def _merge_records(tx: ManagedTransaction) -> list[EntityMerge]:
        return [
            EntityMerge(alias_id=r["alias_id"], canonical_id=r["canonical_id"], score=r["score"],
                        method=r["method"], run_id=r["run_id"])
            for r in tx.run(cypher.merges())
        ]

    def record_run(self, run: Run) -> None:
        """Insert or replace the run record (a ``:Run`` node)."""
        props = {
            "id": run.id, "kind": run.kind, "started_at": run.started_at, "finished_at": run.finished_at,
            "status": run.status, "extractor": run.extractor, "model": run.model,
            "parameters": to_json(run.parameters), "summary": to_json(run.summary),
        }
        self._write("record a run", lambda tx: tx.run(cypher.record_run(), props=props).consume())

    def record_iteration(self, iteration: Iteration) -> None:
        """Insert or replace one iteration's state (an ``:Iteration`` node keyed by run and number)."""
        self._write("record an iteration", lambda tx: tx.run(
            cypher.record_iteration(), id=f"{iteration.run_id}#{iteration.iteration}",
            run_id=iteration.run_id, iteration=iteration.iteration, metrics=to_json(iteration.metrics),
        ).consume())

    # -- reads ----------------------------------------------------------------------------------

    def documents_done(self, document_ids: Iterable[str], fingerprint: str) -> set[str]:
        """Ids among ``document_ids`` whose ``fingerprints`` list holds ``fingerprint``."""
        ids = list(dict.fromkeys(document_ids))
        done: set[str] = set()
        for part in _slices(ids, self.batch_size):
            records = self._records("read finished documents", cypher.documents_done(), ids=list(part),
                                    fingerprint=fingerprint)
            done |= {r["id"] for r in records}
        return done

    @staticmethod
    def _entity(record: neo4j.Record) -> Entity:
        return Entity(
            id=record["id"], name=record["name"], label=record["label"], description=record["description"],
            properties=json.loads(record["properties"] or "{}"),
        )

    def get_entity(self, entity_id: str) -> Entity | None:
        """The entity with this id, or None."""
        records = self._records("read an entity", cypher.get_entity(), id=entity_id)
        return self._entity(records[0]) if records else None

    def find_entities(self, name: str, limit: int = 10) -> list[Entity]:
        """Entities whose normalised name equals the normalised ``name``, most supported first."""
        records = self._records("find entities", cypher.find_entities(), norm_name=normalize_name(name),
                                limit=int(limit))
        return [self._entity(r) for r in records]

    def neighbours(self, entity_id: str, hops: int = 1) -> tuple[list[Entity], list[Relation]]:
        """Entities within ``hops`` (breadth first, both directions) and the relations among them."""

        def work(tx: ManagedTransaction) -> tuple[list[Entity], list[Relation]]:
            if tx.run(cypher.get_entity(), id=entity_id).single() is None:
                return [], []
            seen = {entity_id}
            frontier = [entity_id]
            for _ in range(max(hops, 0)):
                if not frontier:
                    break
                found: set[str] = set()
                for part in _slices(frontier, self.batch_size):
                    found |= {r["id"] for r in tx.run(cypher.neighbour_ids(), ids=list(part))}
                frontier = sorted(found - seen)
                seen |= found
            ids = sorted(seen)
            entities = [self._entity(r) for r in tx.run(cypher.entities_by_ids(), ids=ids)]
            relations = [
                Relation(id=r["id"], source_id=r["source_id"], target_id=r["target_id"], type=r["type"],
                         properties=json.loads(r["properties"] or "{}"), origin=r["origin"])
                for r in tx.run(cypher.relations_among(), ids=ids)
            ]
            return entities, relations

        return self._read("read neighbours", work)

    def snapshot(self, run_id: str | None = None, iteration: int | None = None) -> GraphSnapshot:
        """The entity graph collapsed by the merges, ordered by id (deterministic); with ``run_id``,
        the graph as it was at the end of that run (or of its ``iteration``), see graph_store.history."""
        point = None if run_id is None else as_of(self.runs(), run_id, iteration)

        def work(tx: ManagedTransaction) -> GraphSnapshot:
            nodes = [(SnapshotNode(id=r["id"], name=r["name"], label=r["label"], support=r["support"]),
                      r["first_run"], r["first_iteration"]) for r in tx.run(cypher.snapshot_nodes())]
            edges = [(SnapshotEdge(id=r["id"], source=r["source"], target=r["target"], type=r["type"],
                                   support=r["support"], origin=r["origin"]), r["first_run"], r["first_iteration"])
                     for r in tx.run(cypher.snapshot_edges())]
            return snapshot_of_rows(nodes, edges, self._merge_records(tx), point)

        return self._read("read a snapshot", work)

    def node_metrics(self, entity_id: str) -> dict[str, float]:
        """Metrics stored for one node."""
        records = self._records("read node metrics", cypher.node_metrics(), id=entity_id)
        if not records:
            return {}
        return {str(k): float(v) for k, v in records[0]["metrics"] if v is not None}

    def counts(self) -> StoreCounts:
        """Totals and per-label / per-relation-type counts (structural edges excluded)."""

        def work(tx: ManagedTransaction) -> StoreCounts:
            totals = {what: int(tx.run(cypher.count_query(what)).single(strict=True)["n"])
                      for what in ("documents", "chunks", "entities", "relations", "mentions", "runs")}
            merged = len(self._merge_records(tx))
            if merged:
                # The collapsed view, as snapshot(): one pass over the edges.
                nodes = [SnapshotNode(id=r["id"], name=r["name"], label=r["label"], support=r["support"])
                         for r in tx.run(cypher.snapshot_nodes())]
                edges = [SnapshotEdge(id=r["id"], source=r["source"], target=r["target"], type=r["type"],
                                      support=r["support"], origin=r["origin"])
                         for r in tx.run(cypher.snapshot_edges())]
                return collapsed_counts(totals, collapse(nodes, edges, self._merge_records(tx)), merged)
            labels = {r["key"]: int(r["n"]) for r in tx.run(cypher.entity_label_counts())}
            types = {r["key"]: int(r["n"]) for r in tx.run(cypher.relation_type_counts())}
            origins = {r["key"]: int(r["n"]) for r in tx.run(cypher.relation_origin_counts())}
            return StoreCounts(**totals, labels=labels, relation_types=types, merged_entities=merged,
                               relation_origins=origins)

        return self._read("count the graph", work)

    def provenance(self) -> Provenance:
        """Every document, chunk, mention and relation observation with an evidence chunk, ordered by id."""

        def work(tx: ManagedTransaction) -> Provenance:
            def rows(what: str) -> list[neo4j.Record]:
                return list(tx.run(cypher.provenance_query(what)))

            return Provenance(
                documents=tuple(Document(id=r["id"], source=r["source"], title=r["title"], text=r["text"],
                                         metadata=json.loads(r["metadata"] or "{}")) for r in rows("documents")),
                chunks=tuple(Chunk(id=r["id"], document_id=r["document_id"], index=r["index"], start=r["start"],
                                   end=r["end"], text=r["text"]) for r in rows("chunks")),
                mentions=tuple(Mention(id=r["id"], entity_id=r["entity_id"], chunk_id=r["chunk_id"],
                                       start=r["start"], end=r["end"], text=r["text"]) for r in rows("mentions")),
                relations=tuple(_observation(r) for r in rows("relations")),
            )

        return self._read("read provenance", work)

    def incident_relations(self, entity_ids: Iterable[str]) -> list[tuple[Relation, int]]:
        """Relations with either end among ``entity_ids`` and their support, ordered by id."""
        records = self._records("read incident relations", cypher.incident_relations(), ids=sorted(set(entity_ids)))
        return [(Relation(id=r["id"], source_id=r["source_id"], target_id=r["target_id"], type=r["type"],
                          properties=json.loads(r["properties"] or "{}"), origin=r["origin"]), int(r["support"]))
                for r in records]

    def relation_evidence(self, relations: Iterable[Relation]) -> list[Relation]:
        """Observations with an evidence chunk of ``relations``, ordered by relation id then chunk id."""
        rels = [{"id": r.id, "source_id": r.source_id, "target_id": r.target_id}
                for r in sorted({r.id: r for r in relations}.values(), key=lambda r: r.id)]
        return [_observation(r) for r in self._records("read relation evidence", cypher.relation_evidence(), rels=rels)]

    def chunks(self, chunk_ids: Iterable[str]) -> list[Chunk]:
        """The chunks with these ids, ordered by id."""
        return [Chunk(id=r["id"], document_id=r["document_id"], index=r["index"], start=r["start"], end=r["end"],
                      text=r["text"])
                for r in self._records("read chunks", cypher.chunks_by_ids(), ids=sorted(set(chunk_ids)))]

    def runs(self) -> Iterator[Run]:
        """All runs, oldest first."""
        for r in self._records("read runs", cypher.runs()):
            yield Run(
                id=r["id"], kind=r["kind"], started_at=_native(r["started_at"]),
                finished_at=_native(r["finished_at"]) if r["finished_at"] is not None else None,
                status=r["status"], extractor=r["extractor"], model=r["model"],
                parameters=json.loads(r["parameters"] or "{}"), summary=json.loads(r["summary"] or "{}"),
            )

    def iterations(self, run_id: str) -> Iterator[Iteration]:
        """A run's iterations in order."""
        for r in self._records("read iterations", cypher.iterations(), run_id=run_id):
            yield Iteration(run_id=r["run_id"], iteration=r["iteration"], metrics=json.loads(r["metrics"] or "{}"))

    # -- embeddings -----------------------------------------------------------------------------

    def entities(self, label: str | None = None) -> Iterator[Entity]:
        """Every entity (aliases of merges included), or those of one ``label``, ordered by id."""
        for record in self._records("read entities", cypher.entities_by_label(), label=label):
            yield self._entity(record)

    def write_embeddings(self, model: str, vectors: EmbeddingRows) -> int:
        """Set ``embedding_<model>`` (list of floats) and ``embedding_<model>_hash`` on the entities,
        after creating a cosine vector index on that property (dimension from the vectors)."""
        rows = validated_rows(model, vectors)
        if not rows:
            return 0
        prop, dim = model_property(model), rows[0][2].size
        stored = self._records("read an embedding", cypher.embedding_dimension(prop))
        check_dimension(model, int(stored[0]["dim"]) if stored else None, dim)
        with self._translated("create a vector index"):
            self._driver.execute_query(cypher.vector_index(prop, dim), database_=self.database)
        payload: list[_Row] = [{"id": i, "hash": h, "vector": v.tolist()} for i, h, v in rows]

        def work(tx: ManagedTransaction) -> int:
            return self._run_rows(tx, cypher.write_embeddings(prop), payload, "properties_set")[0]

        return self._write("write embeddings", work)

    def embeddings(self, model: str, ids: Iterable[str] | None = None) -> dict[str, Vector]:
        """``{entity id: float32 vector}`` stored for ``model`` (all, or those among ``ids``)."""
        import numpy as np

        wanted = None if ids is None else sorted(set(ids))
        records = self._records("read embeddings", cypher.embeddings(model_property(model)), ids=wanted)
        return {r["id"]: np.asarray(r["vector"], dtype=np.float32) for r in records}

    def embedding_hashes(self, model: str) -> dict[str, str]:
        """``{entity id: text hash}`` of the vectors stored for ``model``."""
        records = self._records("read embedding hashes", cypher.embedding_hashes(model_property(model)))
        return {r["id"]: r["hash"] for r in records}

    def delete_embeddings(self, model: str, ids: Iterable[str]) -> int:
        """Remove ``embedding_<model>`` and its hash from the entities ``ids``; returns how many had one."""
        prop = model_property(model)
        rows: list[_Row] = [{"id": i} for i in sorted(set(ids))]
        if not rows:
            return 0
        return self._write("delete embeddings",
                           lambda tx: self._run_rows(tx, cypher.delete_embeddings(prop), rows, "properties_set")[0])

    def nearest(self, model: str, vector: Vector, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` entities nearest to ``vector`` by the model's vector index: (id, cosine score)."""
        check_model_name(model)
        records = self._records("query the vector index", cypher.nearest_by_vector(model_property(model)),
                                k=int(k), vector=[float(x) for x in vector])
        return [(r["id"], float(r["score"])) for r in records]

    # -- lifecycle ------------------------------------------------------------------------------

    def clear(self) -> None:
        """Delete every node and relationship (keeps the schema). For tests and throwaway graphs."""
        self._write("clear the graph", lambda tx: tx.run(cypher.delete_all()).consume())

    def close(self) -> None:
        """Close the driver; the store is unusable afterwards."""
        self._driver.close()

    def __enter__(self) -> Neo4jGraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _evidence_row(chunk_id: str, rel: Relation) -> _Row:
    """One evidence item of :func:`cypher.merge_relations` (-1 for unknown spans: lists hold no nulls)."""
    spans = rel.mention_spans or ((-1, -1), (-1, -1))
    return {"chunk_id": chunk_id, "text": rel.evidence, "source_start": spans[0][0], "source_end": spans[0][1],
            "target_start": spans[1][0], "target_end": spans[1][1]}


def _observation(record: neo4j.Record) -> Relation:
    """A relation observation from a :func:`cypher.provenance_query` ``relations`` row."""
    spans = [record["source_start"], record["source_end"], record["target_start"], record["target_end"]]
    ss, se, ts, te = spans if all(isinstance(x, int) and x >= 0 for x in spans) else [None] * 4
    return Relation(
        id=record["id"], source_id=record["source_id"], target_id=record["target_id"], type=record["type"],
        properties=json.loads(record["properties"] or "{}"), origin=record["origin"], chunk_id=record["chunk_id"],
        evidence=record["evidence"] or None, source_start=ss, source_end=se, target_start=ts, target_end=te,
    )


def _native(value: object) -> datetime:
    """A driver temporal value as a Python datetime."""
    if isinstance(value, datetime):
        return value
    to_native = getattr(value, "to_native", None)
    if to_native is None:
        raise GraphStoreError(f"run timestamp {value!r} is not a datetime")
    result = to_native()
    assert isinstance(result, datetime)
    return result
