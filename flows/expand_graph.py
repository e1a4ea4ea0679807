"""The ``expand-graph`` flow: agentic graph expansion, one LLM call per iteration, every iteration recorded.

:func:`expand` is the plain loop (no Prefect): choose the focus by the policy
(:mod:`analysis.expansion_policy`), ask the LLM with the focus, its k-hop relations and the previous
answer (:mod:`agents.expansion`), write the resolved delta with its iteration number, update the
in-memory graph (:class:`analysis.evolution.EvolvingGraph`, loaded once, then grown by each delta),
measure it and record the iteration in the store. :func:`expand_graph` is the Prefect flow around it:
progress, one table artifact per iteration, a summary and the plots.

Resume: an iteration's record holds its delta (entities and relations it touched) and its focus,
and is written after the delta, so the recorded iterations replayed in order rebuild exactly the
graph an uninterrupted run had; a delta written without its record (a kill in between) is written
again, unchanged, by the re-run of that iteration (content-addressed ids; the LLM answer comes from
the cache).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_image_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from pydantic import BaseModel, ConfigDict, Field

from kgweave.agents.errors import BudgetExceededError, LLMError
from kgweave.agents.expansion import (
    EXPANSION_PROMPT_VERSION,
    EXPANSION_SCHEMA_NAME,
    EXTRACTOR_NAME,
    ExpansionAnswer,
    Known,
    answer_to_delta,
    build_expansion_messages,
    seed_entity,
)
from kgweave.analysis.evolution import (
    SMALL_EDGES,
    EvolvingGraph,
    measure,
    step_seed,
)
from kgweave.analysis.expansion_policy import POLICIES, choose_focus
from kgweave.flows.expansion_records import (
    ExpansionError,
    ExpansionSettings,
    IterationRecord,
    add_snapshot,
    base_snapshot,
    find_run,
    from_iteration,
    load_records,
    settings_of,
    to_iteration,
    write_expansion_report,
)
from kgweave.graph_store.models import GraphDelta, Run, utc_now

if TYPE_CHECKING:
    from kgweave.agents.llm_client import LLMClient, LLMConfig
    from kgweave.graph_store.protocol import GraphStore

__all__ = [
    "STOP_REASONS",
    "ExpansionError",
    "ExpansionLimits",
    "ExpansionSettings",
    "ExpansionSummary",
    "IterationRecord",
    "expand",
    "expand_graph",
    "load_records",
    "write_expansion_report",
]

logger = logging.getLogger(__name__)

STOP_REASONS = ("iterations", "budget", "time", "saturation", "llm_errors")


class ExpansionLimits(BaseModel):
    """When a run stops (``stopped_because``); limits apply to this invocation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    iterations: int = Field(default=10, ge=1, description="Stop after this iteration (resumed runs count from 1).")
    max_llm_calls: int | None = Field(default=None, ge=0, description="LLM requests at most (budget).")
    max_tokens_total: int | None = Field(default=None, ge=0, description="LLM tokens at most (budget).")
    max_seconds: float | None = Field(default=None, gt=0, description="Start no iteration after this wall time.")
    saturation: float | None = Field(
        default=None, ge=0, description="Stop when new nodes per iteration, averaged over the window, fall below.")
    saturation_window: int = Field(default=10, ge=1, description="Iterations the saturation rate is averaged over.")
    max_failed_iterations: int = Field(default=3, ge=1,
                                       description="Consecutive failed LLM iterations before stopping.")


