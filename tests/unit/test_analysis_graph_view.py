"""The undirected simple view: collapsing, self-loops, names, and where it comes from."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from kgweave.analysis.graph_view import (
    GraphViewError,
    igraph_threads,
    view_from_edges,
    view_from_graphml,
    view_from_networkx,
    view_from_snapshot,
)
from kgweave.graph_store.models import GraphSnapshot, SnapshotEdge, SnapshotNode


def _snapshot() -> GraphSnapshot:
    nodes = tuple(SnapshotNode(id=f"id-{k}", name=name, label="Concept")
                  for k, name in enumerate(["silk", "spider", "protein", "loner"]))
    edges = [("id-0", "id-1", "MADE_BY"), ("id-1", "id-0", "MAKES"), ("id-0", "id-1", "USED_BY"),
             ("id-0", "id-2", "CONTAINS"), ("id-2", "id-2", "BINDS")]
    return GraphSnapshot(nodes=nodes, edges=tuple(
        SnapshotEdge(id=f"r{k}", source=s, target=t, type=kind) for k, (s, t, kind) in enumerate(edges)))


def test_snapshot_view_collapses_direction_and_parallel_edges_and_sets_loops_aside() -> None:
    view = view_from_snapshot(_snapshot(), source="sqlite:///x.db")
    assert view.ids == ("id-0", "id-1", "id-2", "id-3") and view.names[:2] == ("silk", "spider")
    assert not view.graph.is_directed() and view.graph.is_simple()
    assert view.graph.ecount() == 2 and view.self_loops == (0, 0, 1, 0)
    assert view.nodes == 4 and view.edges == 3 and view.input_edges == 5
    assert view.degrees() == [2, 1, 3, 0]  # the self-loop adds 2, as in networkx
    assert view.source == "sqlite:///x.db"


def test_degrees_and_edge_count_equal_networkx_graph_of_the_same_multigraph() -> None:
    multi = nx.MultiDiGraph()
    multi.add_edges_from([(0, 1), (1, 0), (1, 2), (2, 2), (2, 2), (3, 4), (3, 4), (4, 4)])
    view = view_from_networkx(multi)
    simple = nx.Graph(multi)
    assert view.edges == simple.number_of_edges() == 5
    assert view.degrees() == [simple.degree(n) for n in multi.nodes]


def test_bad_input_is_refused() -> None:
    with pytest.raises(GraphViewError, match="index"):
        view_from_edges(["a", "b"], [(0, 2)])
    with pytest.raises(GraphViewError, match="distinct"):
        view_from_edges(["a", "a"], [])
    bad = _snapshot().model_copy(update={"edges": (SnapshotEdge(id="r", source="id-0", target="nope", type="X"),)})
    with pytest.raises(GraphViewError, match="nope"):
        view_from_snapshot(bad)


def test_graphml_names_come_from_attributes_else_the_node_id(tmp_path: Path) -> None:
    graph = nx.Graph()
    graph.add_node("n0", name="Collagen")
    graph.add_node("n1", title="Bone")
    graph.add_node("fibril")
    graph.add_edges_from([("n0", "n1"), ("n1", "fibril")])
    path = tmp_path / "g.graphml"
    nx.write_graphml(graph, path)
    view = view_from_graphml(path)
    assert view.ids == ("n0", "n1", "fibril") and view.names == ("Collagen", "Bone", "fibril")
    assert view.edges == 2 and view.source == str(path)
    (tmp_path / "bad.graphml").write_text("<graphml><graph>", encoding="utf-8")
    with pytest.raises(GraphViewError, match="not readable GraphML"):
        view_from_graphml(tmp_path / "bad.graphml")
    with pytest.raises(GraphViewError):
        view_from_graphml(tmp_path / "missing.graphml")


def test_igraph_threads_limits_openmp_inside_the_block_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import igraph  # noqa: F401  (loads igraph's libgomp)
    from threadpoolctl import threadpool_info

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)

    def openmp_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "openmp"}

    before = openmp_threads()
    assert before
    with igraph_threads() as applied:
        assert applied == 1 and openmp_threads() == {1}
    assert openmp_threads() == before
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    with igraph_threads() as applied:
        assert applied is None
