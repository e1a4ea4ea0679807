"""The ``analyze-graph`` flow: load a store's (or a GraphML file's) graph -> analyse -> write back -> artifacts."""

from __future__ import annotations

import tempfile
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from kgweave.analysis.graph_view import GraphView, view_from_graphml, view_from_snapshot
from kgweave.analysis.report import (
    AnalysisOptions,
    AnalysisReport,
    GraphAnalysis,
    analyze,
    hub_ranking,
    write_back_batches,
)
from kgweave.analysis.report_files import report_markdown, write_report_dir
from kgweave.deploy.neo4j_browser import query_links_markdown
from kgweave.flows.monitoring import ANALYZE_QUERIES, default_run_id, plots_markdown, run_name, show_library_logs
from kgweave.flows.stores import open_flow_store
from kgweave.graph_store.models import Run
from kgweave.graph_store.protocol import GraphStore
from kgweave.graph_store.runs import recorded_run, scalar_summary

__all__ = ["analyze_command", "analyze_file", "analyze_graph", "load_view", "write_back"]

WRITE_BATCH_NODES = 10_000


def load_view(store: str | None = None, graphml: str | None = None) -> GraphView:
    """The graph view of a store (by URL) or of a GraphML file; exactly one of the two."""
    if (store is None) == (graphml is None):
        raise ValueError("give exactly one of store and graphml")
    if graphml is not None:
        return view_from_graphml(graphml)
    return view_from_snapshot(open_flow_store(str(store)).snapshot(), source=str(store))


def analyze_file(graphml: str, options: AnalysisOptions | None = None) -> AnalysisReport:
    """Analyse a GraphML file without Prefect (what ``kgweave analyze --graphml`` may call directly)."""
    return analyze(view_from_graphml(graphml), options).report


def analyze_command(
    run_id: str,
    store: str | None = None,
    graphml: str | None = None,
    write_back: bool = False,
    report_dir: str | None = None,
    options: AnalysisOptions | None = None,
) -> AnalysisReport:
    """What ``kgweave analyze`` does: a GraphML file is analysed directly (no Prefect, nothing to
    write back); a store goes through the ``analyze-graph`` flow. ``report_dir`` also gets the
    markdown, JSON and PNG plots (:func:`analysis.report_files.write_report_dir`).

    Raises ValueError for bad combinations (write_back without a store) and
    :class:`analysis.graph_view.GraphViewError` for an unreadable file: both are bad input.
    """
    if graphml is not None and store is None:
        if write_back:
            raise ValueError("--write-back needs a store: import the file first (kgweave import FILE)")
        report = analyze_file(graphml, options)
    else:
        report = analyze_graph(run_id=run_id, store=store, graphml=graphml, write_back=write_back, options=options)
    if report_dir is not None:
        write_report_dir(report, report_dir)
    return report


@task(name="load-graph", cache_policy=NO_CACHE)
def load_view_task(store: str | None, graphml: str | None) -> GraphView:
    """Read the graph into the undirected simple view."""
    return load_view(store=store, graphml=graphml)


@task(name="analyze-structure", cache_policy=NO_CACHE)
def analyze_task(view: GraphView, options: AnalysisOptions) -> GraphAnalysis:
    """Every structure metric of the view (igraph, seeded, sampled where exact is quadratic)."""
    return analyze(view, options)


def write_back(target: GraphStore, view: GraphView, analysis: GraphAnalysis, hubs: int) -> int:
    """Store degree, pagerank, betweenness, community and hub_score on every node, and mark the top ``hubs``
    hubs (``hub_rank``, ``:Hub`` in Neo4j; former hubs lose the mark). Idempotent; returns nodes written."""
    written = sum(target.write_node_metrics(batch)
                  for batch in write_back_batches(view, analysis, batch_size=WRITE_BATCH_NODES))
    target.mark_hubs(hub_ranking(view, analysis, hubs))
    return written


