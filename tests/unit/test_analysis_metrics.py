"""Structure metrics against networkx and known answers (barbell bridges, karate club)."""

from __future__ import annotations

import math
import random

import networkx as nx
import pytest

from kgweave.analysis.graph_view import view_from_networkx
from kgweave.analysis.metrics import (
    BETWEENNESS_BUDGET,
    PATH_BUDGET,
    articulation_points,
    auto_sources,
    average_shortest_path,
    betweenness,
    bridge_splits,
    bridges,
    clustering,
    components,
    degree_assortativity,
    degree_histogram,
    hoeffding_bound,
    pagerank,
)


def _view(graph: nx.Graph):  # type: ignore[no-untyped-def]
    return view_from_networkx(graph)


def _edge_names(view, edge_ids):  # type: ignore[no-untyped-def]
    return {frozenset((view.ids[view.graph.es[e].source], view.ids[view.graph.es[e].target])) for e in edge_ids}


def test_barbell_bridges_articulation_points_and_splits_are_the_known_answer() -> None:
    # two K5 (nodes 0-4 and 7-11) joined by the path 4-5-6-7
    view = _view(nx.barbell_graph(5, 2))
    found = bridges(view.graph)
    assert _edge_names(view, found) == {frozenset(p) for p in (("4", "5"), ("5", "6"), ("6", "7"))}
    assert sorted(view.ids[i] for i in articulation_points(view.graph)) == ["4", "5", "6", "7"]
    splits = {next(iter(_edge_names(view, [e]))): s
              for e, s in zip(found, bridge_splits(view.graph, found), strict=True)}
    assert splits == {frozenset(("4", "5")): 5, frozenset(("5", "6")): 6, frozenset(("6", "7")): 5}


def test_bridges_and_articulation_points_match_networkx_on_a_tree_like_random_graph() -> None:
    graph = nx.gnm_random_graph(300, 330, seed=11)
    view = _view(graph)
    assert _edge_names(view, bridges(view.graph)) == {frozenset((str(u), str(v))) for u, v in nx.bridges(graph)}
    assert {view.ids[i] for i in articulation_points(view.graph)} == {str(v) for v in nx.articulation_points(graph)}


def test_bridge_splits_match_removing_each_bridge_in_networkx() -> None:
    graph = nx.gnm_random_graph(120, 125, seed=5)
    view = _view(graph)
    found = bridges(view.graph)
    assert len(found) > 20
    for edge_id, split in zip(found, bridge_splits(view.graph, found), strict=True):
        u, v = (int(view.ids[x]) for x in view.graph.es[edge_id].tuple)
        cut = graph.copy()
        cut.remove_edge(u, v)
        expected = min(len(nx.node_connected_component(cut, u)), len(nx.node_connected_component(cut, v)))
        assert split == expected


@pytest.mark.parametrize("graph", [
    nx.karate_club_graph(),
    nx.barabasi_albert_graph(500, 3, seed=2),
    nx.disjoint_union(nx.path_graph(5), nx.empty_graph(3)),  # isolated (dangling) nodes
], ids=["karate", "ba500", "with-isolated"])
def test_pagerank_matches_networkx_within_1e_6(graph: nx.Graph) -> None:
    view = _view(graph)
    expected = nx.pagerank(graph, weight=None, tol=1e-12, max_iter=10_000)
    got = pagerank(view.graph)
    assert math.isclose(sum(got), 1.0, abs_tol=1e-9)
    assert max(abs(got[i] - expected[int(node)]) for i, node in enumerate(view.ids)) < 1e-6


def test_exact_betweenness_matches_networkx_normalised() -> None:
    graph = nx.karate_club_graph()
    view = _view(graph)
    result = betweenness(view.graph)  # 34 nodes: the default sample covers every node
    assert result.exact and result.sources == 34 and result.error_bound == 0.0
    expected = nx.betweenness_centrality(graph, normalized=True)
    assert max(abs(result.values[i] - expected[int(n)]) for i, n in enumerate(view.ids)) < 1e-12


def test_sampled_betweenness_is_within_the_stated_error_of_exact() -> None:
    # Stated tolerance, 200 of 2,000 sources: max |error| < 0.02 (largest exact value 0.149; seeds
    # 0-5 give 0.009-0.0145), inside Hoeffding's 0.096 per-node bound; 8 of the top 10 kept.
    graph = nx.barabasi_albert_graph(2000, 3, seed=1)
    view = _view(graph)
    exact = betweenness(view.graph, sources=2000)
    sampled = betweenness(view.graph, sources=200, seed=3)
    assert exact.exact and not sampled.exact and sampled.sources == 200
    assert sampled.error_bound == pytest.approx(hoeffding_bound(200, 2000))
    errors = [abs(a - b) for a, b in zip(sampled.values, exact.values, strict=True)]
    assert max(errors) < sampled.error_bound
    assert max(errors) < 0.02
    top = sorted(range(2000), key=lambda i: -exact.values[i])[:10]
    top_sampled = sorted(range(2000), key=lambda i: -sampled.values[i])[:10]
    assert len(set(top) & set(top_sampled)) >= 8
    # unbiased: the scale is right (a missing n/k or a factor 2 would be off by 10x or 2x)
    assert sum(sampled.values) == pytest.approx(sum(exact.values), rel=0.05)


