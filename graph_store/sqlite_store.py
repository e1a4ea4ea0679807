"""The embedded default store: one SQLite file (stdlib sqlite3, WAL), one transaction per batch."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from kgweave.graph_store.capabilities import Capability
from kgweave.graph_store.errors import GraphStoreError, SchemaVersionError, StoreUnavailableError
from kgweave.graph_store.history import as_of
from kgweave.graph_store.ids import normalize_name
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
    SnapshotEdge,
    SnapshotNode,
    StoreCounts,
    WriteStats,
)
from kgweave.graph_store.store_helpers import (
    HUB_RANK,
    changed_merges,
    check_dimension,
    check_metric_name,
    collapsed_counts,
    shown_ids,
    snapshot_of_rows,
    to_json,
)
from kgweave.graph_store.vectors import EmbeddingRows, Vector, check_model_name, from_blob, to_blob, validated_rows

__all__ = ["SCHEMA_VERSION", "SQLiteGraphStore"]

SCHEMA_VERSION = 4

_SCHEMA_V1 = """
CREATE TABLE documents (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT, metadata TEXT NOT NULL, text TEXT NOT NULL,
    first_run TEXT, last_run TEXT
);
CREATE TABLE document_fingerprints (
    document_id TEXT NOT NULL REFERENCES documents(id), fingerprint TEXT NOT NULL, run_id TEXT,
    PRIMARY KEY (document_id, fingerprint)
) WITHOUT ROWID;
CREATE TABLE chunks (
    id TEXT PRIMARY KEY, document_id TEXT NOT NULL REFERENCES documents(id), idx INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX chunks_document ON chunks(document_id);
CREATE TABLE entities (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, norm_name TEXT NOT NULL, label TEXT NOT NULL,
    description TEXT, properties TEXT NOT NULL DEFAULT '{}', support INTEGER NOT NULL DEFAULT 0,
    first_run TEXT, last_run TEXT, first_iteration INTEGER, last_iteration INTEGER,
    extractor TEXT, model TEXT
);
CREATE INDEX entities_norm_name ON entities(norm_name);
CREATE INDEX entities_label ON entities(label);
CREATE TABLE mentions (
    id TEXT PRIMARY KEY, entity_id TEXT NOT NULL REFERENCES entities(id),
    chunk_id TEXT NOT NULL REFERENCES chunks(id), start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX mentions_entity ON mentions(entity_id, chunk_id);
CREATE TABLE relations (
    id TEXT PRIMARY KEY, source_id TEXT NOT NULL REFERENCES entities(id),
    target_id TEXT NOT NULL REFERENCES entities(id), type TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}', support INTEGER NOT NULL DEFAULT 0,
    first_run TEXT, last_run TEXT, first_iteration INTEGER, last_iteration INTEGER,
    extractor TEXT, model TEXT
);
CREATE INDEX relations_source ON relations(source_id);
CREATE INDEX relations_target ON relations(target_id);
CREATE INDEX relations_type ON relations(type);
CREATE TABLE relation_evidence (
    relation_id TEXT NOT NULL REFERENCES relations(id), source_key TEXT NOT NULL,
    chunk_id TEXT REFERENCES chunks(id), evidence TEXT,
    PRIMARY KEY (relation_id, source_key)
) WITHOUT ROWID;
CREATE TABLE node_metrics (
    entity_id TEXT NOT NULL REFERENCES entities(id), metric TEXT NOT NULL, value REAL,
    PRIMARY KEY (entity_id, metric)
) WITHOUT ROWID;
CREATE TABLE runs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    status TEXT NOT NULL, extractor TEXT, model TEXT, parameters TEXT NOT NULL, summary TEXT NOT NULL
);
CREATE TABLE iterations (
    run_id TEXT NOT NULL, iteration INTEGER NOT NULL, metrics TEXT NOT NULL,
    PRIMARY KEY (run_id, iteration)
) WITHOUT ROWID;
"""

# v2: entity merges (alias -> canonical); rows are never rewritten by a merge.
_SCHEMA_V2 = """
CREATE TABLE entity_merges (
    alias_id TEXT PRIMARY KEY REFERENCES entities(id), canonical_id TEXT NOT NULL REFERENCES entities(id),
    score REAL NOT NULL, method TEXT NOT NULL, run_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX entity_merges_canonical ON entity_merges(canonical_id);
CREATE INDEX entity_merges_run ON entity_merges(run_id);
"""

# v3: node text embeddings, one float32 vector per (entity, model), with the hash of the text embedded.
_SCHEMA_V3 = """
CREATE TABLE embeddings (
    entity_id TEXT NOT NULL REFERENCES entities(id), model TEXT NOT NULL, text_hash TEXT NOT NULL,
    dim INTEGER NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (model, entity_id)
) WITHOUT ROWID;
"""

# v4: mention-level provenance and relation origin (see models.Relation). A relation evidence row names
# the two mention spans it connects (NULL where unknown, as in rows written before v4). Origins of older
# rows are told from how they were written: by a GraphML import, by a records delta (papers, profiles,
# reviews, CiteSeer), or a MENTIONS link from a record to a concept (a chunk but no evidence sentence).
_SCHEMA_V4 = """
ALTER TABLE relations ADD COLUMN origin TEXT NOT NULL DEFAULT 'extracted';
ALTER TABLE relation_evidence ADD COLUMN source_start INTEGER;
ALTER TABLE relation_evidence ADD COLUMN source_end INTEGER;
ALTER TABLE relation_evidence ADD COLUMN target_start INTEGER;
ALTER TABLE relation_evidence ADD COLUMN target_end INTEGER;
UPDATE relations SET origin = 'imported' WHERE extractor = 'import:graphml';
UPDATE relations SET origin = 'record' WHERE extractor IN ('records', 'citeseer-tape') OR (type = 'MENTIONS'
    AND NOT EXISTS (SELECT 1 FROM relation_evidence e WHERE e.relation_id = relations.id AND e.evidence IS NOT NULL));
"""

# Each entry migrates a store from version i to version i + 1.
_MIGRATIONS: dict[int, str] = {0: _SCHEMA_V1, 1: _SCHEMA_V2, 2: _SCHEMA_V3, 3: _SCHEMA_V4}


class SQLiteGraphStore:
    """A :class:`~graph_store.protocol.GraphStore` in one SQLite file.

    WAL journal, foreign keys on, one transaction per ``upsert``. Safe to share between the
    threads of one process (calls are serialised by a lock); several processes may open the same
    file (writers wait up to ``busy_timeout_s``).
    """

    capabilities: frozenset[Capability] = frozenset({Capability.PUSH_SOURCE})

    def __init__(self, path: str | Path, busy_timeout_s: float = 60.0) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self._lock = threading.RLock()
        if self.path != ":memory:":
            parent = Path(self.path).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreUnavailableError(f"cannot create store {self.path}: folder {parent} does not exist")
            if Path(self.path).is_dir():
                raise StoreUnavailableError(f"cannot open store {self.path}: it is a directory")
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailableError(f"cannot open store {self.path}: {exc}") from exc
        self.ensure_schema()

    # -- schema ---------------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create or migrate the schema to :data:`SCHEMA_VERSION`; refuse a newer one."""
        with self._transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"store {self.path} has schema version {version}; this kgweave knows up to "
                    f"{SCHEMA_VERSION}: upgrade kgweave"
                )
            while version < SCHEMA_VERSION:
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version:d}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise StoreUnavailableError(f"cannot write store {self.path}: {exc}") from exc
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:  # type: ignore[type-arg]
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise GraphStoreError(f"query on {self.path} failed: {exc}") from exc

    # -- writes ---------------------------------------------------------------------------------

    def upsert(self, delta: GraphDelta) -> WriteStats:
        """Merge one batch in one transaction; counts only rows that did not exist before."""
        run = delta.run_id
        try:
            with self._transaction() as conn:
                docs = conn.executemany(
                    "INSERT OR IGNORE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(d.id, d.source, d.title, to_json(d.metadata), d.text, run, run) for d in delta.documents],
                ).rowcount
                conn.executemany(
                    "UPDATE documents SET last_run = ? WHERE id = ?", [(run, d.id) for d in delta.documents]
                )
                chunks = conn.executemany(
                    "INSERT OR IGNORE INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                    [(c.id, c.document_id, c.index, c.start, c.end, c.text) for c in delta.chunks],
                ).rowcount
                entities = self._merge_entities(conn, delta)
                mentions = conn.executemany(
                    "INSERT OR IGNORE INTO mentions VALUES (?, ?, ?, ?, ?, ?)",
                    [(m.id, m.entity_id, m.chunk_id, m.start, m.end, m.text) for m in delta.mentions],
                ).rowcount
                # Aggregates are recomputed from the rows, so they do not depend on batch order.
                conn.execute(
                    "UPDATE entities SET support = (SELECT COUNT(DISTINCT chunk_id) FROM mentions "
                    "WHERE entity_id = entities.id), name = (SELECT text FROM mentions WHERE entity_id = "
                    "entities.id GROUP BY text ORDER BY COUNT(*) DESC, text LIMIT 1) "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(sorted({m.entity_id for m in delta.mentions})),),
                )
                relations = self._merge_relations(conn, delta)
                if delta.fingerprint:
                    conn.executemany(
                        "INSERT OR IGNORE INTO document_fingerprints VALUES (?, ?, ?)",
                        [(doc_id, delta.fingerprint, run) for doc_id in delta.done_documents],
                    )
        except sqlite3.IntegrityError as exc:
            raise GraphStoreError(f"batch rejected by {self.path} (dangling reference?): {exc}") from exc
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"cannot write store {self.path}: {exc}") from exc
        return WriteStats(
            documents=max(docs, 0), chunks=max(chunks, 0), entities=entities,
            mentions=max(mentions, 0), relations=relations,
        )

    def _merge_entities(self, conn: sqlite3.Connection, delta: GraphDelta) -> int:
        run, it = delta.run_id, delta.iteration
        rows = {e.id: e for e in delta.entities}.values()
        created = conn.executemany(
            "INSERT OR IGNORE INTO entities (id, name, norm_name, label, description, properties, "
            "first_run, last_run, first_iteration, last_iteration, extractor, model) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (e.id, e.name, normalize_name(e.name), e.label, e.description, to_json(e.properties),
                 run, run, it, it, delta.extractor, delta.model)
                for e in rows
            ],
        ).rowcount
        conn.executemany(
            "UPDATE entities SET last_run = ?, last_iteration = COALESCE(?, last_iteration), "
            "description = COALESCE(description, ?), properties = json_patch(properties, ?) WHERE id = ?",
            [(run, it, e.description, to_json(e.properties), e.id) for e in rows],
        )
        return max(created, 0)

    def _merge_relations(self, conn: sqlite3.Connection, delta: GraphDelta) -> int:
        run, it = delta.run_id, delta.iteration
        rows = {r.id: r for r in delta.relations}.values()
        created = conn.executemany(
            "INSERT OR IGNORE INTO relations (id, source_id, target_id, type, properties, first_run, "
            "last_run, first_iteration, last_iteration, extractor, model, origin) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (r.id, r.source_id, r.target_id, r.type, to_json(r.properties), run, run, it, it,
                 delta.extractor, delta.model, r.origin)
                for r in rows
            ],
        ).rowcount
        conn.executemany(
            "UPDATE relations SET last_run = ?, last_iteration = COALESCE(?, last_iteration), "
            "properties = json_patch(properties, ?) WHERE id = ?",
            [(run, it, to_json(r.properties), r.id) for r in rows],
        )
        # first write per (relation, chunk) wins, its mention spans included
        conn.executemany(
            "INSERT OR IGNORE INTO relation_evidence (relation_id, source_key, chunk_id, evidence, source_start, "
            "source_end, target_start, target_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.id, r.chunk_id or "-", r.chunk_id, r.evidence, r.source_start, r.source_end, r.target_start,
              r.target_end) for r in delta.relations],
        )
        conn.execute(
            "UPDATE relations SET support = (SELECT COUNT(*) FROM relation_evidence "
            "WHERE relation_id = relations.id) WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps([r.id for r in rows]),),
        )
        return max(created, 0)

    def write_node_metrics(self, metrics: Mapping[str, Mapping[str, float]]) -> int:
        """Store per-node metrics; metric names must be lower_snake_case."""
        rows = []
        for node_id, values in metrics.items():
            for name, value in values.items():
                rows.append((node_id, check_metric_name(name), float(value)))
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO node_metrics SELECT ?1, ?2, ?3 WHERE EXISTS "
                "(SELECT 1 FROM entities WHERE id = ?1) "
                "ON CONFLICT (entity_id, metric) DO UPDATE SET value = excluded.value",
                rows,
            )
            found = conn.execute(
                "SELECT COUNT(*) FROM entities WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(metrics)),),
            ).fetchone()[0]
        return int(found)

    def mark_hubs(self, ranked_ids: Sequence[str]) -> int:
        """Make exactly ``ranked_ids`` (best first) carry the ``hub_rank`` metric (1 = first)."""
        ids = list(dict.fromkeys(ranked_ids))
        with self._transaction() as conn:
            conn.execute("DELETE FROM node_metrics WHERE metric = ?", (HUB_RANK,))
            return conn.executemany(
                "INSERT INTO node_metrics SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM entities WHERE id = ?1)",
                [(node_id, HUB_RANK, float(rank)) for rank, node_id in enumerate(ids, start=1)],
            ).rowcount

    def record_merges(self, merges: Sequence[EntityMerge]) -> int:
        """Record merges (idempotent); aliases always point at a final canonical. Returns rows changed."""
        if not merges:
            return 0
        with self._transaction() as conn:
            ids = sorted({m.alias_id for m in merges} | {m.canonical_id for m in merges})
            found = {r[0] for r in conn.execute(
                "SELECT id FROM entities WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))}
            missing = [i for i in ids if i not in found]
            if missing:
                raise GraphStoreError(
                    f"merges rejected: {len(missing)} entity id(s) not in the store: {shown_ids(missing)}")
            changed = changed_merges({m.alias_id: m for m in self._merge_rows(conn)}, merges)
            conn.executemany(
                "INSERT OR REPLACE INTO entity_merges VALUES (?, ?, ?, ?, ?)",
                [(m.alias_id, m.canonical_id, m.score, m.method, m.run_id) for m in changed],
            )
        return len(changed)

    def remove_merges(self, run_id: str | None = None, alias_ids: Iterable[str] | None = None) -> int:
        """Delete the merges of ``run_id`` and/or ``alias_ids`` (both None: all merges)."""
        clauses, params = [], []
        if run_id is not None:
            clauses.append("run_id = ?")
            params.append(run_id)
        if alias_ids is not None:
            clauses.append("alias_id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(sorted(set(alias_ids))))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._transaction() as conn:
            return max(conn.execute(f"DELETE FROM entity_merges{where}", params).rowcount, 0)

    def merges(self) -> list[EntityMerge]:
        """Every recorded merge, ordered by alias id."""
        with self._lock:
            return self._merge_rows(self._conn)

    @staticmethod
    def _merge_rows(conn: sqlite3.Connection) -> list[EntityMerge]:
        return [
            EntityMerge(alias_id=r[0], canonical_id=r[1], score=r[2], method=r[3], run_id=r[4])
            for r in conn.execute(
                "SELECT alias_id, canonical_id, score, method, run_id FROM entity_merges ORDER BY alias_id"
            )
        ]

    def record_run(self, run: Run) -> None:
        """Insert or replace the run record."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.id, run.kind, run.started_at.isoformat(),
                    run.finished_at.isoformat() if run.finished_at else None, run.status,
                    run.extractor, run.model, to_json(run.parameters), to_json(run.summary),
                ),
            )

    def record_iteration(self, iteration: Iteration) -> None:
        """Insert or replace one iteration's state."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO iterations VALUES (?, ?, ?)",
                (iteration.run_id, iteration.iteration, to_json(iteration.metrics)),
            )

    # -- reads ----------------------------------------------------------------------------------

    def documents_done(self, document_ids: Iterable[str], fingerprint: str) -> set[str]:
        """Ids among ``document_ids`` already written under ``fingerprint``."""
        rows = self._query(
            "SELECT document_id FROM document_fingerprints WHERE fingerprint = ? "
            "AND document_id IN (SELECT value FROM json_each(?))",
            (fingerprint, json.dumps(list(document_ids))),
        )
        return {r[0] for r in rows}

    _ENTITY_COLUMNS = "id, name, label, description, properties"

    @staticmethod
    def _entity(row: Sequence[object]) -> Entity:
        return Entity(
            id=str(row[0]), name=str(row[1]), label=str(row[2]),
            description=row[3] if row[3] is None else str(row[3]), properties=json.loads(str(row[4])),
        )

    def get_entity(self, entity_id: str) -> Entity | None:
        """The entity with this id, or None."""
        rows = self._query(f"SELECT {self._ENTITY_COLUMNS} FROM entities WHERE id = ?", (entity_id,))
        return self._entity(rows[0]) if rows else None

    def find_entities(self, name: str, limit: int = 10) -> list[Entity]:
        """Entities whose normalised name equals the normalised ``name``, most supported first."""
        rows = self._query(
            f"SELECT {self._ENTITY_COLUMNS} FROM entities WHERE norm_name = ? "
            "ORDER BY support DESC, id LIMIT ?",
            (normalize_name(name), limit),
        )
        return [self._entity(r) for r in rows]

    def neighbours(self, entity_id: str, hops: int = 1) -> tuple[list[Entity], list[Relation]]:
        """Entities within ``hops`` (breadth first, both directions) and the relations among them."""
        seen = {entity_id} if self.get_entity(entity_id) else set()
        frontier = set(seen)
        for _ in range(max(hops, 0)):
            if not frontier:
                break
            ids = json.dumps(sorted(frontier))
            rows = self._query(
                "SELECT target_id FROM relations WHERE source_id IN (SELECT value FROM json_each(?1)) "
                "UNION SELECT source_id FROM relations WHERE target_id IN (SELECT value FROM json_each(?1))",
                (ids,),
            )
            frontier = {r[0] for r in rows} - seen
            seen |= frontier
        ids = json.dumps(sorted(seen))
        entities = [
            self._entity(r)
            for r in self._query(
                f"SELECT {self._ENTITY_COLUMNS} FROM entities WHERE id IN (SELECT value FROM json_each(?)) "
                "ORDER BY id",
                (ids,),
            )
        ]
        relations = [
            Relation(id=r[0], source_id=r[1], target_id=r[2], type=r[3], properties=json.loads(r[4]), origin=r[5])
            for r in self._query(
                "SELECT id, source_id, target_id, type, properties, origin FROM relations "
                "WHERE source_id IN (SELECT value FROM json_each(?1)) "
                "AND target_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
                (ids,),
            )
        ]
        return entities, relations

    def snapshot(self, run_id: str | None = None, iteration: int | None = None) -> GraphSnapshot:
        """The entity graph collapsed by the merges, ordered by id (deterministic); with ``run_id``,
        the graph as it was at the end of that run (or of its ``iteration``), see graph_store.history."""
        nodes = [(SnapshotNode(id=r[0], name=r[1], label=r[2], support=r[3]), r[4], r[5]) for r in self._query(
            "SELECT id, name, label, support, first_run, first_iteration FROM entities ORDER BY id")]
        edges = [(SnapshotEdge(id=r[0], source=r[1], target=r[2], type=r[3], support=r[4], origin=r[7]), r[5], r[6])
                 for r in self._query("SELECT id, source_id, target_id, type, support, first_run, first_iteration, "
                                      "origin FROM relations ORDER BY id")]
        point = None if run_id is None else as_of(self.runs(), run_id, iteration)
        return snapshot_of_rows(nodes, edges, self.merges(), point)

    def node_metrics(self, entity_id: str) -> dict[str, float]:
        """Metrics stored for one node."""
        rows = self._query("SELECT metric, value FROM node_metrics WHERE entity_id = ?", (entity_id,))
        return {str(r[0]): float(r[1]) for r in rows}

    def counts(self) -> StoreCounts:
        """Totals and per-label / per-relation-type counts."""
        total = {
            table: int(self._query(f"SELECT COUNT(*) FROM {table}")[0][0])
            for table in ("documents", "chunks", "entities", "relations", "mentions", "runs")
        }
        merged = int(self._query("SELECT COUNT(*) FROM entity_merges")[0][0])
        if merged:
            return collapsed_counts(total, self.snapshot(), merged)  # the collapsed view, as snapshot()
        labels = dict(self._query("SELECT label, COUNT(*) FROM entities GROUP BY label ORDER BY label"))
        types = dict(self._query("SELECT type, COUNT(*) FROM relations GROUP BY type ORDER BY type"))
        origins = dict(self._query("SELECT origin, COUNT(*) FROM relations GROUP BY origin ORDER BY origin"))
        return StoreCounts(**total, labels=labels, relation_types=types, merged_entities=merged,
                           relation_origins=origins)

    def runs(self) -> Iterator[Run]:
        """All runs, oldest first."""
        for r in self._query(
            "SELECT id, kind, started_at, finished_at, status, extractor, model, parameters, summary "
            "FROM runs ORDER BY started_at, id"
        ):
            yield Run(
                id=r[0], kind=r[1], started_at=datetime.fromisoformat(r[2]),
                finished_at=datetime.fromisoformat(r[3]) if r[3] else None, status=r[4],
                extractor=r[5], model=r[6], parameters=json.loads(r[7]), summary=json.loads(r[8]),
            )

    def iterations(self, run_id: str) -> Iterator[Iteration]:
        """A run's iterations in order."""
        for r in self._query(
            "SELECT run_id, iteration, metrics FROM iterations WHERE run_id = ? ORDER BY iteration",
            (run_id,),
        ):
            yield Iteration(run_id=r[0], iteration=r[1], metrics=json.loads(r[2]))

    def all_node_metrics(self) -> dict[str, dict[str, float]]:
        """Every stored node metric, {entity id: {metric: value}}."""
        result: dict[str, dict[str, float]] = {}
        for entity, metric, value in self._query("SELECT entity_id, metric, value FROM node_metrics ORDER BY 1, 2"):
            result.setdefault(str(entity), {})[str(metric)] = float(value)
        return result

    def entities(self, label: str | None = None) -> Iterator[Entity]:
        """Every entity (aliases of merges included), or those of one ``label``, ordered by id."""
        where, params = ("WHERE label = ?", (label,)) if label is not None else ("", ())
        for row in self._query(f"SELECT {self._ENTITY_COLUMNS} FROM entities {where} ORDER BY id", params):
            yield self._entity(row)

    def write_embeddings(self, model: str, vectors: EmbeddingRows) -> int:
        """Store ``{entity id: (text hash, vector)}`` for ``model`` (float32 BLOBs), replacing older
        vectors; ids not in the store are skipped. Returns how many entities were written."""
        rows = validated_rows(model, vectors)
        if not rows:
            return 0
        dim = rows[0][2].size
        with self._transaction() as conn:
            stored = conn.execute("SELECT dim FROM embeddings WHERE model = ? LIMIT 1", (model,)).fetchone()
            check_dimension(model, None if stored is None else int(stored[0]), dim)
            written = conn.executemany(
                "INSERT INTO embeddings SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM entities WHERE id = ?1) "
                "ON CONFLICT (model, entity_id) DO UPDATE SET text_hash = excluded.text_hash, dim = excluded.dim, "
                "vector = excluded.vector",
                [(entity_id, model, digest, dim, to_blob(vector)) for entity_id, digest, vector in rows],
            ).rowcount
        return max(written, 0)

    def embeddings(self, model: str, ids: Iterable[str] | None = None) -> dict[str, Vector]:
        """``{entity id: float32 vector}`` of ``model`` (all entities, or those among ``ids``)."""
        check_model_name(model)
        if ids is None:
            rows = self._query("SELECT entity_id, vector FROM embeddings WHERE model = ? ORDER BY entity_id", (model,))
        else:
            rows = self._query("SELECT entity_id, vector FROM embeddings WHERE model = ? AND entity_id IN "
                               "(SELECT value FROM json_each(?)) ORDER BY entity_id",
                               (model, json.dumps(sorted(set(ids)))))
        return {str(r[0]): from_blob(r[1]) for r in rows}

    def embedding_hashes(self, model: str) -> dict[str, str]:
        """``{entity id: text hash}`` of the vectors stored for ``model``."""
        check_model_name(model)
        return {str(r[0]): str(r[1]) for r in self._query(
            "SELECT entity_id, text_hash FROM embeddings WHERE model = ?", (model,))}

    def delete_embeddings(self, model: str, ids: Iterable[str]) -> int:
        """Drop the vectors of ``model`` stored for ``ids``; returns how many were stored."""
        check_model_name(model)
        with self._transaction() as conn:
            deleted = conn.execute("DELETE FROM embeddings WHERE model = ? AND entity_id IN "
                                   "(SELECT value FROM json_each(?))", (model, json.dumps(sorted(set(ids))))).rowcount
        return max(deleted, 0)

    def clear(self) -> None:
        """Delete every row (keeps the schema)."""
        with self._transaction() as conn:
            for table in ("embeddings", "entity_merges", "node_metrics", "relation_evidence", "relations", "mentions",
                          "entities", "document_fingerprints", "chunks", "documents", "iterations", "runs"):
                conn.execute(f"DELETE FROM {table}")

    def document_count(self) -> int:
        """How many documents the store holds."""
        return int(self._query("SELECT COUNT(*) FROM documents")[0][0])

    def done_fingerprints(self) -> dict[str, tuple[str, ...]]:
        """Every extraction fingerprint with the ids of the documents it marks done, sorted."""
        done: dict[str, list[str]] = {}
        for fingerprint, doc_id in self._query(
                "SELECT fingerprint, document_id FROM document_fingerprints ORDER BY fingerprint, document_id"):
            done.setdefault(str(fingerprint), []).append(str(doc_id))
        return {fingerprint: tuple(ids) for fingerprint, ids in done.items()}

    def export_deltas(self, batch_rows: int = 5000, skip_documents: Collection[str] = ()) -> Iterator[GraphDelta]:
        """The whole graph as deltas of about ``batch_rows`` rows that rebuild it in another store (``kgweave push``).

        Documents go in groups of whole documents, by the run that first wrote them, each group with its
        chunks, mentions, the entities they mention and the relations they evidence (so provenance, first
        run, carries over), and its done marks (extraction fingerprints) in the group's last delta: a
        target that has a document done has all of it. A document of more than ``batch_rows`` rows is
        split over several deltas. ``skip_documents`` are left out. Then entities and relations without
        any chunk (imports, records), re-sent every time (merges).
        """
        if batch_rows < 10:
            raise ValueError("batch_rows must be at least 10")
        skip = set(skip_documents)
        weight: dict[str, int] = {}
        for query in ("SELECT document_id, COUNT(*) FROM chunks GROUP BY document_id",
                      "SELECT c.document_id, COUNT(*) FROM mentions m JOIN chunks c ON c.id = m.chunk_id "
                      "GROUP BY c.document_id",
                      "SELECT c.document_id, COUNT(*) FROM relation_evidence e JOIN chunks c ON c.id = e.chunk_id "
                      "GROUP BY c.document_id",
                      "SELECT c.document_id, COUNT(DISTINCT m.entity_id) FROM mentions m "
                      "JOIN chunks c ON c.id = m.chunk_id GROUP BY c.document_id"):
            for doc_id, count in self._query(query):
                weight[doc_id] = weight.get(doc_id, 0) + int(count)
        fingerprints: dict[str, list[str]] = {}
        for fingerprint, ids in self.done_fingerprints().items():
            for doc_id in ids:
                fingerprints.setdefault(doc_id, []).append(fingerprint)
        group: list[tuple] = []  # type: ignore[type-arg]
        rows = 0
        for row in self._query("SELECT id, source, title, metadata, text, first_run FROM documents "
                               "ORDER BY first_run, id"):
            if row[0] in skip:
                continue
            size = 1 + weight.get(row[0], 0)
            if group and (rows + size > batch_rows or group[0][5] != row[5]):
                yield from self._document_group(group, fingerprints, batch_rows)
                group, rows = [], 0
            group.append(row)
            rows += size
        if group:
            yield from self._document_group(group, fingerprints, batch_rows)
        yield from self._chunkless_deltas(batch_rows)

    def _document_group(self, rows: Sequence[Sequence[object]], fingerprints: Mapping[str, Sequence[str]],
                        batch_rows: int) -> Iterator[GraphDelta]:
        """One group of documents as deltas of at most about ``batch_rows`` rows, done marks last."""
        delta = self._delta_for_documents(str(rows[0][5] or "push"), rows)
        # A group's size was planned from row counts; only a document bigger than a batch is split.
        parts = list(_split_delta(delta, batch_rows)) if len(rows) == 1 else [delta]
        done: dict[str, list[str]] = {}
        for doc in delta.documents:
            for fingerprint in fingerprints.get(doc.id, ()):
                done.setdefault(fingerprint, []).append(doc.id)
        marks = [(fingerprint, tuple(ids)) for fingerprint, ids in sorted(done.items())]
        if marks:
            fingerprint, ids = marks.pop(0)
            parts[-1] = parts[-1].model_copy(update={"fingerprint": fingerprint, "done_documents": ids})
        yield from parts
        for fingerprint, ids in marks:
            yield GraphDelta(run_id=delta.run_id, extractor="push", fingerprint=fingerprint, done_documents=ids)

    def _delta_for_documents(self, run_id: str, rows: Sequence[Sequence[object]]) -> GraphDelta:
        ids = json.dumps([r[0] for r in rows])
        documents = tuple(Document(id=str(r[0]), source=str(r[1]), title=r[2] if r[2] is None else str(r[2]),
                                   metadata=json.loads(str(r[3])), text=str(r[4])) for r in rows)
        in_docs = "SELECT id FROM chunks WHERE document_id IN (SELECT value FROM json_each(?))"
        chunks = tuple(self._chunks("WHERE document_id IN (SELECT value FROM json_each(?))", (ids,)))
        mentions = tuple(self._mentions(f"WHERE chunk_id IN ({in_docs})", (ids,)))
        relations = tuple(self._evidence(f"WHERE e.chunk_id IN ({in_docs})", (ids,)))
        needed = json.dumps(sorted({m.entity_id for m in mentions} | {r.source_id for r in relations}
                                   | {r.target_id for r in relations}))
        entities = tuple(self._entity(r) for r in self._query(
            f"SELECT {self._ENTITY_COLUMNS} FROM entities WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (needed,)))
        return GraphDelta(run_id=run_id, extractor="push", documents=documents, chunks=chunks, entities=entities,
                          mentions=mentions, relations=relations)

    def _evidence(self, where: str, params: Sequence[object] = ()) -> Iterator[Relation]:
        """Relation observations (one per evidence row with a chunk) selected by ``where`` on ``e``."""
        for r in self._query(
            "SELECT r.id, r.source_id, r.target_id, r.type, r.properties, r.origin, e.chunk_id, e.evidence, "
            "e.source_start, e.source_end, e.target_start, e.target_end "
            f"FROM relation_evidence e JOIN relations r ON r.id = e.relation_id {where} ORDER BY r.id, e.chunk_id",
            params,
        ):
            yield Relation(id=r[0], source_id=r[1], target_id=r[2], type=r[3], properties=json.loads(r[4]),
                           origin=r[5], chunk_id=r[6], evidence=r[7], source_start=r[8], source_end=r[9],
                           target_start=r[10], target_end=r[11])

    def _chunks(self, where: str = "", params: Sequence[object] = ()) -> Iterator[Chunk]:
        for r in self._query(f'SELECT id, document_id, idx, start, "end", text FROM chunks {where} ORDER BY id',
                             params):
            yield Chunk(id=r[0], document_id=r[1], index=r[2], start=r[3], end=r[4], text=r[5])

    def _mentions(self, where: str = "", params: Sequence[object] = ()) -> Iterator[Mention]:
        for r in self._query(f'SELECT id, entity_id, chunk_id, start, "end", text FROM mentions {where} ORDER BY id',
                             params):
            yield Mention(id=r[0], entity_id=r[1], chunk_id=r[2], start=r[3], end=r[4], text=r[5])

    def provenance(self) -> Provenance:
        """Every document, chunk, mention and relation observation with an evidence chunk, ordered by id."""
        documents = self._query("SELECT id, source, title, metadata, text FROM documents ORDER BY id")
        return Provenance(
            documents=tuple(Document(id=r[0], source=r[1], title=r[2], metadata=json.loads(r[3]), text=r[4])
                            for r in documents),
            chunks=tuple(self._chunks()), mentions=tuple(self._mentions()),
            relations=tuple(self._evidence("WHERE e.chunk_id IS NOT NULL")),
        )

    def incident_relations(self, entity_ids: Iterable[str]) -> list[tuple[Relation, int]]:
        """Relations with either end among ``entity_ids`` and their support, ordered by id."""
        rows = self._query(
            "SELECT id, source_id, target_id, type, properties, origin, support FROM relations "
            "WHERE source_id IN (SELECT value FROM json_each(?1)) UNION "
            "SELECT id, source_id, target_id, type, properties, origin, support FROM relations "
            "WHERE target_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
            (json.dumps(sorted(set(entity_ids))),),
        )
        return [(Relation(id=r[0], source_id=r[1], target_id=r[2], type=r[3], properties=json.loads(r[4]),
                          origin=r[5]), int(r[6])) for r in rows]

    def relation_evidence(self, relations: Iterable[Relation]) -> list[Relation]:
        """Observations with an evidence chunk of ``relations``, ordered by relation id then chunk id."""
        ids = json.dumps(sorted({r.id for r in relations}))
        return list(self._evidence("WHERE e.chunk_id IS NOT NULL AND e.relation_id IN (SELECT value FROM json_each(?))",
                                   (ids,)))

    def chunks(self, chunk_ids: Iterable[str]) -> list[Chunk]:
        """The chunks with these ids, ordered by id."""
        return list(self._chunks("WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(sorted(set(chunk_ids))),)))

    def _chunkless_deltas(self, batch_rows: int) -> Iterator[GraphDelta]:
        entities = [(self._entity(r[:5]), str(r[5] or "push")) for r in self._query(
            f"SELECT {self._ENTITY_COLUMNS}, first_run FROM entities WHERE id NOT IN "
            "(SELECT entity_id FROM mentions) ORDER BY first_run, id")]
        for start in range(0, len(entities), batch_rows):
            part = entities[start:start + batch_rows]
            yield GraphDelta(run_id=part[0][1], extractor="push", entities=tuple(e for e, _ in part))
        relations = self._query(
            "SELECT r.id, r.source_id, r.target_id, r.type, r.properties, r.first_run, r.origin FROM relations r "
            "JOIN relation_evidence e ON e.relation_id = r.id WHERE e.chunk_id IS NULL ORDER BY r.first_run, r.id")
        size = max(1, batch_rows // 3)  # each relation may bring its two endpoints
        for start in range(0, len(relations), size):
            rows = relations[start:start + size]
            # endpoints may be mentioned entities written in an earlier delta; include them to be safe
            ends = json.dumps(sorted({r[1] for r in rows} | {r[2] for r in rows}))
            ends_rows = self._query(f"SELECT {self._ENTITY_COLUMNS} FROM entities "
                                    "WHERE id IN (SELECT value FROM json_each(?))", (ends,))
            yield GraphDelta(
                run_id=str(rows[0][5] or "push"), extractor="push",
                entities=tuple(self._entity(r) for r in ends_rows),
                relations=tuple(Relation(id=r[0], source_id=r[1], target_id=r[2], type=r[3],
                                         properties=json.loads(r[4]), origin=r[6]) for r in rows))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteGraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _split_delta(delta: GraphDelta, batch_rows: int) -> Iterator[GraphDelta]:
    """``delta`` itself if it has at most ``batch_rows`` rows, else its documents and chunks, then its
    mentions, then its relation observations, in slices, each slice with the entities it refers to."""
    total = (len(delta.documents) + len(delta.chunks) + len(delta.entities) + len(delta.mentions)
             + len(delta.relations))
    if total <= batch_rows:
        yield delta
        return
    base = delta.model_copy(update={"documents": (), "chunks": (), "entities": (), "mentions": (), "relations": ()})
    entity_of = {e.id: e for e in delta.entities}
    yield base.model_copy(update={"documents": delta.documents, "chunks": delta.chunks[:batch_rows]})
    for start in range(batch_rows, len(delta.chunks), batch_rows):
        yield base.model_copy(update={"chunks": delta.chunks[start:start + batch_rows]})
    size = max(1, batch_rows // 2)  # a mention brings its entity
    for start in range(0, len(delta.mentions), size):
        mentions = delta.mentions[start:start + size]
        ids = sorted({m.entity_id for m in mentions})
        yield base.model_copy(update={"mentions": mentions, "entities": tuple(entity_of[i] for i in ids)})
    size = max(1, batch_rows // 3)  # an observation brings its two endpoints
    for start in range(0, len(delta.relations), size):
        relations = delta.relations[start:start + size]
        ids = sorted({r.source_id for r in relations} | {r.target_id for r in relations})
        yield base.model_copy(update={"relations": relations, "entities": tuple(entity_of[i] for i in ids)})
