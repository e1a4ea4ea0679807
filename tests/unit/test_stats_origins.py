"""Record edges vs extracted relations in `kgweave stats` and in every export format (real CLI process)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import networkx as nx

from kgweave.agents.cooccurrence import CooccurrenceExtractor
from kgweave.agents.pipeline import extract_documents
from kgweave.agents.record_graph import RecordGraphBuilder
from kgweave.graph_store.models import Document, Entity, Relation
from kgweave.graph_store.sqlite_store import SQLiteGraphStore

ABSTRACT = ("We propose GraphSAGE, which uses neighbourhood sampling. GraphSAGE outperforms GCN on Reddit. "
            "GCN uses spectral convolutions.")


def _kgweave(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kgweave.flows.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def _papers_store(db: Path) -> tuple[int, int]:
    """A paper record (author, abstract) built as a papers build does; (record, extracted) relation counts."""
    builder = RecordGraphBuilder()
    paper = builder.entity(Entity.named("Inductive representation learning", "Paper"))
    author = builder.entity(Entity.named("W. Hamilton", "Researcher"))
    builder.relation(Relation.between(author.id, "AUTHORED", paper.id))
    doc = Document.from_text(ABSTRACT, source="papers.jsonl#1")
    builder.text(doc, paper)
    graph = builder.build()
    result = graph.link(extract_documents([doc], CooccurrenceExtractor(), run_id="b", fingerprint="fp"))
    with SQLiteGraphStore(db) as store:
        store.upsert(graph.delta("b"))
        store.upsert(result.delta)
    kinds = {r.id: r.origin for r in (*graph.relations, *result.delta.relations)}
    counts = Counter(kinds.values())
    return counts["record"], counts["extracted"]


def test_stats_and_exports_count_record_edges_apart(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    record, extracted = _papers_store(db)
    assert record >= 2 and extracted >= 1  # AUTHORED and the paper's MENTIONS links; USES/OUTPERFORMS...
    done = _kgweave("stats", "--store", str(db), "--json")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["relation_origins"] == {"extracted": extracted, "record": record}
    assert stats["relations"] == record + extracted
    human = _kgweave("stats", "--store", str(db))
    assert "relation origins" in human.stdout and "record" in human.stdout

    for fmt, out in (("graphml", "g.graphml"), ("json", "g.json"), ("csv", "csv")):
        assert _kgweave("export", "--format", fmt, str(tmp_path / out), "--store", str(db)).returncode == 0
    graph = nx.read_graphml(tmp_path / "g.graphml")
    assert Counter(o for _, _, o in graph.edges(data="origin")) == {"extracted": extracted, "record": record}
    data = json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))
    assert Counter(r["origin"] for r in data["relationships"]) == {"extracted": extracted, "record": record}
    authored = next(r for r in data["relationships"] if r["type"] == "AUTHORED")
    assert authored["origin"] == "record"
    with (tmp_path / "csv" / "relationships.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert Counter(r["origin"] for r in rows) == {"extracted": extracted, "record": record}
    # the paper's MENTIONS links have an evidence chunk but are record edges, not extracted relations
    mentions = [e for e in data["evidence"] if e["type"] == "MENTIONS"]
    assert mentions and all(e["origin"] == "record" and e["source_start"] is None for e in mentions)
    assert all(e["source_start"] is not None for e in data["evidence"] if e["origin"] == "extracted")