def test_sampled_betweenness_is_seeded() -> None:
    view = _view(nx.barabasi_albert_graph(400, 2, seed=4))
    assert betweenness(view.graph, sources=50, seed=9).values == betweenness(view.graph, sources=50, seed=9).values
    assert betweenness(view.graph, sources=50, seed=9).values != betweenness(view.graph, sources=50, seed=10).values


def test_average_shortest_path_exact_matches_networkx_and_sampled_is_close() -> None:
    graph = nx.karate_club_graph()
    exact = average_shortest_path(_view(graph).graph, sources=34)
    assert exact.exact and exact.sources == 34 and exact.pairs == 34 * 33
    assert exact.average == pytest.approx(nx.average_shortest_path_length(graph), abs=1e-12)
    assert exact.max_distance == nx.diameter(graph)

    big = nx.barabasi_albert_graph(3000, 2, seed=6)
    truth = nx.average_shortest_path_length(big)
    sampled = average_shortest_path(_view(big).graph, sources=100, seed=1)
    assert not sampled.exact and sampled.sources == 100 and sampled.standard_error is not None
    assert abs(sampled.average - truth) < 4 * sampled.standard_error
    assert abs(sampled.average - truth) < 0.05


def test_average_shortest_path_counts_only_reachable_pairs() -> None:
    # a path of 3 nodes (distances 1, 1, 2 both ways) and a separate edge (1 both ways)
    graph = nx.disjoint_union(nx.path_graph(3), nx.path_graph(2))
    result = average_shortest_path(_view(graph).graph)
    assert result.exact and result.pairs == 8
    assert result.average == pytest.approx((1 + 1 + 2) * 2 / 6 * 6 / 8 + 2 / 8)
    assert result.max_distance == 2


def test_clustering_and_assortativity_match_networkx() -> None:
    for graph in (nx.karate_club_graph(), nx.powerlaw_cluster_graph(800, 3, 0.4, seed=8)):
        view = _view(graph)
        transitivity, average = clustering(view.graph)
        assert transitivity == pytest.approx(nx.transitivity(graph), abs=1e-12)
        assert average == pytest.approx(nx.average_clustering(graph), abs=1e-12)
        assert degree_assortativity(view.graph) == pytest.approx(nx.degree_assortativity_coefficient(graph),
                                                                 abs=1e-9)


def test_assortativity_is_none_where_undefined() -> None:
    assert degree_assortativity(_view(nx.cycle_graph(6)).graph) is None  # every degree equal
    assert degree_assortativity(_view(nx.empty_graph(4)).graph) is None


def test_components_are_numbered_by_size() -> None:
    graph = nx.disjoint_union_all([nx.path_graph(2), nx.path_graph(5), nx.empty_graph(1), nx.path_graph(3)])
    view = _view(graph)
    comps = components(view.graph)
    assert comps.sizes == [5, 3, 2, 1] and comps.count == nx.number_connected_components(graph)
    assert comps.largest_share == pytest.approx(5 / 11)
    assert {view.ids[i] for i, c in enumerate(comps.membership) if c == 0} == {"2", "3", "4", "5", "6"}


def test_auto_sources_and_hoeffding_bound() -> None:
    assert auto_sources(34, 78, BETWEENNESS_BUDGET, 64, 4096) == 34
    assert auto_sources(12_319, 15_684, BETWEENNESS_BUDGET, 64, 4096) == 765
    assert auto_sources(12_319, 15_684, PATH_BUDGET, 32, 1024) == 318
    assert auto_sources(20_000, 100_000, BETWEENNESS_BUDGET, 64, 4096) == 120
    assert auto_sources(200_000, 1_000_000, BETWEENNESS_BUDGET, 64, 4096) == 64
    assert hoeffding_bound(100, 100) == 0.0
    assert hoeffding_bound(256, 10_000) == pytest.approx(math.sqrt(math.log(40) / 512) * 10_000 / 9_999)


def test_degree_histogram() -> None:
    rng = random.Random(0)
    degrees = [rng.randrange(6) for _ in range(100)]
    assert degree_histogram(degrees) == sorted((d, degrees.count(d)) for d in set(degrees))
