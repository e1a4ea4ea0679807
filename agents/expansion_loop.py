"""Agentic graph expansion as a service: one LLM call per iteration, every iteration recorded and replayable.

:func:`expand` is the loop (no Prefect): choose the focus by the policy
(:mod:`kgweave.analysis.expansion_policy`), ask the LLM with the focus, its k-hop relations and the previous
answer (:mod:`kgweave.agents.expansion`), write the resolved delta with its iteration number, update the
in-memory graph (:class:`kgweave.analysis.evolution.EvolvingGraph`, loaded once, then grown by each delta),
measure it and record the iteration in the store. ``flows/expand_graph.py`` is the Prefect flow around it
(progress, one table artifact per iteration, a summary and the plots).

Records: an iteration's record (:func:`load_records`) holds its metrics, its delta (entities and relations it
touched) and its focus, and is written after the delta, so the recorded iterations replayed in order rebuild
exactly the graph an uninterrupted run had (:func:`expansion_history`). A delta written without its record (a
kill in between) is written again, unchanged, by the re-run of that iteration (content-addressed ids; the LLM
answer comes from the cache): resume is re-running with the same run id.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from kgweave.agents.errors import BudgetExceededError, LLMError
from kgweave.agents.expansion import (
    EXPANSION_MAX_TOKENS,
    EXPANSION_PROMPT_VERSION,
    EXPANSION_SCHEMA_NAME,
    EXTRACTOR_NAME,
    ExpansionAnswer,
    Known,
    answer_to_delta,
    build_expansion_messages,
    seed_entity,
)
from kgweave.agents.llm_options import CallRunner, call_directly
from kgweave.agents.prompts import ChatMessage
from kgweave.analysis.evolution import (
    SMALL_EDGES,
    EvolvingGraph,
    IterationMetrics,
    MetricOptions,
    measure,
    step_seed,
)
from kgweave.analysis.expansion_policy import check_policy, choose_focus
from kgweave.analysis.report_files import write_evolution_report
from kgweave.graph_store.models import GraphDelta, GraphSnapshot, Iteration, Run
from kgweave.graph_store.runs import ratio_verdict, recorded_run

if TYPE_CHECKING:
    from kgweave.agents.llm_client import LLMClient, LLMConfig
    from kgweave.graph_store.protocol import GraphStore

__all__ = [
    "ExpansionError",
    "ExpansionHistory",
    "ExpansionLimits",
    "ExpansionSettings",
    "ExpansionSummary",
    "IterationRecord",
    "expand",
    "expansion_history",
    "load_records",
    "write_expansion_report",
]

logger = logging.getLogger(__name__)

RETRY_TEMPERATURE_STEP = 0.3  # added to the temperature per consecutive failed iteration


class ExpansionError(ValueError):
    """Bad expansion input: empty seed, unknown policy, unknown or foreign run to resume."""


class ExpansionSettings(BaseModel):
    """What defines a run's graph (kept in the run record; a resume reads them back)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: str | None = Field(default=None, description="Topic the graph grows from (optional with from_store).")
    policy: Annotated[str, AfterValidator(check_policy)] = Field(
        default="frontier", description="frontier, bridge, hub, path or random.")
    from_store: bool = Field(default=False, description="Start from the store's whole graph, not the seed alone.")
    rng_seed: int = Field(default=0, description="Seed of the policy's random choices, samples and Leiden.")
    hops: int = Field(default=2, ge=1, le=4, description="Neighbourhood shown in the prompt (hops from the focus).")
    context_relations: int = Field(default=40, ge=0, le=400, description="Known relations shown at most.")
    metrics: MetricOptions = Field(default_factory=MetricOptions, description="Sampling of per-iteration metrics.")


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
    max_failure_ratio: float = Field(
        default=1.0, ge=0, le=1, description="The run ends failed when more than this share of its iterations "
                                             "failed (1.0: only when none succeeded).")


class IterationRecord(IterationMetrics):
    """One iteration as the run's JSON, the store and the artifacts show it."""

    iteration: int
    focus: list[str] = Field(description="Names of the focus nodes.")
    llm_calls: int = 0
    cached_llm_calls: int = 0
    tokens: int = 0
    dropped_concepts: int = 0
    dropped_relations: int = 0
    error: str | None = None
    retry: str | None = Field(
        default=None, description="After a failed iteration, what this one changed (temperature, the error shown).")
    seconds: float = Field(default=0.0, description="Wall time of the iteration.")
    overhead_seconds: float = Field(default=0.0, description="Wall time outside the LLM call.")