@task(name="write-node-metrics", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def write_back_task(store: str, view: GraphView, analysis: GraphAnalysis, hubs: int) -> int:
    """:func:`write_back` into the store at ``store``."""
    return write_back(open_flow_store(store), view, analysis, hubs)


@flow(name="analyze-graph", flow_run_name=run_name("analyze-graph", "analyze"), log_prints=False)
def analyze_graph(
    run_id: str | None = None,
    store: str | None = None,
    graphml: str | None = None,
    write_back: bool = False,
    options: AnalysisOptions | None = None,
) -> AnalysisReport:
    """Analyse the graph of a store or a GraphML file; with ``write_back``, store per-node metrics.

    Re-running it is safe: the analysis only reads, and the write-back overwrites the same
    properties with the same values (same graph, same seed). Without ``run_id`` (a scheduled run)
    one is generated.
    """
    show_library_logs()
    run_id = run_id or default_run_id("analyze")
    if (store is None) == (graphml is None):
        raise ValueError("give exactly one of store and graphml")
    if write_back and store is None:
        raise ValueError("write_back needs a store: import the GraphML file first (kgweave import)")
    logger = get_run_logger()
    options = options or AnalysisOptions()
    run = Run(id=run_id, kind="analyze", parameters={
        "source": store or graphml, "write_back": write_back, **scalar_summary(options.model_dump())})
    progress: UUID = create_progress_artifact(  # type: ignore[assignment]  # sync in a sync flow
        progress=0.0, key="analyze-graph-progress", description=f"Load, analyse, write back ({run_id})")
    with recorded_run(open_flow_store(store) if store is not None else None, run) as record:
        view = load_view_task(store, graphml)
        logger.info("graph %s: %d nodes, %d edges", view.source, view.nodes, view.edges)
        update_progress_artifact(progress, 20.0)
        # quote(): Prefect would otherwise walk every id and name looking for futures
        analysis = analyze_task(quote(view), options)  # type: ignore[call-overload]
        report = analysis.report
        update_progress_artifact(progress, 80.0 if write_back else 95.0)
        if write_back and store is not None:
            written = write_back_task(store, quote(view), quote(analysis), options.hubs)  # type: ignore[call-overload]
            report = report.model_copy(update={"written_nodes": written})
            logger.info("metrics written to %d nodes", written)
        _publish_artifacts(run_id, report, store)
        update_progress_artifact(progress, 100.0)
        record.finish(summary=_summary(report))
        return report


def _summary(report: AnalysisReport) -> dict[str, str | int | float | bool | None]:
    summary = scalar_summary(report.model_dump(include={
        "nodes", "edges", "components", "largest_component_share", "communities", "modularity",
        "assortativity", "written_nodes"}))
    if report.power_law is not None:
        summary["power_law_alpha"] = report.power_law.alpha
        summary["power_law_xmin"] = report.power_law.xmin
    summary["average_shortest_path"] = report.average_shortest_path.value
    summary["seconds"] = report.seconds.get("total")
    summary["top_hub"] = report.top_hubs[0].name if report.top_hubs else None
    return summary


def _publish_artifacts(run_id: str, report: AnalysisReport, store: str | None = None) -> None:
    create_table_artifact(
        [{"rank": k + 1, "name": h.name, "degree": h.degree, "pagerank": round(h.pagerank, 6),
          "hub_score": round(h.hub_score, 4), "community": h.community} for k, h in enumerate(report.top_hubs)],
        key="analyze-graph-top-hubs", description=f"Top hubs by degree ({run_id})",
    )
    create_table_artifact(
        [{"rank": k + 1, "name": b.name, "betweenness": round(b.betweenness, 6), "degree": b.degree,
          "communities": b.community_count} for k, b in enumerate(report.top_bridges)],
        key="analyze-graph-top-bridges", description=f"Top bridges by betweenness ({run_id})",
    )
    with tempfile.TemporaryDirectory(prefix="kgweave-analyze-") as folder:
        plots = plots_markdown(write_report_dir(report, folder))
    create_markdown_artifact(_markdown(run_id, report, store) + "\n" + plots, key="analyze-graph-summary",
                             description=f"Structure of the graph ({run_id})")


def _markdown(run_id: str, report: AnalysisReport, store: str | None = None) -> str:
    text = report_markdown(report, title=f"analyze-graph {run_id}")
    if report.written_nodes is not None:
        text += (f"\nMetrics `degree`, `pagerank`, `betweenness`, `community`, `hub_score` written to "
                 f"{report.written_nodes} nodes; the top hubs carry `hub_rank` (and the `:Hub` label in Neo4j).\n\n")
    if store is not None:
        text += query_links_markdown(store, ANALYZE_QUERIES)
    return text