class ExpansionSummary(BaseModel):
    """What ``kgweave expand --json`` prints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    store: str
    status: str
    stopped_because: str
    policy: str
    seed: str | None
    from_store: bool
    model: str | None
    resumed_from: int | None = Field(description="Last completed iteration found when resuming; None: fresh run.")
    nodes: int
    edges: int
    llm_calls: int
    cached_llm_calls: int
    tokens: int
    seconds: float
    iterations: list[IterationRecord]


def resolve_settings(store: GraphStore, run_id: str, resume: bool, settings: ExpansionSettings) -> ExpansionSettings:
    """The settings to run with: for a resume, the recorded ones. Raises ExpansionError on bad input."""
    if settings.policy not in POLICIES:
        raise ExpansionError(f"unknown policy {settings.policy!r}; choose one of: {', '.join(POLICIES)}")
    run = find_run(store, run_id)
    if resume:
        if run is None:
            raise ExpansionError(f"no run {run_id!r} in {store.url} to resume")
        if run.kind != "expand":
            raise ExpansionError(f"run {run_id!r} is a {run.kind} run, not an expansion")
        return settings_of(run)
    if run is not None:
        raise ExpansionError(f"run {run_id!r} already exists in {store.url}: use --resume to continue it")
    if not settings.from_store and not (settings.seed or "").strip():
        raise ExpansionError("the seed is empty: give --seed TEXT (or --from-store)")
    return settings


@contextmanager
def _event_loop() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


def expand(
    store: GraphStore,
    run_id: str,
    settings: ExpansionSettings,
    limits: ExpansionLimits,
    llm: LLMConfig,
    resume: bool = False,
    on_iteration: Callable[[IterationRecord], None] | None = None,
) -> ExpansionSummary:
    """Grow the graph iteration by iteration until a limit stops it; see the module docstring.

    Raises ExpansionError for bad input (before anything is written) and lets store and
    unexpected errors through after marking the run failed.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _expand(store, run_id, settings, limits, llm, resume, on_iteration)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kgweave-expand") as pool:
        return pool.submit(_expand, store, run_id, settings, limits, llm, resume, on_iteration).result()


def _expand(
    store: GraphStore, run_id: str, settings: ExpansionSettings, limits: ExpansionLimits, llm: LLMConfig,
    resume: bool, on_iteration: Callable[[IterationRecord], None] | None,
) -> ExpansionSummary:
    from kgweave.agents.llm_client import Budget, LLMClient

    started = time.perf_counter()
    settings = resolve_settings(store, run_id, resume, settings)
    existing = find_run(store, run_id)
    run = existing.model_copy(update={"status": "running", "finished_at": None}) if existing else Run(
        id=run_id, kind="expand", extractor=EXTRACTOR_NAME, model=llm.model,
        parameters={"settings": settings.model_dump_json(), "seed": settings.seed, "policy": settings.policy,
                    "from_store": settings.from_store, "prompt_version": EXPANSION_PROMPT_VERSION})
    store.record_run(run)
    loop = _Loop(store, run_id, settings, limits, llm)
    try:
        resumed_from = loop.load(resume)
        with _event_loop() as runner:
            client = LLMClient(llm, Budget(limits.max_llm_calls, limits.max_tokens_total))
            try:
                stopped = loop.run(runner, client, started, on_iteration)
            finally:
                runner.run(client.aclose())
    except BaseException as exc:
        store.record_run(run.model_copy(update={"finished_at": utc_now(), "status": "failed",
                                                "summary": {"error": f"{type(exc).__name__}: {exc}"[:500]}}))
        raise
    status = "completed" if stopped in ("iterations", "saturation") else f"stopped_{stopped}"
    summary = ExpansionSummary(
        run_id=run_id, store=store.url, status=status, stopped_because=stopped, policy=settings.policy,
        seed=settings.seed, from_store=settings.from_store, model=llm.model, resumed_from=resumed_from,
        nodes=loop.graph.nodes, edges=loop.graph.edges, llm_calls=loop.llm_calls,
        cached_llm_calls=loop.cached_llm_calls, tokens=loop.tokens, seconds=round(time.perf_counter() - started, 3),
        iterations=loop.records,
    )
    store.record_run(run.model_copy(update={"finished_at": utc_now(), "status": status, "summary": {
        "stopped_because": stopped, "iterations": loop.records[-1].iteration if loop.records else 0,
        "nodes": summary.nodes, "edges": summary.edges, "llm_calls": summary.llm_calls,
        "tokens": summary.tokens, "seconds": summary.seconds}}))
    return summary


