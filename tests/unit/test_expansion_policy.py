"""Expansion policies and the evolving graph on small graphs with known answers."""

from __future__ import annotations

import networkx as nx
import pytest

from kgweave.analysis.evolution import EvolvingGraph, MetricOptions, measure
from kgweave.analysis.expansion_policy import POLICIES, choose_focus
from kgweave.analysis.powerlaw_fit import alpha_from_degrees, fit_power_law


def evolving(graph: nx.Graph, iteration_of: dict[int, int] | None = None) -> EvolvingGraph:
    """An EvolvingGraph holding ``graph`` (node k named n{k}), nodes added in order."""
    grown = EvolvingGraph()
    for node in sorted(graph.nodes):
        grown.add([(f"id{node}", f"n{node}", "Concept")], [], (iteration_of or {}).get(node, 0))
    grown.add([], [(f"r{u}-{v}", f"id{u}", "RELATED_TO", f"id{v}") for u, v in graph.edges], 0)
    return grown


def test_hub_picks_the_max_degree_node_then_moves_on() -> None:
    graph = nx.star_graph(5)  # centre 0, degree 5
    graph.add_edges_from([(6, 7), (7, 8), (7, 9)])  # second hub 7, degree 3
    grown = evolving(graph)
    assert choose_focus(grown, "hub", 1) == [0]
    grown.mark_focused([0])
    grown.mark_focused([0])  # 5 / 3 < 3 / 1: the next hub gets its turn
    assert choose_focus(grown, "hub", 2) == [7]


def test_bridge_picks_a_barbell_bridge_endpoint() -> None:
    graph = nx.barbell_graph(6, 0)  # two K6 joined by the edge 5-6
    grown = evolving(graph)
    grown.refresh_communities(seed=0)
    assert grown.membership[0] != grown.membership[11]
    assert choose_focus(grown, "bridge", 1, betweenness_sources=100) == [5]
    grown.mark_focused([5])
    assert choose_focus(grown, "bridge", 2, betweenness_sources=100) == [6]


def test_path_picks_the_two_ends_of_a_path_graph() -> None:
    grown = evolving(nx.path_graph(12))
    for iteration in range(1, 6):  # whatever the random start, the double sweep ends at both ends
        assert sorted(choose_focus(grown, "path", iteration, seed=iteration)) == [0, 11]


def test_frontier_picks_the_newest_least_explored_node() -> None:
    graph = nx.path_graph(5)
    grown = evolving(graph, iteration_of={0: 0, 1: 1, 2: 2, 3: 3, 4: 3})
    assert choose_focus(grown, "frontier", 4) == [4]  # born at iteration 3, the later of the two
    grown.mark_focused([4])
    assert choose_focus(grown, "frontier", 5) == [3]
    grown.mark_focused([3])
    assert choose_focus(grown, "frontier", 6) == [2]
    grown.add([("idnew", "new", "Concept")], [("rnew", "id2", "RELATED_TO", "idnew")], 7)
    assert choose_focus(grown, "frontier", 8) == [5]  # the new node, never explored


def test_random_is_seeded_by_iteration_and_unknown_policy_fails() -> None:
    grown = evolving(nx.path_graph(50))
    picks = [choose_focus(grown, "random", i, seed=3) for i in range(1, 20)]
    assert picks == [choose_focus(grown, "random", i, seed=3) for i in range(1, 20)]
    assert len({p[0] for p in picks}) > 5
    assert set(POLICIES) == {"frontier", "bridge", "hub", "path", "random"}
    with pytest.raises(ValueError, match="unknown policy"):
        choose_focus(grown, "widest", 1)
    with pytest.raises(ValueError, match="empty"):
        choose_focus(EvolvingGraph(), "hub", 1)


def test_incremental_graph_matches_networkx() -> None:
    graph = nx.gnm_random_graph(300, 420, seed=4)
    grown = EvolvingGraph()
    edges = list(graph.edges)
    for step in range(0, len(edges), 40):  # grown by deltas, as an expansion does
        batch = edges[step:step + 40]
        nodes = {n for e in batch for n in e}
        grown.add([(f"id{n}", f"n{n}", "Concept") for n in sorted(nodes)],
                  [(f"r{u}-{v}", f"id{u}", "RELATED_TO", f"id{v}") for u, v in batch], step)
    seen = nx.Graph(edges)
    assert (grown.nodes, grown.edges) == (seen.number_of_nodes(), seen.number_of_edges())
    largest = max(len(c) for c in nx.connected_components(seen))
    assert grown.largest_component_share() == pytest.approx(largest / seen.number_of_nodes())
    assert grown.component_count() == nx.number_connected_components(seen)
    metrics = measure(grown, 0, 0, 1, False, MetricOptions(path_sources=10_000, clustering_sample=10_000))
    order = [grown.ids.index(f"id{n}") for n in seen.nodes]
    assert metrics.average_shortest_path == pytest.approx(
        sum(nx.average_shortest_path_length(seen.subgraph(c)) * len(c) * (len(c) - 1)
            for c in nx.connected_components(seen))
        / sum(len(c) * (len(c) - 1) for c in nx.connected_components(seen)), rel=1e-6)
    assert metrics.clustering == pytest.approx(nx.average_clustering(seen), abs=1e-6)
    assert metrics.transitivity == pytest.approx(nx.transitivity(seen), abs=1e-6)
    assert len(order) == grown.nodes
    # the same relation again, or a reverse one on a known pair, adds no edge
    assert grown.add([], [("r0-again", "id0", "PART_OF", f"id{next(iter(seen[0]))}")], 9)[1] == 0


def test_new_nodes_join_their_neighbours_community() -> None:
    grown = evolving(nx.barbell_graph(6, 0))
    grown.refresh_communities(seed=0)
    before = grown.community_count
    grown.add([("x", "x", "Concept")], [("rx", "x", "RELATED_TO", "id0"), ("ry", "x", "RELATED_TO", "id1")], 1)
    assert grown.membership[-1] == grown.membership[0] and grown.community_count == before
    grown.add([("lonely", "lonely", "Concept")], [], 2)
    assert grown.community_count == before + 1
    assert grown.modularity() == pytest.approx(nx.community.modularity(
        nx.relabel_nodes(nx.Graph(grown.graph.get_edgelist()), {}),
        [{v for v in range(grown.nodes) if grown.membership[v] == c} - {grown.nodes - 1}
         for c in set(grown.membership[:-1])]), abs=1e-9)


def test_alpha_from_histogram_agrees_with_the_powerlaw_package() -> None:
    degrees = [d for _, d in nx.barabasi_albert_graph(3000, 2, seed=1).degree()]
    fast = alpha_from_degrees(degrees)
    reference = fit_power_law(degrees)
    assert fast is not None and reference is not None
    assert fast[1] == reference.xmin
    assert fast[0] == pytest.approx(reference.alpha, abs=0.01)
    assert alpha_from_degrees([3] * 100) is None and alpha_from_degrees([1, 2, 3]) is None
