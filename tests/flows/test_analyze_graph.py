"""The analyze-graph flow under a real Prefect API (prefect_test_harness)."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from kgweave.analysis.report import WRITE_BACK_METRICS, AnalysisOptions
from kgweave.flows.analyze_graph import analyze_command, analyze_file, analyze_graph
from kgweave.flows.stores import close_flow_stores
from kgweave.graph_store.exchange import import_graphml
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.artifacts import embedded_pngs

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture(autouse=True)
def _close_stores() -> object:
    yield
    close_flow_stores()


def _karate_graphml(tmp_path: Path) -> Path:
    graph = nx.relabel_nodes(nx.karate_club_graph(), {n: f"member {n}" for n in range(34)})
    for _, _, data in graph.edges(data=True):
        data.clear()
    for _, data in graph.nodes(data=True):
        data.clear()
    path = tmp_path / "karate.graphml"
    nx.write_graphml(graph, path)
    return path


def test_flow_writes_metrics_back_to_a_store_built_from_the_sample_corpus(sample_db: Path) -> None:
    report = analyze_graph(run_id="analyze-corpus", store=str(sample_db), write_back=True,
                           options=AnalysisOptions(seed=3))
    with SQLiteGraphStore(sample_db) as store:
        snapshot = store.snapshot()
        runs = {r.id: r for r in store.runs()}
        top = report.top_hubs[0]
        stored = store.node_metrics(top.id)
        every = [store.node_metrics(n.id) for n in snapshot.nodes]
    assert report.nodes == len(snapshot.nodes) > 100 and report.input_edges == len(snapshot.edges)
    assert report.written_nodes == report.nodes and report.source == str(sample_db)
    assert set(stored) == {*WRITE_BACK_METRICS, "hub_rank"} and stored["hub_rank"] == 1.0
    assert stored["degree"] == top.degree and stored["pagerank"] == pytest.approx(top.pagerank)
    assert stored["community"] == top.community and stored["hub_score"] == pytest.approx(top.hub_score)
    assert all(set(m) - {"hub_rank"} == set(WRITE_BACK_METRICS) for m in every)
    ranks = sorted(m["hub_rank"] for m in every if "hub_rank" in m)  # the top hubs, as many as options.hubs
    assert ranks == [float(r) for r in range(1, AnalysisOptions().hubs + 1)]
    assert max(m["hub_score"] for m in every) == 1.0
    assert {m["community"] for m in every} == set(map(float, range(report.communities)))
    run = runs["analyze-corpus"]
    assert run.kind == "analyze" and run.status == "completed"
    assert run.summary["nodes"] == report.nodes and run.summary["top_hub"] == top.name


def test_rerun_is_idempotent_and_seeded(sample_db: Path) -> None:
    first = analyze_graph(run_id="analyze-a", store=str(sample_db), write_back=True)
    with SQLiteGraphStore(sample_db) as store:
        before = {n.id: store.node_metrics(n.id) for n in store.snapshot().nodes}
    second = analyze_graph(run_id="analyze-b", store=str(sample_db), write_back=True)
    with SQLiteGraphStore(sample_db) as store:
        after = {n.id: store.node_metrics(n.id) for n in store.snapshot().nodes}
    assert first.model_dump(exclude={"seconds"}) == second.model_dump(exclude={"seconds"})
    assert before == after


def test_flow_on_an_imported_karate_club_finds_its_known_structure(tmp_path: Path) -> None:
    db = tmp_path / "karate.db"
    with SQLiteGraphStore(db) as store:
        import_graphml(store, _karate_graphml(tmp_path), run_id="import-1")
    report = analyze_graph(run_id="analyze-karate", store=str(db), write_back=True)
    assert (report.nodes, report.edges, report.components) == (34, 78, 1)
    assert report.communities == 4 and report.modularity == pytest.approx(0.4198, abs=1e-4)
    assert [(h.name, h.degree) for h in report.top_hubs[:2]] == [("member 33", 17), ("member 0", 16)]
    assert report.betweenness.exact and report.top_bridges[0].name == "member 0"
    with SQLiteGraphStore(db) as store:
        hub = store.find_entities("member 33")[0]
        assert store.node_metrics(hub.id)["degree"] == 17.0


def test_graphml_mode_needs_no_store_and_refuses_write_back(tmp_path: Path) -> None:
    path = _karate_graphml(tmp_path)
    report = analyze_graph(run_id="analyze-file", graphml=str(path))
    assert report.nodes == 34 and report.written_nodes is None and report.source == str(path)
    direct = analyze_file(str(path))
    assert direct.model_dump(exclude={"seconds"}) == report.model_dump(exclude={"seconds"})
    with pytest.raises(ValueError, match="write_back needs a store"):
        analyze_graph(run_id="analyze-bad", graphml=str(path), write_back=True)
    with pytest.raises(ValueError, match="exactly one"):
        analyze_graph(run_id="analyze-bad2")


def test_flow_publishes_summary_and_tables(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    keys = ["analyze-graph-summary", "analyze-graph-top-hubs", "analyze-graph-top-bridges"]
    analyze_graph(run_id="analyze-artifacts", graphml=str(_karate_graphml(tmp_path)))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
    mine = {a.key: a for a in artifacts if "analyze-artifacts" in (a.description or "")}
    assert set(mine) == set(keys)
    assert "modularity 0.41" in str(mine["analyze-graph-summary"].data)
    assert len(embedded_pngs(mine["analyze-graph-summary"].data)) == 3  # degrees, communities, hubs
    assert "member 33" in str(mine["analyze-graph-top-hubs"].data)
    assert "member 0" in str(mine["analyze-graph-top-bridges"].data)


def test_analyze_command_reads_files_directly_and_stores_through_the_flow(tmp_path: Path) -> None:
    path = _karate_graphml(tmp_path)
    direct = analyze_command(run_id="cmd-file", graphml=str(path), report_dir=str(tmp_path / "rep"))
    assert direct.communities == 4 and (tmp_path / "rep" / "degree_distribution.png").is_file()
    with pytest.raises(ValueError, match="needs a store"):
        analyze_command(run_id="cmd-bad", graphml=str(path), write_back=True)
    db = tmp_path / "k.db"
    with SQLiteGraphStore(db) as store:
        import_graphml(store, path, run_id="import-1")
    stored = analyze_command(run_id="cmd-store", store=str(db), write_back=True)
    assert stored.written_nodes == 34
    assert stored.model_dump(exclude={"seconds", "source", "written_nodes", "top_hubs", "top_bridges",
                                      "bridges", "articulation_points"}) == direct.model_dump(
        exclude={"seconds", "source", "written_nodes", "top_hubs", "top_bridges", "bridges", "articulation_points"})
    with SQLiteGraphStore(db) as store:
        assert {r.id: r.kind for r in store.runs()}["cmd-store"] == "analyze"
