"""Shortest concept paths: the published BioGraph copper -> silk path, directions, bad names."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgweave.analysis.paths import (
    NoPathError,
    UnknownNameError,
    path_graph_from_graphml,
    path_graph_from_snapshot,
    shortest_path,
)
from kgweave.graph_store.models import GraphSnapshot, SnapshotEdge, SnapshotNode
from tests.conftest import require


def test_biograph_copper_to_silk_matches_the_published_path(shared_data: Path) -> None:
    source = shared_data / "graphreasoning_biograph" / "BioGraph.graphml"
    require(source.is_file(), f"{source} is missing")
    result = shortest_path(path_graph_from_graphml(source), "Copper", "silk")
    assert result.nodes == ["copper", "nanoparticles", "cells", "biological materials", "silk"]
    assert [s.relation for s in result.steps] == [
        "Such as", "interact", "enable self-healing capabilities", "provide functionalities"]
    assert result.matched_by == {"Copper": "exact", "silk": "exact"}


def _snapshot() -> GraphSnapshot:
    nodes = tuple(SnapshotNode(id=i, name=n, label="Concept") for i, n in
                  (("a", "graph neural networks"), ("b", "message passing"), ("c", "over-smoothing"), ("d", "silk")))
    edges = (SnapshotEdge(id="e1", source="a", target="b", type="USES"),
             SnapshotEdge(id="e2", source="c", target="b", type="AFFECTS"))
    return GraphSnapshot(nodes=nodes, edges=edges)


def test_steps_say_which_way_the_relation_points() -> None:
    result = shortest_path(path_graph_from_snapshot(_snapshot()), "Graph Neural Network", "over smoothing")
    assert result.text() == "graph neural networks --[USES]--> message passing <--[AFFECTS]-- over-smoothing"
    assert [s.forward for s in result.steps] == [True, False]


def test_unknown_names_and_disconnected_nodes() -> None:
    graph = path_graph_from_snapshot(_snapshot())
    with pytest.raises(UnknownNameError, match="closest: message passing"):
        shortest_path(graph, "message passin", "silk")
    with pytest.raises(NoPathError):
        shortest_path(graph, "silk", "message passing")


def test_stored_vectors_stand_for_their_nodes_and_only_the_rest_is_embedded() -> None:
    import numpy as np

    axes = {"gnn": 0, "smoothing": 1, "passing": 2, "silk": 3}
    embedded: list[str] = []

    def embed(texts: list[str]) -> np.ndarray:  # one axis per keyword: a transparent, exact embedding
        embedded.extend(texts)
        out = np.zeros((len(texts), 4), dtype=np.float32)
        for row, text in enumerate(texts):
            for word, axis in axes.items():
                out[row, axis] = word in text
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    # "graph neural networks" shares no keyword with "gnn": only its stored vector (its text) can match
    stored = {"a": np.array([1, 0, 0, 0], dtype=np.float32), "c": np.array([0, 1, 0, 0], dtype=np.float32)}
    result = shortest_path(path_graph_from_snapshot(_snapshot()), "gnn", "smoothing", embed, stored)
    assert result.nodes == ["graph neural networks", "message passing", "over-smoothing"]
    assert result.matched_by["gnn"] == "embedding (cosine 1.00)"
    assert sorted(set(embedded)) == ["gnn", "message passing", "silk", "smoothing"]  # never a stored node's name