class ExpansionSummary(BaseModel):
    """What ``kgweave expand --json`` prints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    store: str
    status: str
    stopped_because: str
    failure_reason: str | None = Field(default=None, description="Why the run ended failed (no iteration "
                                                                 "succeeded, or the failure ratio).")
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


# -- records in the store --------------------------------------------------------------------------

_LIST_FIELDS = ("top_hubs", "top_bridges", "focus")


def _to_iteration(
    run_id: str, record: IterationRecord, delta: GraphDelta | None, focus_ids: Sequence[str]
) -> Iteration:
    metrics: dict[str, str | int | float | bool | None] = {}
    for key, value in record.model_dump(mode="json").items():
        metrics[key] = json.dumps(value, ensure_ascii=False) if key in _LIST_FIELDS else value
    entities = [] if delta is None else [[e.id, e.name, e.label] for e in delta.entities]
    relations = [] if delta is None else [[r.id, r.source_id, r.type, r.target_id] for r in delta.relations]
    metrics["delta"] = json.dumps({"focus": list(focus_ids), "entities": entities, "relations": relations},
                                  ensure_ascii=False, separators=(",", ":"))
    return Iteration(run_id=run_id, iteration=record.iteration, metrics=metrics)


class _Stored(BaseModel):
    record: IterationRecord
    focus_ids: list[str]
    entities: list[tuple[str, str, str]]
    relations: list[tuple[str, str, str, str]]


def _from_iteration(row: Iteration) -> _Stored:
    metrics = dict(row.metrics)
    delta = json.loads(str(metrics.pop("delta", "{}")))
    for key in _LIST_FIELDS:
        metrics[key] = json.loads(str(metrics.get(key) or "[]"))  # type: ignore[assignment]
    return _Stored(record=IterationRecord.model_validate(metrics), focus_ids=delta.get("focus", []),
                   entities=[tuple(e) for e in delta.get("entities", [])],
                   relations=[tuple(r) for r in delta.get("relations", [])])


def load_records(store: GraphStore, run_id: str) -> list[IterationRecord]:
    """A run's recorded iterations, in order."""
    return [_from_iteration(row).record for row in store.iterations(run_id)]


# -- the loop ----------------------------------------------------------------------------------------

def _find_run(store: GraphStore, run_id: str) -> Run | None:
    return next((run for run in store.runs() if run.id == run_id), None)


def _base_snapshot(store: GraphStore, run_id: str) -> GraphSnapshot:
    """The store's graph as it was when ``run_id`` began: at the end of the run recorded before it."""
    earlier = None
    for run in store.runs():
        if run.id == run_id:
            break
        earlier = run.id
    if earlier is None:
        return GraphSnapshot(nodes=(), edges=())
    return store.snapshot(run_id=earlier)  # every store rebuilds past snapshots (GraphReads.snapshot)


def _replay(base: GraphSnapshot | None, stored: Sequence[_Stored]) -> EvolvingGraph:
    graph = EvolvingGraph()
    if base is not None:
        _add_snapshot(graph, base)
    for item in stored:
        graph.add(item.entities, item.relations, item.record.iteration)
    return graph


def _add_snapshot(graph: EvolvingGraph, snapshot: GraphSnapshot) -> None:
    graph.add(((n.id, n.name, n.label) for n in snapshot.nodes),
              ((e.id, e.source, e.type, e.target) for e in snapshot.edges), 0)


def _settings_of(run: Run) -> ExpansionSettings:
    raw = run.parameters.get("settings")
    if not isinstance(raw, str):
        raise ExpansionError(f"run {run.id!r} has no recorded expansion settings")
    return ExpansionSettings.model_validate_json(raw)


