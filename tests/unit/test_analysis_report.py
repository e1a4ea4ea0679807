"""The whole report: consistent with networkx, deterministic, and what the store accepts back."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from pydantic import ValidationError

from kgweave.analysis.graph_view import view_from_networkx, view_from_snapshot
from kgweave.analysis.report import (
    WRITE_BACK_METRICS,
    AnalysisOptions,
    AnalysisReport,
    analyze,
    analyze_graph,
    hub_scores,
    node_metrics_for_write_back,
    write_back_batches,
)
from kgweave.graph_store.cypher import ENTITY_RESERVED_PROPERTIES, METRIC_NAME_PATTERN
from kgweave.graph_store.models import Entity, GraphDelta, Relation
from kgweave.graph_store.sqlite_store import SQLiteGraphStore


def _karate_plus():  # type: ignore[no-untyped-def]
    """Karate club, a separate triangle with a tail, an isolated node, a self-loop on node 0."""
    graph = nx.Graph(nx.karate_club_graph())
    graph.add_edges_from([(100, 101), (101, 102), (102, 100), (102, 103)])
    graph.add_node(200)
    graph.add_edge(0, 0)
    return graph


def test_report_matches_networkx_on_a_small_graph() -> None:
    graph = _karate_plus()
    report = analyze_graph(view_from_networkx(graph), AnalysisOptions(seed=1))
    simple = nx.Graph(graph)
    simple.remove_edges_from(nx.selfloop_edges(simple))
    assert (report.nodes, report.edges, report.self_loops) == (39, 83, 1)
    assert report.components == 3 and report.component_sizes == [34, 4, 1]
    assert report.largest_component_share == pytest.approx(34 / 39) and report.isolated_nodes == 1
    assert report.average_degree == pytest.approx(2 * 83 / 39)
    degree = dict(graph.degree())
    assert [h.degree for h in report.top_hubs] == sorted(degree.values(), reverse=True)[:10]
    # node 0: 16 neighbours + a self-loop (2) = 18; node 33 has 17 but the highest PageRank (loops
    # take no part in it), so its hub score is 1
    assert [(h.name, h.degree) for h in report.top_hubs[:2]] == [("0", 18), ("33", 17)]
    assert report.top_hubs[1].hub_score == 1.0 > report.top_hubs[0].hub_score
    assert report.degree_histogram == [(d, c) for d, c in enumerate(nx.degree_histogram(graph)) if c]
    betweenness = nx.betweenness_centrality(simple)
    assert report.betweenness.exact and report.betweenness.sources == 39
    assert report.top_bridges[0].name == "0"
    assert report.top_bridges[0].betweenness == pytest.approx(betweenness[0], abs=1e-12)
    assert report.bridges.count == len(list(nx.bridges(simple)))
    assert {b.target for b in report.bridges.top} | {b.source for b in report.bridges.top} >= {"102", "103"}
    assert report.articulation_points.count == len(list(nx.articulation_points(simple)))
    assert report.clustering.transitivity == pytest.approx(nx.transitivity(simple))
    assert report.assortativity == pytest.approx(nx.degree_assortativity_coefficient(simple))
    assert report.communities >= 6 and report.modularity > 0.4  # 4 in the club, triangle+tail, isolated node
    assert report.community_detection.algorithm == "leiden" and report.community_detection.objective == "modularity"
    assert report.average_shortest_path.exact
    assert set(report.seconds) >= {"pagerank", "communities", "betweenness", "power_law", "total"}
    assert report.engine["igraph"] != "unknown"


def test_report_is_deterministic_for_a_seed_and_round_trips_through_json() -> None:
    view = view_from_networkx(nx.powerlaw_cluster_graph(3000, 2, 0.3, seed=5))
    options = AnalysisOptions(seed=4, betweenness_sources=100, path_sources=50)
    first = analyze_graph(view, options)
    second = analyze_graph(view, options)
    assert first.model_dump(exclude={"seconds"}) == second.model_dump(exclude={"seconds"})
    assert not first.betweenness.exact and first.betweenness.sources == 100
    assert first.average_shortest_path.sources == 50 and not first.average_shortest_path.exact
    assert first.power_law is not None and first.power_law.alpha > 2
    assert AnalysisReport.model_validate_json(first.model_dump_json()) == first
    other = analyze_graph(view, options.model_copy(update={"seed": 5}))
    assert other.betweenness.seed == 5 and other.model_dump(exclude={"seconds"}) != first.model_dump(
        exclude={"seconds"})


def test_report_model_is_frozen_and_strict() -> None:
    report = analyze_graph(view_from_networkx(nx.path_graph(4)))
    with pytest.raises(ValidationError):
        report.nodes = 5  # type: ignore[misc]
    with pytest.raises(ValidationError):
        AnalysisReport.model_validate({**report.model_dump(), "surprise": 1})
    with pytest.raises(ValidationError):
        AnalysisOptions(resolution=0)


def test_write_back_metrics_are_valid_names_and_values() -> None:
    view = view_from_networkx(_karate_plus())
    analysis = analyze(view)
    metrics = node_metrics_for_write_back(view, analysis)
    assert set(metrics) == set(view.ids)
    for values in metrics.values():
        assert tuple(values) == WRITE_BACK_METRICS
        assert all(METRIC_NAME_PATTERN.fullmatch(k) and k not in ENTITY_RESERVED_PROPERTIES for k in values)
        assert 0 < values["hub_score"] <= 1 and values["community"] == int(values["community"]) >= 0
    assert metrics["33"]["hub_score"] == 1.0 and metrics["0"]["degree"] == 18.0  # 16 neighbours + loop
    assert 0 < metrics["200"]["pagerank"] < metrics["0"]["pagerank"]  # isolated: dangling, not zero
    assert sum(m["pagerank"] for m in metrics.values()) == pytest.approx(1.0)
    batches = list(write_back_batches(view, analysis, batch_size=10))
    assert [len(b) for b in batches] == [10, 10, 10, 9]
    assert {k: v for b in batches for k, v in b.items()} == metrics
    assert hub_scores([]) == [] and hub_scores([0.0, 0.0]) == [0.0, 0.0]


def test_write_back_lands_in_a_sqlite_store(tmp_path: Path) -> None:
    names = ["silk", "spider", "protein", "web", "glue"]
    entities = [Entity.named(n) for n in names]
    pairs = [(0, 1), (0, 2), (1, 3), (0, 3), (3, 4)]
    relations = [Relation.between(entities[a].id, "RELATED_TO", entities[b].id) for a, b in pairs]
    with SQLiteGraphStore(tmp_path / "g.db") as store:
        store.upsert(GraphDelta(run_id="r", extractor="test", entities=tuple(entities), relations=tuple(relations)))
        view = view_from_snapshot(store.snapshot())
        analysis = analyze(view)
        assert store.write_node_metrics(node_metrics_for_write_back(view, analysis)) == 5
        stored = store.node_metrics(entities[0].id)
    assert set(stored) == set(WRITE_BACK_METRICS)
    assert stored["degree"] == 3.0 and stored["betweenness"] == pytest.approx(analysis.betweenness[
        view.ids.index(entities[0].id)])
