"""The kgweave command line, run as a real process against the test Prefect API."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import networkx as nx
import pytest

from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.conftest import SAMPLE_CORPUS

pytestmark = pytest.mark.usefixtures("prefect_api")


def kgweave_env() -> dict[str, str]:
    """This process's environment, pointed at the test session's Prefect API."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}


def run_kgweave(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    """Run the kgweave CLI as a real process."""
    return subprocess.run([sys.executable, "-m", "kgweave.flows.cli", *args], capture_output=True, text=True,
                          env=env or kgweave_env(), cwd=cwd, timeout=600)



def test_build_json_then_stats(tmp_path: Path) -> None:
    db = str(tmp_path / "g.db")
    done = run_kgweave("build", str(SAMPLE_CORPUS), "--store", db, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    for key in ("run_id", "documents", "chunks", "entities", "relations", "failed_chunks", "llm_calls",
                "cached_llm_calls", "tokens"):
        assert key in summary
    assert summary["documents"] == 40 and summary["entities"] >= 100
    stats = json.loads(run_kgweave("stats", "--store", db, "--json").stdout)
    assert stats["entities"] == summary["entities"] and stats["documents"] == 40
    assert sum(stats["labels"].values()) == stats["entities"]
    assert sum(stats["relation_types"].values()) == stats["relations"]
    human = run_kgweave("stats", "--store", db)
    assert human.returncode == 0 and "entities" in human.stdout


def test_default_store_is_kgweave_db_in_working_dir(tmp_path: Path) -> None:
    done = run_kgweave("build", str(SAMPLE_CORPUS), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "kgweave.db").is_file()
    assert "build-graph" in done.stdout and "entities" in done.stdout  # the summary table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "does/not/exist.txt"], "no such file or directory: does/not/exist.txt"),
        (["build", "README.md", "--extractor", "nope"], "unknown extractor 'nope'"),
        (["build", "README.md", "--gleaning", "-1"], "bad option gleaning: Input should be greater than or equal to 0"),
        (["stats", "--store", "ftp://host/db"], "unknown store URL scheme 'ftp'"),
        (["export", "--format", "xml", "out.xml"], "invalid choice: 'xml'"),
        (["import", "missing.graphml"], "no such file: missing.graphml"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_usage_exits_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "README.md").write_text("x")
    done = run_kgweave(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_partial_failure_exits_3_and_lists_failures(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("Graph neural networks. Graph neural networks are models.")
    (corpus / "bin.txt").write_bytes(b"\x00\x00\x00")
    done = run_kgweave("build", str(corpus), "--store", str(tmp_path / "g.db"), "--json")
    assert done.returncode == 3
    summary = json.loads(done.stdout)
    assert summary["failed_documents"] == 1 and summary["failures"][0]["reason"].startswith("binary file")


def test_not_a_database_store_is_one_line(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_text("this is not sqlite" * 100)
    done = run_kgweave("stats", "--store", str(bogus))
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "not a database" in done.stderr


def test_export_formats_and_graphml_round_trip(tmp_path: Path) -> None:
    db = str(tmp_path / "g.db")
    assert run_kgweave("build", str(SAMPLE_CORPUS), "--store", db).returncode == 0
    stats = json.loads(run_kgweave("stats", "--store", db, "--json").stdout)
    for fmt, out in (("graphml", "g.graphml"), ("json", "g.json"), ("csv", "csv")):
        done = run_kgweave("export", "--format", fmt, str(tmp_path / out), "--store", db, "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["nodes"] == stats["entities"]
    graph = nx.read_graphml(tmp_path / "g.graphml")
    assert graph.number_of_nodes() == stats["entities"] and graph.number_of_edges() == stats["relations"]
    data = json.loads((tmp_path / "g.json").read_text())
    assert len(data["relationships"]) == stats["relations"]
    with (tmp_path / "csv" / "nodes.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == stats["entities"] and rows[0][":LABEL"].startswith("Entity;")
    # importing our own export into a fresh store gives the same entity graph
    db2 = str(tmp_path / "g2.db")
    done = run_kgweave("import", str(tmp_path / "g.graphml"), "--store", db2, "--json")
    assert done.returncode == 0, done.stderr
    stats2 = json.loads(run_kgweave("stats", "--store", db2, "--json").stdout)
    assert (stats2["entities"], stats2["relations"]) == (stats["entities"], stats["relations"])
    assert stats2["labels"] == stats["labels"] and stats2["relation_types"] == stats["relation_types"]


def test_import_biograph(tmp_path: Path, shared_data: Path) -> None:
    source = shared_data / "graphreasoning_biograph" / "BioGraph.graphml"
    db = str(tmp_path / "bio.db")
    done = run_kgweave("import", str(source), "--store", db, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["nodes_read"], result["edges_read"]) == (12319, 15752)
    stats = json.loads(run_kgweave("stats", "--store", db, "--json").stdout)
    assert stats["entities"] == result["entities"] > 12000  # a few spellings merge (e.g. plural forms)
    assert stats["relations"] == result["relations"] > 14000
    again = json.loads(run_kgweave("import", str(source), "--store", db, "--json").stdout)
    assert again["new_entities"] == 0 and again["new_relations"] == 0


def test_import_rejects_broken_graphml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.graphml"
    bad.write_text("<graphml><graph><node id='a'>")
    done = run_kgweave("import", str(bad), "--store", str(tmp_path / "g.db"))
    assert done.returncode == 2 and "not valid GraphML" in done.stderr


def _iclr_corpus(shared_data: Path) -> Path:
    return shared_data / "researchtown_agent_data" / "iclr2023_review_score_papers"


def test_killed_build_is_completed_by_rerun(tmp_path: Path, shared_data: Path) -> None:
    corpus = _iclr_corpus(shared_data)
    crashed, clean = tmp_path / "crashed.db", tmp_path / "clean.db"
    args = [sys.executable, "-m", "kgweave.flows.cli", "build", str(corpus), "--batch-documents", "10", "--json"]
    proc = subprocess.Popen([*args, "--store", str(crashed)], env=kgweave_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    written = 0
    while time.time() < deadline and proc.poll() is None:
        if crashed.exists():
            try:
                with sqlite3.connect(crashed, timeout=1) as conn:
                    written = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            except sqlite3.Error:
                written = 0
            if written >= 50:
                break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 50 <= written < 613, "the build must be killed half-way"
    rerun = run_kgweave("build", str(corpus), "--store", str(crashed), "--json")
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["skipped_documents"] >= 50
    assert run_kgweave("build", str(corpus), "--store", str(clean), "--json").returncode == 0
    a = json.loads(run_kgweave("stats", "--store", str(crashed), "--json").stdout)
    b = json.loads(run_kgweave("stats", "--store", str(clean), "--json").stdout)
    assert {k: v for k, v in a.items() if k != "runs"} == {k: v for k, v in b.items() if k != "runs"}
    with sqlite3.connect(crashed) as ca, sqlite3.connect(clean) as cb:
        query = "SELECT id, support FROM entities ORDER BY id"
        assert ca.execute(query).fetchall() == cb.execute(query).fetchall()
        query = "SELECT id, support FROM relations ORDER BY id"
        assert ca.execute(query).fetchall() == cb.execute(query).fetchall()


def test_resolve_and_undo(tmp_path: Path) -> None:
    db = str(tmp_path / "g.db")
    assert run_kgweave("build", str(SAMPLE_CORPUS), "--store", db).returncode == 0
    before = json.loads(run_kgweave("stats", "--store", db, "--json").stdout)
    done = run_kgweave("resolve", "--store", db, "--no-embeddings", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["merges"] > 0 and result["embedding_model"] is None
    after = json.loads(run_kgweave("stats", "--store", db, "--json").stdout)
    assert after["entities"] == before["entities"] - result["merges"]
    assert after["merged_entities"] == result["merges"]
    undo = run_kgweave("resolve", "--store", db, "--undo", result["run_id"], "--json")
    assert undo.returncode == 0 and json.loads(undo.stdout)["removed_merges"] == result["merges"]
    restored = json.loads(run_kgweave("stats", "--store", db, "--json").stdout)
    assert {k: v for k, v in restored.items() if k != "runs"} == {k: v for k, v in before.items() if k != "runs"}
    bad = run_kgweave("resolve", "--store", db, "--threshold", "7")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    env = {k: v for k, v in kgweave_env().items() if not k.startswith("KGWEAVE_LLM_")}
    no_llm = run_kgweave("resolve", "--store", db, "--llm-judge", env=env)
    assert no_llm.returncode == 2 and "--llm-judge needs --llm-base-url" in no_llm.stderr


def test_analyze_graphml_and_store_with_write_back(tmp_path: Path, shared_data: Path) -> None:
    biograph = shared_data / "graphreasoning_biograph" / "BioGraph.graphml"
    done = run_kgweave("analyze", "--graphml", str(biograph), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["nodes"], report["edges"], report["components"]) == (12319, 15752, 28)
    assert [h["name"] for h in report["top_hubs"][:2]] == ["biological materials", "mechanical properties"]
    assert abs(report["power_law"]["alpha"] - 2.879) < 0.01
    db = str(tmp_path / "g.db")
    assert run_kgweave("build", str(SAMPLE_CORPUS), "--store", db).returncode == 0
    done = run_kgweave("analyze", "--store", db, "--write-back", "--hubs", "3", "--report", str(tmp_path / "rep"),
                       "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    hub = report["top_hubs"][0]
    with SQLiteGraphStore(db) as store:
        metrics = store.node_metrics(hub["id"])
        ranks = {node: m["hub_rank"] for node, m in store.all_node_metrics().items() if "hub_rank" in m}
    assert metrics["hub_score"] == 1.0 and metrics["degree"] == hub["degree"]
    assert ranks == {h["id"]: float(k) for k, h in enumerate(report["top_hubs"][:3], start=1)}
    assert {p.name for p in (tmp_path / "rep").iterdir()} >= {"analysis.md", "analysis.json"}
    assert any(p.suffix == ".png" for p in (tmp_path / "rep").iterdir())
    human = run_kgweave("analyze", "--store", db)
    assert human.returncode == 0 and "modularity" in human.stdout.lower()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["analyze", "--graphml", "missing.graphml"], "no such file"),
     (["analyze", "--graphml", "g.graphml", "--write-back"], "--write-back needs a store"),
     (["analyze", "--graphml", "g.graphml"], "GraphML"),
     (["analyze", "--top", "0"], "top")],
)
def test_analyze_bad_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "g.graphml").write_text("<graphml><graph><node id='a'>")
    done = run_kgweave(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr


def test_path_on_graphml_and_store(shared_data: Path, sample_db: Path) -> None:
    biograph = shared_data / "graphreasoning_biograph" / "BioGraph.graphml"
    done = run_kgweave("path", "copper", "silk", "--graphml", str(biograph), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["nodes"] == ["copper", "nanoparticles", "cells", "biological materials", "silk"]
    human = run_kgweave("path", "copper", "silk", "--graphml", str(biograph))
    assert "copper --[Such as]--> nanoparticles" in human.stdout
    missing = run_kgweave("path", "graph neural netwrk", "GNNs", "--store", str(sample_db))
    assert missing.returncode == 2 and "closest:" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    fuzzy = run_kgweave("path", "graph neural netwrk", "GNNs", "--store", str(sample_db), "--embeddings", "--json")
    assert fuzzy.returncode == 0, fuzzy.stderr
    result = json.loads(fuzzy.stdout)
    assert result["matched_by"]["graph neural netwrk"].startswith("embedding")
    assert "graph neural network" in result["source"].lower()


def test_path_embeddings_use_the_vectors_kgweave_embed_stored(tmp_path: Path, sample_db: Path) -> None:
    db = tmp_path / "embedded.db"
    shutil.copy(sample_db, db)
    embedded = run_kgweave("embed", "--store", str(db), "--json")
    assert embedded.returncode == 0, embedded.stderr
    with SQLiteGraphStore(db) as store:
        stored = store.embeddings("all-MiniLM-L6-v2")
        assert len(stored) == json.loads(embedded.stdout)["entities"] > 300
    fuzzy = run_kgweave("path", "graph neural netwrk", "GNNs", "--store", str(db), "--embeddings", "--json")
    assert fuzzy.returncode == 0, fuzzy.stderr
    result = json.loads(fuzzy.stdout)
    assert result["matched_by"]["graph neural netwrk"].startswith("embedding")
    assert "graph neural network" in result["source"].lower()


def test_analyze_compare_two_snapshots(tmp_path: Path, sample_db: Path) -> None:
    half = tmp_path / "half.jsonl"
    half.write_text("\n".join(SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines()[:20]) + "\n", "utf-8")
    early = str(tmp_path / "early.db")
    assert run_kgweave("build", str(half), "--store", early).returncode == 0
    exported = tmp_path / "early.graphml"
    assert run_kgweave("export", "--format", "graphml", str(exported), "--store", early).returncode == 0
    for a in (early, str(exported)):
        done = run_kgweave("analyze", "--compare", a, str(sample_db), "--json")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["nodes"]["change"] > 0 and result["new_nodes"] > 0 and result["removed_nodes"] == 0
        assert 0 < result["common_nodes"] <= result["nodes"]["a"]
    human = run_kgweave("analyze", "--compare", early, str(sample_db))
    assert human.returncode == 0 and "new hubs:" in human.stdout
    bad = run_kgweave("analyze", "--compare", early, str(tmp_path / "nope.graphml"))
    assert bad.returncode == 2 and "no such file" in bad.stderr


def test_analyze_compare_two_runs_of_one_store(tmp_path: Path) -> None:
    half = tmp_path / "half.jsonl"
    half.write_text("\n".join(SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines()[:20]) + "\n", "utf-8")
    db, early = str(tmp_path / "kg.db"), str(tmp_path / "early.db")
    for store in (db, early):
        assert run_kgweave("build", str(half), "--store", store, "--run-id", "first").returncode == 0
    assert run_kgweave("build", str(SAMPLE_CORPUS), "--store", db, "--run-id", "second").returncode == 0
    by_run = run_kgweave("analyze", "--compare", "first", "second", "--store", db, "--json")
    assert by_run.returncode == 0, by_run.stderr
    by_store = run_kgweave("analyze", "--compare", early, db, "--json")
    runs, stores = json.loads(by_run.stdout), json.loads(by_store.stdout)
    for key in ("nodes", "edges", "common_nodes", "new_nodes", "removed_nodes", "communities", "modularity"):
        assert runs[key] == stores[key], key
    assert runs["new_nodes"] > 0
    unknown = run_kgweave("analyze", "--compare", "first", "nope", "--store", db)
    assert unknown.returncode == 2 and "no run 'nope'" in unknown.stderr


BOOM = """
import sys
import kgweave.flows.build_graph as build_graph
from kgweave.flows.cli import main

def boom(*args, **kwargs):
    raise RuntimeError("disk on fire\\nsecond line of the error")

build_graph.extract_documents = boom  # fails inside a Prefect task: Prefect logs it with tracebacks
sys.exit(main(sys.argv[1:]))
"""


def test_a_failing_flow_is_one_line_on_stderr_and_tracebacks_only_with_debug(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("Knowledge graphs connect entities. Knowledge graphs store facts.", "utf-8")
    args = ["build", str(corpus), "--store", str(tmp_path / "g.db")]
    quiet = subprocess.run([sys.executable, "-c", BOOM, *args], capture_output=True, text=True,
                           env=kgweave_env(), timeout=600)
    assert quiet.returncode == 1
    lines = [line for line in quiet.stderr.splitlines() if line.strip() and "extract documents" not in line]
    assert "Traceback" not in quiet.stderr
    # every line is a log record or the CLI's own: no traceback frames, no continuation of a message
    assert all(line[:1].isdigit() or line.startswith("kgweave: ") for line in lines), quiet.stderr
    assert lines[-1].startswith("kgweave: failed: RuntimeError: disk on fire second line of the error")
    debug = subprocess.run([sys.executable, "-c", BOOM, *args], capture_output=True, text=True,
                           env={**kgweave_env(), "KGWEAVE_DEBUG": "1"}, timeout=600)
    assert debug.returncode != 0 and "Traceback" in debug.stderr