def resolve_settings(store: GraphStore, run_id: str, resume: bool, settings: ExpansionSettings) -> ExpansionSettings:
    """The settings to run with: for a resume, the recorded ones. Raises ExpansionError on bad input."""
    run = _find_run(store, run_id)
    if resume:
        if run is None:
            raise ExpansionError(f"no run {run_id!r} in {store.url} to resume")
        if run.kind != "expand":
            raise ExpansionError(f"run {run_id!r} is a {run.kind} run, not an expansion")
        return _settings_of(run)
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
    run_call: CallRunner = call_directly,
) -> ExpansionSummary:
    """Grow the graph iteration by iteration until a limit stops it; see the module docstring.

    ``run_call`` wraps each LLM call (the flow makes each one a task run tagged ``llm``).

    Raises ExpansionError for bad input (before anything is written) and lets store and
    unexpected errors through after marking the run failed.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _expand(store, run_id, settings, limits, llm, resume, on_iteration, run_call)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kgweave-expand") as pool:
        # the caller's context (a Prefect flow run's) goes along, so wrapped calls know their run
        return pool.submit(contextvars.copy_context().run, _expand, store, run_id, settings, limits, llm, resume,
                           on_iteration, run_call).result()


def _expand(
    store: GraphStore, run_id: str, settings: ExpansionSettings, limits: ExpansionLimits, llm: LLMConfig,
    resume: bool, on_iteration: Callable[[IterationRecord], None] | None, run_call: CallRunner = call_directly,
) -> ExpansionSummary:
    from kgweave.agents.llm_client import Budget, LLMClient

    started = time.perf_counter()
    settings = resolve_settings(store, run_id, resume, settings)
    existing = _find_run(store, run_id)
    run = existing.model_copy(update={"status": "running", "finished_at": None}) if existing else Run(
        id=run_id, kind="expand", extractor=EXTRACTOR_NAME, model=llm.model,
        parameters={"settings": settings.model_dump_json(), "seed": settings.seed, "policy": settings.policy,
                    "from_store": settings.from_store, "prompt_version": EXPANSION_PROMPT_VERSION})
    loop = _Loop(store, run_id, settings, limits, llm, run_call)
    with recorded_run(store, run) as record:
        resumed_from = loop.load(resume)
        with _event_loop() as runner:
            client = LLMClient(llm, Budget(limits.max_llm_calls, limits.max_tokens_total))
            before = len(loop.records)
            try:
                stopped = loop.run(runner, client, started, on_iteration)
            finally:
                runner.run(client.aclose())
        status = "completed" if stopped in ("iterations", "saturation") else f"stopped_{stopped}"
        attempted = loop.records[before:]
        verdict = ratio_verdict(sum(1 for r in attempted if r.error), len(attempted), limits.max_failure_ratio,
                                "iterations")
        failure_reason = None
        if verdict.exceeded:
            status = "failed"
            first = next((r.error for r in attempted if r.error), "")
            failure_reason = " ".join(f"{verdict.reason}; first: {first}".split())
        summary = ExpansionSummary(
            run_id=run_id, store=store.url, status=status, stopped_because=stopped, failure_reason=failure_reason,
            policy=settings.policy,
            seed=settings.seed, from_store=settings.from_store, model=llm.model, resumed_from=resumed_from,
            nodes=loop.graph.nodes, edges=loop.graph.edges, llm_calls=loop.llm_calls,
            cached_llm_calls=loop.cached_llm_calls, tokens=loop.tokens,
            seconds=round(time.perf_counter() - started, 3), iterations=loop.records,
        )
        record.finish(status, {
            "stopped_because": stopped, "failure_reason": failure_reason,
            "iterations": loop.records[-1].iteration if loop.records else 0,
            "nodes": summary.nodes, "edges": summary.edges, "llm_calls": summary.llm_calls,
            "tokens": summary.tokens, "seconds": summary.seconds})
    return summary


class _Loop:
    """The state of one expansion run in this process: the graph, the records, the LLM accounting."""

    def __init__(self, store: GraphStore, run_id: str, settings: ExpansionSettings, limits: ExpansionLimits,
                 llm: LLMConfig, run_call: CallRunner = call_directly) -> None:
        self.store, self.run_id, self.settings, self.limits, self.llm = store, run_id, settings, limits, llm
        self.run_call = run_call
        self.graph = EvolvingGraph()
        self.records: list[IterationRecord] = []
        self.previous: tuple[tuple[str, str, str], ...] = ()
        self.last_error: str | None = None
        self.seed_vertex: int | None = None
        self.llm_calls = self.cached_llm_calls = self.tokens = 0
        self.failures = 0

    # -- start or resume

    def load(self, resume: bool) -> int | None:
        """Build the in-memory graph: base (store snapshot once, if from_store) + recorded iterations."""
        stored = [_from_iteration(row) for row in self.store.iterations(self.run_id)] if resume else []
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
        _add_snapshot(self.graph, _base_snapshot(self.store, self.run_id) if as_of_start else self.store.snapshot())

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
        self.store.record_iteration(_to_iteration(self.run_id, record, delta, []))
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

    def _retry_change(self, messages: list[ChatMessage]) -> tuple[float | None, str | None]:
        """After a failed iteration, ask differently: the error in the prompt and a temperature step.

        Re-sending the identical prompt at temperature 0 fails identically (and a cached answer cannot
        exist for it). The temperature rises by :data:`RETRY_TEMPERATURE_STEP` per consecutive failure,
        up to 1.0; ``messages`` gets the error appended. Returns (temperature or None, what changed).
        """
        if not self.failures:
            return None, None
        temperature = min(1.0, self.llm.temperature + RETRY_TEMPERATURE_STEP * self.failures)
        error = " ".join((self.last_error or "no answer").split())[:300]
        messages.append(ChatMessage(role="user", content=(
            f"The previous attempt failed: {error}\nAnswer with one JSON object that matches the schema.")))
        return temperature, f"after {self.failures} failed: temperature {temperature:.2f}, previous error in the prompt"

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
        temperature, retry = self._retry_change(messages)
        llm_began = time.perf_counter()
        calls = cached = tokens = 0
        error: str | None = None
        answer: ExpansionAnswer | None = None
        try:
            result = self.run_call(f"expand-llm-{iteration}", lambda: runner.run(client.complete_json(
                messages, ExpansionAnswer, EXPANSION_SCHEMA_NAME, EXPANSION_PROMPT_VERSION,
                max_tokens=EXPANSION_MAX_TOKENS, temperature=temperature)))
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
            self.last_error = error
        refreshed = self._refresh(iteration)
        metrics = measure(graph, new_nodes, new_edges, iteration, refreshed, settings.metrics)
        seconds = time.perf_counter() - began
        record = IterationRecord(
            iteration=iteration, focus=[graph.names[v] for v in focus], llm_calls=calls, cached_llm_calls=cached,
            tokens=tokens, dropped_concepts=dropped_concepts, dropped_relations=dropped_relations, error=error,
            retry=retry,
            seconds=round(seconds, 4), overhead_seconds=round(seconds - llm_seconds, 4), **metrics.model_dump(),
        )
        self.store.record_iteration(_to_iteration(self.run_id, record, delta, [graph.ids[v] for v in focus]))
        self.records.append(record)
        self.previous = accepted
        return record

    def _lookup(self, name: str) -> Known | None:
        v = self.graph.lookup(name)
        return None if v is None else Known(self.graph.ids[v], self.graph.names[v], self.graph.labels[v])


# -- history and report --------------------------------------------------------------------------

@dataclass(frozen=True)
class ExpansionHistory:
    """A run's recorded iterations, replayed: what the evolution plots draw."""

    records: list[IterationRecord]
    distributions: dict[int, list[int]]  # iteration -> every node's degree then
    hub_degrees: dict[str, list[int]]  # final top hub's name -> its degree at every iteration