class _Loop:
    """The state of one expansion run in this process: the graph, the records, the LLM accounting."""

    def __init__(self, store: GraphStore, run_id: str, settings: ExpansionSettings, limits: ExpansionLimits,
                 llm: LLMConfig) -> None:
        self.store, self.run_id, self.settings, self.limits, self.llm = store, run_id, settings, limits, llm
        self.graph = EvolvingGraph()
        self.records: list[IterationRecord] = []
        self.previous: tuple[tuple[str, str, str], ...] = ()
        self.seed_vertex: int | None = None
        self.llm_calls = self.cached_llm_calls = self.tokens = 0
        self.failures = 0

    # -- start or resume

    def load(self, resume: bool) -> int | None:
        """Build the in-memory graph: base (store snapshot once, if from_store) + recorded iterations."""
        stored = [from_iteration(row) for row in self.store.iterations(self.run_id)] if resume else []
        if self.settings.from_store:
            self._load_base(as_of_start=bool(stored))
        if not stored:
            self._start()
            return None
        refreshed = [s.record.iteration for s in stored if s.record.communities_refreshed]
        last_refresh = refreshed[-1] if refreshed else None
        for item in stored:
            self.graph.add(item.entities, item.relations, item.record.iteration)
            self.graph.mark_focused([self.graph.index[f] for f in item.focus_ids if f in self.graph.index])
            if item.record.iteration == last_refresh:
                self.graph.refresh_communities(step_seed(self.settings.rng_seed, last_refresh, "leiden"))
            names = {i: n for i, n, _ in item.entities}
            self.previous = tuple((names[s], t, names[o]) for _, s, t, o in item.relations)
            self.records.append(item.record)
        self._find_seed()
        logger.info("resuming run %s after iteration %d (%d nodes)", self.run_id, stored[-1].record.iteration,
                    self.graph.nodes)
        return stored[-1].record.iteration

    def _load_base(self, as_of_start: bool) -> None:
        add_snapshot(self.graph, base_snapshot(self.store, self.run_id) if as_of_start else self.store.snapshot())

    def _find_seed(self) -> None:
        if self.settings.seed:
            self.seed_vertex = self.graph.lookup(seed_entity(self.settings.seed).name)

    def _start(self) -> None:
        """Iteration 0: the seed (and the base graph) as the run's starting state."""
        entities = []
        if self.settings.seed:
            seed = seed_entity(self.settings.seed)
            if self.graph.lookup(seed.name) is None:
                entities.append(seed)
        delta = GraphDelta(run_id=self.run_id, extractor=EXTRACTOR_NAME, model=self.llm.model, iteration=0,
                           entities=tuple(entities))
        if entities:
            self.store.upsert(delta)
        new_nodes, _ = self.graph.add(((e.id, e.name, e.label) for e in entities), (), 0)
        if self.graph.nodes == 0:
            raise ExpansionError("the store's graph is empty: give --seed TEXT to start from a topic")
        self._find_seed()
        refreshed = self._refresh(0)
        metrics = measure(self.graph, new_nodes, 0, 0, refreshed, self.settings.metrics)
        record = IterationRecord(iteration=0, focus=[], **metrics.model_dump())
        self.store.record_iteration(to_iteration(self.run_id, record, delta, []))
        self.records.append(record)

    def _refresh(self, iteration: int) -> bool:
        every = self.settings.metrics.community_every
        if iteration % every == 0 or self.graph.edges <= SMALL_EDGES:
            self.graph.refresh_communities(step_seed(self.settings.rng_seed, iteration, "leiden"))
            return True
        return False

    # -- iterate

    def stop_reason(self, started: float) -> str | None:
        limits = self.limits
        last = self.records[-1].iteration if self.records else 0
        if last >= limits.iterations:
            return "iterations"
        if limits.max_seconds is not None and time.perf_counter() - started >= limits.max_seconds:
            return "time"
        if self.failures >= limits.max_failed_iterations:
            return "llm_errors"
        window = [r for r in self.records if r.iteration > 0][-limits.saturation_window:]
        if (limits.saturation is not None and len(window) == limits.saturation_window
                and sum(r.new_nodes for r in window) / len(window) < limits.saturation):
            return "saturation"
        return None

    def run(self, runner: asyncio.Runner, client: LLMClient, started: float,
            on_iteration: Callable[[IterationRecord], None] | None) -> str:
        while True:
            reason = self.stop_reason(started)
            if reason is not None:
                return reason
            iteration = (self.records[-1].iteration if self.records else 0) + 1
            try:
                record = self.step(runner, client, iteration)
            except BudgetExceededError as exc:
                self.llm_calls += exc.requests
                self.tokens += exc.prompt_tokens + exc.completion_tokens
                logger.warning("LLM budget exhausted before iteration %d: %s", iteration, exc)
                return "budget"
            if on_iteration is not None:
                on_iteration(record)

    def step(self, runner: asyncio.Runner, client: LLMClient, iteration: int) -> IterationRecord:
        """One iteration: focus, prompt, LLM, delta, write, measure, record."""
        began = time.perf_counter()
        graph, settings = self.graph, self.settings
        if iteration == 1 and self.seed_vertex is not None:
            focus = [self.seed_vertex]
        else:
            focus = choose_focus(graph, settings.policy, iteration, settings.rng_seed,
                                 settings.metrics.betweenness_sources)
        graph.mark_focused(focus)
        messages = build_expansion_messages(settings.seed, [graph.names[v] for v in focus],
                                            graph.context(focus, settings.hops, settings.context_relations),
                                            self.previous)
        llm_began = time.perf_counter()
        calls = cached = tokens = 0
        error: str | None = None
        answer: ExpansionAnswer | None = None
        try:
            result = runner.run(client.complete_json(messages, ExpansionAnswer, EXPANSION_SCHEMA_NAME,
                                                     EXPANSION_PROMPT_VERSION))
            calls, cached = result.attempts, int(result.from_cache)
            tokens = result.prompt_tokens + result.completion_tokens
            answer, error = result.value, result.error
        except BudgetExceededError:
            raise
        except LLMError as exc:
            calls, tokens, error = exc.requests, exc.prompt_tokens + exc.completion_tokens, str(exc)
        llm_seconds = time.perf_counter() - llm_began
        self.llm_calls += calls
        self.cached_llm_calls += cached
        self.tokens += tokens
        delta = None
        new_nodes = new_edges = dropped_concepts = dropped_relations = 0
        accepted: tuple[tuple[str, str, str], ...] = ()
        if answer is not None:
            converted = answer_to_delta(answer, self._lookup, self.run_id, iteration, self.llm.model)
            delta = converted.delta
            if delta.entities:
                self.store.upsert(delta)
            new_nodes, new_edges = graph.add(((e.id, e.name, e.label) for e in delta.entities),
                                             ((r.id, r.source_id, r.type, r.target_id) for r in delta.relations),
                                             iteration)
            accepted = converted.relations
            dropped_concepts, dropped_relations = converted.dropped_concepts, converted.dropped_relations
            self.failures = 0
        else:
            logger.warning("iteration %d of %s failed: %s", iteration, self.run_id, error)
            self.failures += 1
        refreshed = self._refresh(iteration)
        metrics = measure(graph, new_nodes, new_edges, iteration, refreshed, settings.metrics)
        seconds = time.perf_counter() - began
        record = IterationRecord(
            iteration=iteration, focus=[graph.names[v] for v in focus], llm_calls=calls, cached_llm_calls=cached,
            tokens=tokens, dropped_concepts=dropped_concepts, dropped_relations=dropped_relations, error=error,
            seconds=round(seconds, 4), overhead_seconds=round(seconds - llm_seconds, 4), **metrics.model_dump(),
        )
        self.store.record_iteration(to_iteration(self.run_id, record, delta, [graph.ids[v] for v in focus]))
        self.records.append(record)
        self.previous = accepted
        return record

    def _lookup(self, name: str) -> Known | None:
        v = self.graph.lookup(name)
        return None if v is None else Known(self.graph.ids[v], self.graph.names[v], self.graph.labels[v])


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
    store: str = "kgweave.db",
    from_store: bool = False,
    resume: bool = False,
    llm_base_url: str | None = None,
    llm_model: str | None = None,
    limits: ExpansionLimits | None = None,
    settings: ExpansionSettings | None = None,
    report_dir: str | None = None,
) -> ExpansionSummary:
    """Grow a graph from a seed topic (or the store's graph) by agentic expansion; resumable.

    ``run_id`` defaults to a new ``expand-...`` id (what a scheduled deployment gets); give the id
    of an earlier run with ``resume`` to continue it.

    ``iterations``, ``seed``, ``policy`` and ``from_store`` override ``limits``/``settings``; the
    LLM endpoint comes from the arguments or ``KGWEAVE_LLM_*``. Every iteration goes to the store,
    to a table artifact (key ``expand-graph-iteration``) and to the progress artifact; at the end a
    summary table, a markdown page and the plots (``report_dir``, default ``.kgweave/expand/RUN_ID``).
    """
    from kgweave.flows.build_graph import new_run_id
    from kgweave.flows.extractors import llm_config
    from kgweave.flows.monitoring import show_library_logs
    from kgweave.flows.progress import report_progress
    from kgweave.flows.stores import open_flow_store

    log = get_run_logger()
    show_library_logs()
    run_id = run_id or new_run_id("expand")
    limits = (limits or ExpansionLimits()).model_copy(update={"iterations": iterations})
    settings = (settings or ExpansionSettings()).model_copy(
        update={"seed": seed, "policy": policy, "from_store": from_store})
    config = llm_config(llm_base_url, llm_model, "expand-graph")
    graph_store = open_flow_store(store)
    progress = create_progress_artifact(progress=0.0, key="expand-graph-progress",
                                        description=f"Iterations done ({run_id})")
    assert isinstance(progress, UUID)  # a sync flow gets the id, not a coroutine

    def on_iteration(record: IterationRecord) -> None:
        log.info("iteration %d: %d nodes (+%d), %d edges (+%d), modularity %s, focus %s", record.iteration,
                 record.nodes, record.new_nodes, record.edges, record.new_edges, record.modularity,
                 ", ".join(record.focus))
        update_progress_artifact(progress, min(100.0, 100.0 * record.iteration / limits.iterations))
        report_progress("expand", record.iteration, limits.iterations)
        create_table_artifact([_row(record)], key="expand-graph-iteration",
                              description=f"Iteration {record.iteration} of {run_id}")

    summary = expand(graph_store, run_id, settings, limits, config, resume=resume, on_iteration=on_iteration)
    update_progress_artifact(progress, 100.0)
    create_table_artifact([_row(r) for r in summary.iterations], key="expand-graph-iterations",
                          description=f"Every iteration of {run_id}")
    folder = Path(report_dir or Path(".kgweave") / "expand" / run_id)
    plots = write_expansion_report(graph_store, run_id, folder)
    for path in plots[:-1]:
        create_image_artifact(image_url=path.resolve().as_uri(), key=f"expand-graph-{path.stem.replace('_', '-')}",
                              description=f"{path.stem} ({run_id})")
    create_markdown_artifact(_markdown(summary, folder), key="expand-graph-summary",
                             description=f"Summary of run {run_id}")
    return summary


def _markdown(summary: ExpansionSummary, folder: Path) -> str:
    last = summary.iterations[-1] if summary.iterations else None
    hubs = "" if last is None else "\n".join(f"| {h.name} | {h.degree} |" for h in last.top_hubs)
    return (
        f"# expand-graph {summary.run_id}: {summary.status}\n\n"
        f"Stopped because: **{summary.stopped_because}** after iteration "
        f"{last.iteration if last else 0}. Policy `{summary.policy}`, seed `{summary.seed}`.\n\n"
        f"The run's graph has {summary.nodes} nodes and {summary.edges} edges; this invocation made "
        f"{summary.llm_calls} LLM calls ({summary.cached_llm_calls} cached answers, {summary.tokens} tokens) in "
        f"{summary.seconds:.1f} s.\n\n| top hub | degree |\n|---|---|\n{hubs}\n\n"
        f"Plots in `{folder}`; regenerate with `kgweave report --run-id {summary.run_id} --out DIR`.\n"
    )
