"""Comparing two snapshots: known merges and splits of planted communities."""

from __future__ import annotations

import networkx as nx

from kgweave.analysis.compare import compare_views
from kgweave.analysis.graph_view import view_from_networkx


def _two_cliques(bridge_edges: int) -> nx.Graph:
    graph = nx.Graph()
    left = [f"left {i}" for i in range(10)]
    right = [f"right {i}" for i in range(10)]
    graph.add_edges_from((a, b) for group in (left, right) for i, a in enumerate(group) for b in group[i + 1:])
    graph.add_edges_from((left[i], right[j]) for i in range(10) for j in range(10) if (i * 10 + j) < bridge_edges)
    return graph


def test_two_communities_that_grow_together_are_reported_merged() -> None:
    before = view_from_networkx(_two_cliques(1), "before")
    after = view_from_networkx(_two_cliques(100), "after")  # complete bipartite join: one community
    result = compare_views(before, after)
    assert (result.communities["a"], result.communities["b"]) == (2, 1)
    assert result.modularity["change"] < 0
    assert [c.kind for c in result.merged] == ["merged"] and len(result.merged[0].a_communities) == 2
    assert result.split == [] and result.new_nodes == 0 and result.common_nodes == 20


def test_the_reverse_is_a_split_and_new_nodes_are_counted() -> None:
    after = _two_cliques(1)
    after.add_edge("left 0", "newcomer")
    result = compare_views(view_from_networkx(_two_cliques(100), "a"), view_from_networkx(after, "b"))
    assert len(result.split) == 1 and len(result.split[0].b_communities) == 2
    assert result.new_nodes == 1 and result.nodes["change"] == 1