def expansion_history(store: GraphStore, run_id: str, snapshots: int = 4) -> ExpansionHistory:
    """Replay a run's recorded deltas: degree distributions and the emergence of its final hubs.

    Degree distributions are kept at ``snapshots`` evenly spaced iterations; hub emergence is the
    degree of the final top 5 hubs at every iteration. Raises ExpansionError for an unknown run or
    one with no records.
    """
    run = _find_run(store, run_id)
    if run is None or run.kind != "expand":
        raise ExpansionError(f"no expansion run {run_id!r} in {store.url}")
    stored = [_from_iteration(row) for row in store.iterations(run_id)]
    if not stored:
        raise ExpansionError(f"run {run_id!r} recorded no iterations")
    settings = _settings_of(run)
    base = _base_snapshot(store, run_id) if settings.from_store else None
    iterations = [s.record.iteration for s in stored]
    wanted = {iterations[round(k * (len(iterations) - 1) / max(snapshots - 1, 1))] for k in range(snapshots)}
    final = _replay(base, stored)  # first pass: which nodes end up the top hubs
    final_degrees = final.graph.degree()
    top_ids = [final.ids[v] for v in sorted(range(final.nodes), key=lambda v: (-final_degrees[v], v))[:5]]
    graph = EvolvingGraph()
    if base is not None:
        _add_snapshot(graph, base)
    distributions: dict[int, list[int]] = {}
    hubs: dict[str, list[int]] = {final.names[final.index[i]]: [] for i in top_ids}
    for item in stored:  # second pass: their degrees over time, and the distributions asked for
        graph.add(item.entities, item.relations, item.record.iteration)
        for node_id, series in zip(top_ids, hubs.values(), strict=True):
            v = graph.index.get(node_id)
            series.append(0 if v is None else graph.graph.degree(v))
        if item.record.iteration in wanted:
            distributions[item.record.iteration] = graph.graph.degree()
    return ExpansionHistory([s.record for s in stored], distributions, hubs)


def write_expansion_report(store: GraphStore, run_id: str, out: str | Path, snapshots: int = 4) -> list[Path]:
    """Write the run's plots and ``iterations.json`` into ``out`` (``analysis.report_files.EVOLUTION_FILES``)."""
    history = expansion_history(store, run_id, snapshots)
    return write_evolution_report([r.iteration for r in history.records], history.records, history.distributions,
                                  history.hub_degrees, out)
