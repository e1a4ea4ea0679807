"""Community detection: known answers (karate club, ring of cliques, barbell) and networkx's Louvain."""

from __future__ import annotations

import networkx as nx
import pytest

from kgweave.analysis.communities import detect_communities, relabel_by_size, seeded_igraph
from kgweave.analysis.graph_view import view_from_networkx

KARATE_OPTIMUM = 0.4198  # Brandes et al. 2008: the maximum modularity of Zachary's karate club


def _graph(graph: nx.Graph):  # type: ignore[no-untyped-def]
    return view_from_networkx(graph).graph


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_leiden_finds_the_karate_club_optimum_and_matches_networkx_louvain(seed: int) -> None:
    karate = nx.karate_club_graph()
    partition = detect_communities(_graph(karate), seed=seed)
    assert partition.algorithm == "leiden" and partition.objective == "modularity"
    assert partition.resolution == 1.0 and partition.n_iterations == -1 and partition.seed == seed
    assert partition.count == 4 and partition.modularity == pytest.approx(KARATE_OPTIMUM, abs=1e-4)
    reference = nx.community.louvain_communities(karate, weight=None, seed=seed)
    assert partition.modularity >= nx.community.modularity(karate, reference, weight=None) - 1e-9
    # the reported modularity is networkx's modularity of the same partition
    groups = [{n for n, c in zip(karate, partition.membership, strict=True) if c == k} for k in range(4)]
    assert partition.modularity == pytest.approx(nx.community.modularity(karate, groups, weight=None), abs=1e-12)


def test_objective_is_modularity_not_igraphs_default_cpm() -> None:
    graph = _graph(nx.karate_club_graph())
    assert len(graph.community_leiden()) == 34  # igraph's default (CPM, resolution 1): all singletons
    assert detect_communities(graph).count == 4


def test_louvain_is_available_and_close_to_networkx() -> None:
    karate = nx.karate_club_graph()
    partition = detect_communities(_graph(karate), algorithm="louvain", seed=1)
    assert partition.algorithm == "louvain" and partition.n_iterations == 0
    assert partition.count == 4 and partition.modularity == pytest.approx(0.4188, abs=1e-4)


def test_ring_of_cliques_and_barbell_split_into_their_cliques() -> None:
    ring = detect_communities(_graph(nx.ring_of_cliques(8, 6)), seed=0)
    assert ring.sizes == (6,) * 8
    assert all(len(set(ring.membership[k * 6:(k + 1) * 6])) == 1 for k in range(8))
    barbell = detect_communities(_graph(nx.barbell_graph(10, 0)), seed=0)
    assert barbell.membership == (0,) * 10 + (1,) * 10


def test_leiden_communities_are_connected_and_seeded() -> None:
    graph = _graph(nx.powerlaw_cluster_graph(1500, 3, 0.3, seed=2))
    first = detect_communities(graph, seed=7)
    assert first == detect_communities(graph, seed=7)
    assert detect_communities(graph, seed=8).membership != first.membership
    for community in range(first.count):
        members = [v for v, c in enumerate(first.membership) if c == community]
        assert graph.induced_subgraph(members).is_connected()


def test_resolution_changes_the_number_of_communities() -> None:
    graph = _graph(nx.karate_club_graph())
    assert detect_communities(graph, resolution=0.5).count < 4 < detect_communities(graph, resolution=2.0).count


def test_isolated_nodes_are_singletons_and_large_graphs_default_to_two_iterations() -> None:
    graph = _graph(nx.disjoint_union(nx.complete_graph(4), nx.empty_graph(2)))
    partition = detect_communities(graph)
    assert partition.sizes == (4, 1, 1)
    big = _graph(nx.gnm_random_graph(30_000, 101_000, seed=1))
    assert detect_communities(big, seed=0).n_iterations == 2
    assert detect_communities(big, seed=0, n_iterations=1).n_iterations == 1


def test_relabel_by_size_and_seeded_igraph_leaves_random_alone() -> None:
    import random

    assert relabel_by_size([5, 5, 2, 9, 9, 9, 2]) == ([1, 1, 2, 0, 0, 0, 2], [3, 2, 2])
    random.seed(123)
    expected = random.random()
    random.seed(123)
    with seeded_igraph(4):
        _graph(nx.karate_club_graph()).community_leiden(objective_function="modularity")
    assert random.random() == expected
    with pytest.raises(ValueError, match="unknown community algorithm"):
        detect_communities(_graph(nx.path_graph(3)), algorithm="spectral")  # type: ignore[arg-type]
