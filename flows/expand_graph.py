"""The ``expand-graph`` flow: agentic graph expansion (:mod:`kgweave.agents.expansion_loop`) with Prefect around it.

Progress, one table of the iterations updated in place, and a summary page with the plots embedded; the loop,
its records and resume are :func:`kgweave.agents.expansion_loop.expand`.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from pydantic import ValidationError

from kgweave.agents.expansion_loop import (
    ExpansionError,
    ExpansionLimits,
    ExpansionSettings,
    ExpansionSummary,
    IterationRecord,
    expand,
    write_expansion_report,
)

__all__ = ["expand_graph"]


# -- the Prefect flow ---------------------------------------------------------------------------------

_TABLE_COLUMNS = ("iteration", "nodes", "edges", "new_nodes", "new_edges", "modularity", "communities",
                  "power_law_alpha", "average_shortest_path", "clustering", "largest_component_share", "tokens")


def _row(record: IterationRecord) -> dict[str, object]:
    row: dict[str, object] = {key: getattr(record, key) for key in _TABLE_COLUMNS}
    row["top_hubs"] = ", ".join(f"{h.name} ({h.degree})" for h in record.top_hubs[:3])
    row["top_bridges"] = ", ".join(b.name for b in record.top_bridges[:3])
    row["focus"] = ", ".join(record.focus)
    return row


def _flow_run_name() -> str:
    from prefect.runtime import flow_run

    return f"expand-graph-{flow_run.parameters.get('run_id') or 'new'}"


@flow(name="expand-graph", flow_run_name=_flow_run_name, log_prints=False)
def expand_graph(
    run_id: str | None = None,
    seed: str | None = None,
    iterations: int = 10,
    policy: str = "frontier",
    store: str | None = None,
    from_store: bool = False,
    resume: bool = False,
    llm_base_url: str | None = None,
    llm_model: str | None = None,
    limits: ExpansionLimits | None = None,
    settings: ExpansionSettings | None = None,
    report_dir: str | None = None,
    max_failure_ratio: float | None = None,
) -> ExpansionSummary:
    """Grow a graph from a seed topic (or the store's graph) by agentic expansion; resumable.

    ``store`` defaults to the configured one (``KGWEAVE_STORE``). ``run_id`` defaults to a new ``expand-...``
    id (what a scheduled deployment gets); give the id
    of an earlier run with ``resume`` to continue it.

    ``iterations``, ``seed``, ``policy`` and ``from_store`` override ``limits``/``settings``; the
    LLM endpoint comes from the arguments or ``KGWEAVE_LLM_*``. Every iteration goes to the store,
    to the table artifact ``expand-graph-iterations`` (one row per iteration, updated in place) and to the
    progress artifact; at the end a markdown page with the plots embedded (files in ``report_dir``, default
    ``.kgweave/expand/RUN_ID``).
    A run in which no iteration succeeded, or more than ``max_failure_ratio`` (default
    ``KGWEAVE_MAX_FAILURE_RATIO``) of them failed, ends Failed after its report, the reason in its summary.
    """
    from kgweave.flows.extractors import llm_config
    from kgweave.flows.llm_tasks import run_llm_task
    from kgweave.flows.monitoring import (
        FailureRatioExceededError,
        LiveTable,
        browser_queries_markdown,
        final_state,
        show_library_logs,
    )
    from kgweave.flows.progress import report_progress
    from kgweave.flows.settings import MonitoringSettings, StoreSettings
    from kgweave.flows.stores import open_flow_store
    from kgweave.graph_store.runs import new_run_id, ratio_verdict

    log = get_run_logger()
    show_library_logs()
    run_id = run_id or new_run_id("expand")
    try:  # validated like any input (model_copy(update=) would not check the policy or the iterations)
        ratio = MonitoringSettings().max_failure_ratio if max_failure_ratio is None else max_failure_ratio
        limits = ExpansionLimits.model_validate({**(limits or ExpansionLimits()).model_dump(),
                                                 "iterations": iterations, "max_failure_ratio": ratio})
        settings = ExpansionSettings.model_validate({**(settings or ExpansionSettings()).model_dump(),
                                                     "seed": seed, "policy": policy, "from_store": from_store})
    except ValidationError as exc:
        raise ExpansionError(f"{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc
    config = llm_config(llm_base_url, llm_model, "expand-graph")
    graph_store = open_flow_store(store or StoreSettings().store)
    progress = create_progress_artifact(progress=0.0, key="expand-graph-progress",
                                        description=f"Iterations done ({run_id})")
    assert isinstance(progress, UUID)  # a sync flow gets the id, not a coroutine
    table = LiveTable("expand-graph-iterations", f"Every iteration of {run_id}")
    rows: list[dict[str, object]] = []

    def on_iteration(record: IterationRecord) -> None:
        log.info("iteration %d: %d nodes (+%d), %d edges (+%d), modularity %s, focus %s", record.iteration,
                 record.nodes, record.new_nodes, record.edges, record.new_edges, record.modularity,
                 ", ".join(record.focus))
        update_progress_artifact(progress, min(100.0, 100.0 * record.iteration / limits.iterations))
        report_progress("expand", record.iteration, limits.iterations)
        rows.append(_row(record))
        table.show(rows)

    summary = expand(graph_store, run_id, settings, limits, config, resume=resume, on_iteration=on_iteration,
                     run_call=run_llm_task)
    update_progress_artifact(progress, 100.0)
    table.show([_row(r) for r in summary.iterations])  # a resumed run's earlier iterations too
    folder = Path(report_dir or Path(".kgweave") / "expand" / run_id)
    plots = write_expansion_report(graph_store, run_id, folder)
    links = browser_queries_markdown(run_id, graph_store.url)
    create_markdown_artifact(_markdown(summary, folder, plots) + "\n" + links, key="expand-graph-summary",
                             description=f"Summary of run {run_id}")
    if summary.failure_reason:
        raise FailureRatioExceededError(f"expand {run_id}: {summary.failure_reason}", summary)
    expanded = [r for r in summary.iterations if r.iteration > 0]  # iteration 0 is the seed
    return final_state(summary, ratio_verdict(sum(1 for r in expanded if r.error), len(expanded), unit="iterations"))


def _markdown(summary: ExpansionSummary, folder: Path, plots: list[Path]) -> str:
    from kgweave.flows.monitoring import plots_markdown

    last = summary.iterations[-1] if summary.iterations else None
    hubs = "" if last is None else "\n".join(f"| {h.name} | {h.degree} |" for h in last.top_hubs)
    return (
        f"# expand-graph {summary.run_id}: {summary.status}\n\n"
        f"Stopped because: **{summary.stopped_because}** after iteration "
        f"{last.iteration if last else 0}. Policy `{summary.policy}`, seed `{summary.seed}`.\n\n"
        f"The run's graph has {summary.nodes} nodes and {summary.edges} edges; this invocation made "
        f"{summary.llm_calls} LLM calls ({summary.cached_llm_calls} cached answers, {summary.tokens} tokens) in "
        f"{summary.seconds:.1f} s.\n\n| top hub | degree |\n|---|---|\n{hubs}\n\n"
        f"Plots in `{folder}`; regenerate with `kgweave report --run-id {summary.run_id} --out DIR`.\n\n"
        + plots_markdown(plots)
    )
