"""The ``build-graph`` flow: load -> chunk + extract (batched tasks) -> resolve -> write -> summary."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Sequence

from prefect import flow, get_run_logger, tags, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.utilities.annotations import quote
from pydantic import BaseModel, ConfigDict, Field

from kgweave.agents.llm_options import LLMUsage
from kgweave.agents.pipeline import BatchResult, extract_documents
from kgweave.agents.registry import extractor_fingerprint
from kgweave.agents.sources.files import LoadFailure, LoadOptions, load_corpus
from kgweave.agents.sources.records import DomainSource, domain_fingerprint, load_domain_source, reads_records
from kgweave.deploy.task_runners import ConfiguredTaskRunner
from kgweave.flows.extractors import ExtractorChoice, build_extractor, endpoint_report
from kgweave.flows.llm_tasks import LLM_TAG
from kgweave.flows.monitoring import (
    FailureRatioExceededError,
    browser_queries_markdown,
    cost_estimate_usd,
    default_run_id,
    failure_verdict,
    final_state,
    run_name,
    show_library_logs,
)
from kgweave.flows.progress import report_progress
from kgweave.flows.settings import StoreSettings
from kgweave.flows.stores import open_flow_store
from kgweave.graph_store.models import Document, Run, WriteStats
from kgweave.graph_store.runs import recorded_run

__all__ = ["BuildSummary", "build_graph"]

EXTRACT_AHEAD = 3  # batches extracted ahead of the writer


class FailedItem(BaseModel):
    """A document or chunk that failed, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    source: str
    reason: str


class BuildSummary(BaseModel):
    """What one build did; the CLI prints it as the ``--json`` object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    store: str
    extractor: str
    model: str | None
    domain: str
    documents: int = Field(description="Valid documents read from the corpus.")
    skipped_documents: int = Field(description="Already done under the same extraction fingerprint.")
    chunks: int = Field(description="Chunks extracted in this run.")
    entities: int = Field(description="Distinct entities extracted in this run.")
    relations: int = Field(description="Distinct relations extracted in this run.")
    mentions: int = Field(description="Entity mentions extracted in this run.")
    relation_observations: int = Field(description="(relation, chunk) evidence rows extracted in this run.")
    new_entities: int
    new_relations: int
    failed_documents: int
    failed_chunks: int
    budget_exhausted_chunks: int = Field(description="Chunks not attempted because the LLM budget ran out.")
    stopped_because: str | None = Field(description="None, or why the run stopped early (budget).")
    llm_calls: int
    cached_llm_calls: int
    tokens: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    status: str
    failures: list[FailedItem]
    failure_reason: str | None = Field(default=None, description="Why the run ended Failed (no item succeeded, "
                                                                 "or the failure ratio; the first failure).")
    cost_usd: float = Field(default=0.0, description="Token cost estimate (KGWEAVE_LLM_USD_PER_MILLION_*).")
    note: str | None = Field(default=None, description="A plain sentence when something needs saying first "
                                                       "(e.g. no chunk succeeded).")
    llm_endpoint: dict[str, object] | None = Field(
        default=None, description="What was learnt about the LLM endpoint: the structured-output form that "
                                  "works, the forms it rejected, its slots, timeouts (agents/llm_endpoint.py).")
    totals: dict[str, int] = Field(description="Store totals after the run.")
    labels: dict[str, int]
    relation_types: dict[str, int]


@task(name="load-corpus", cache_policy=NO_CACHE)
def load_corpus_task(paths: list[str], options: LoadOptions) -> tuple[list[Document], list[LoadFailure]]:
    """Read every document under the paths."""
    return load_corpus(paths, options)


@task(name="load-domain-source", cache_policy=NO_CACHE)
def load_domain_source_task(paths: list[str], domain: str, options: LoadOptions) -> DomainSource:
    """Read the structured records (and any plain documents) under the paths."""
    return load_domain_source(paths, domain, options)


@task(name="write-records", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def write_records_task(store_url: str, run_id: str, source: DomainSource) -> tuple[BatchResult, WriteStats]:
    """Merge the nodes and edges the records state (idempotent), before the texts that link to them."""
    result = BatchResult(delta=source.graph.delta(run_id))
    return result, open_flow_store(store_url).upsert(result.delta)


@task(name="extract-batch", task_run_name="extract-batch-{index}", cache_policy=NO_CACHE)
def extract_batch_task(
    index: int, documents: list[Document], extractor: ExtractorChoice, run_id: str, fingerprint: str,
    chunk_chars: int,
) -> BatchResult:
    """Chunk and extract one batch of documents."""
    return extract_documents(
        documents, build_extractor(extractor, run_id), run_id=run_id, fingerprint=fingerprint,
        chunk_chars=chunk_chars,
    )


@task(name="write-batch", task_run_name="write-batch-{index}", cache_policy=NO_CACHE, retries=2,
      retry_delay_seconds=2)
def write_batch_task(index: int, store_url: str, result: BatchResult) -> WriteStats:
    """Merge one batch into the store (idempotent: retried or re-run, it adds nothing twice)."""
    return open_flow_store(store_url).upsert(result.delta)


def _batches(documents: Sequence[Document], size: int) -> list[list[Document]]:
    return [list(documents[i:i + size]) for i in range(0, len(documents), size)]


@flow(name="build-graph", flow_run_name=run_name("build-graph", "build"), task_runner=ConfiguredTaskRunner(),
      log_prints=False)
def build_graph(
    paths: list[str],
    run_id: str | None = None,
    store: str | None = None,
    extractor: ExtractorChoice = ExtractorChoice(),  # noqa: B008 (frozen, never mutated)
    chunk_chars: int = 2000,
    batch_documents: int = 250,
    max_file_mb: float = 20.0,
    max_record_mb: float = 20.0,
    text_field: str | None = None,
    force: bool = False,
    max_failure_ratio: float | None = None,
) -> BuildSummary:
    """Turn a corpus into a graph in the store; re-running it is the recovery from a crash.

    ``run_id`` and ``store`` default to a generated id and ``KGWEAVE_STORE`` (scheduled runs pass
    neither). A run in which no item succeeded, or whose failed items exceed ``max_failure_ratio``
    (default ``KGWEAVE_MAX_FAILURE_RATIO``) of its items (files/records read + chunks attempted), ends
    Failed, the reason (with the first failure) in its summary.
    """
    logger = get_run_logger()
    show_library_logs()
    run_id = run_id or default_run_id("build")
    store = store or StoreSettings().store
    started = time.perf_counter()
    graph = open_flow_store(store)
    extractor_obj = build_extractor(extractor, run_id)
    fingerprint = extractor_fingerprint(extractor_obj)
    parameters = {"paths": ";".join(paths), "chunk_chars": chunk_chars, "batch_documents": batch_documents,
                  "force": force, "domain": extractor.domain, "prompt_version": extractor_obj.version,
                  "max_llm_calls": extractor.max_llm_calls, "max_tokens_total": extractor.max_tokens_total,
                  "gleaning": getattr(extractor_obj, "gleaning", 0)}
    run = Run(id=run_id, kind="build", extractor=extractor.name, model=extractor_obj.model, parameters=parameters)
    with recorded_run(graph, run) as record:
        options = LoadOptions(text_field=text_field, max_file_mb=max_file_mb, max_record_mb=max_record_mb)
        # a domain that reads records (agents/domains/): its structured records, else plain documents
        source = load_domain_source_task(paths, extractor.domain, options) if reads_records(extractor.domain) \
            else None
        documents, load_failures = (source.documents, source.failures) if source else load_corpus_task(paths, options)
        if source is not None:
            fingerprint = domain_fingerprint(fingerprint, extractor.domain)
        done = set() if force else graph.documents_done([d.id for d in documents], fingerprint)
        todo = [d for d in documents if d.id not in done]
        logger.info("%d documents read, %d already done, %d to extract, %d failed to load",
                    len(documents), len(done), len(todo), len(load_failures))
        batches = _batches(todo, batch_documents)
        progress_id = create_progress_artifact(progress=0.0, key="build-graph-progress",
                                               description=f"Documents extracted and written ({run_id})")
        report_progress("extract", 0, len(todo))
        totals = _Totals()
        if source is not None:  # the records' own nodes and edges first: extracted texts link to them
            totals.add(*write_records_task(store, run_id, source))
        written_docs = 0
        # A bounded window of batches in flight: extraction runs ahead of the writes by at most
        # EXTRACT_AHEAD batches, so memory stays flat however large the corpus. quote(): Prefect would
        # otherwise walk every document and extracted element looking for futures (3-4x slower).
        pending: deque[PrefectFuture[BatchResult]] = deque()
        stopped_because: str | None = None
        task_tags = [LLM_TAG] if extractor.name == "llm" else []
        for index in range(len(batches) + EXTRACT_AHEAD):
            if index < len(batches) and stopped_because is None:
                # Tagged "llm": `prefect concurrency-limit create llm N` caps LLM tasks across all runs
                with tags(*task_tags):
                    pending.append(extract_batch_task.submit(
                        index, quote(batches[index]), extractor, run_id, fingerprint, chunk_chars))
            if index < EXTRACT_AHEAD or not pending:
                continue
            written = index - EXTRACT_AHEAD
            result = pending.popleft().result()
            if source is not None:
                result = source.graph.link(result)  # (record)-[:MENTIONS]->(what its text mentions)
            stats = write_batch_task(written, store, quote(result))
            totals.add(result, stats)
            if stopped_because is None and any(f.budget_exhausted for f in result.failures):
                stopped_because = "budget"  # submit no more batches; the next run resumes the rest
                logger.warning("LLM budget exhausted: stopping after the batches in flight")
            written_docs += len(batches[written])
            update_progress_artifact(progress_id, 100.0 * written_docs / max(len(todo), 1))
            report_progress("extract", written_docs, len(todo))
        if not todo:
            update_progress_artifact(progress_id, 100.0)
        failures = [FailedItem(kind="document", source=f.source, reason=f.reason) for f in load_failures]
        failures += [FailedItem(kind="chunk", source=f.source, reason=f.reason)
                     for f in totals.failures if not f.budget_exhausted]
        exhausted = sum(1 for f in totals.failures if f.budget_exhausted)
        counts = graph.counts()
        status = "stopped_budget" if stopped_because else "completed" if not failures else "completed_with_failures"
        attempted = totals.chunks - exhausted
        # Records written are the run's successes only where no chunk was extracted: a build whose every
        # extraction failed has failed, whatever records it wrote (a dead endpoint, a wrong model).
        records = source.records if source is not None and not attempted else 0
        verdict = failure_verdict(len(failures), len(load_failures) + records + attempted, max_failure_ratio)
        failure_reason = None
        if verdict.exceeded:
            status = "failed"
            first = f"; first: {failures[0].source}: {failures[0].reason}" if failures else ""
            failure_reason = " ".join(f"{verdict.reason}{first}".split())  # one line, whatever the reason holds
        note = (f"no chunk succeeded: all {attempted} chunks failed (reasons in failures)"
                if attempted and len(totals.failures) - exhausted >= attempted else None)
        summary = BuildSummary(
            note=note, llm_endpoint=endpoint_report(extractor),
            run_id=run_id, store=store, extractor=extractor.name, model=extractor_obj.model,
            domain=extractor.domain, documents=len(documents), skipped_documents=len(done),
            chunks=totals.chunks, entities=len(totals.entity_ids), relations=len(totals.relation_ids),
            mentions=totals.mentions, relation_observations=totals.relation_observations,
            new_entities=totals.new_entities, new_relations=totals.new_relations,
            failed_documents=len(load_failures), failed_chunks=len(totals.failures) - exhausted,
            budget_exhausted_chunks=exhausted, stopped_because=stopped_because,
            **totals.usage.counts(), tokens=totals.usage.tokens, seconds=round(time.perf_counter() - started, 3),
            status=status, failures=failures, failure_reason=failure_reason,
            cost_usd=cost_estimate_usd(totals.usage.prompt_tokens, totals.usage.completion_tokens),
            totals={"documents": counts.documents, "chunks": counts.chunks, "entities": counts.entities,
                    "relations": counts.relations, "mentions": counts.mentions},
            labels=counts.labels, relation_types=counts.relation_types,
        )
        _publish_artifacts(summary)
        _publish_top_entities(run_id, totals)
        record.finish(status, summary.model_dump())
        if verdict.exceeded:
            raise FailureRatioExceededError(f"build {run_id}: {failure_reason}", summary)
        return final_state(summary, verdict)


class _Totals:
    """Running sums over written batches (keeps ids, not objects)."""

    def __init__(self) -> None:
        self.chunks = self.mentions = self.relation_observations = self.new_entities = self.new_relations = 0
        self.usage = LLMUsage()
        self.entity_ids: set[str] = set()
        self.relation_ids: set[str] = set()
        self.failures: list = []  # type: ignore[type-arg]
        self.degree: Counter[str] = Counter()  # distinct relations per entity in this run (top-entities table)
        self.names: dict[str, tuple[str, str]] = {}

    def add(self, result: BatchResult, stats: WriteStats) -> None:
        self.chunks += len(result.delta.chunks)
        self.mentions += len(result.delta.mentions)
        self.relation_observations += len(result.delta.relations)
        self.entity_ids.update(e.id for e in result.delta.entities)
        self.names.update((e.id, (e.name, e.label)) for e in result.delta.entities)
        for relation in result.delta.relations:
            if relation.id not in self.relation_ids:
                self.degree.update((relation.source_id, relation.target_id))
                self.relation_ids.add(relation.id)
        self.new_entities += stats.entities
        self.new_relations += stats.relations
        self.failures.extend(result.failures)
        self.usage += result


def _publish_top_entities(run_id: str, totals: _Totals, top: int = 25) -> None:
    """The entities with most distinct relations in this run (the run's hubs; analyze-graph ranks the store's)."""
    rows: list[dict[str, str | int]] = [{"rank": k + 1, "name": totals.names.get(entity, ("?", "?"))[0],
             "label": totals.names.get(entity, ("?", "?"))[1], "relations": count}
            for k, (entity, count) in enumerate(totals.degree.most_common(top))]
    if rows:
        create_table_artifact(rows, key="build-graph-top-entities",
                              description=f"Top {len(rows)} entities by relations in run {run_id}")


def _publish_artifacts(summary: BuildSummary) -> None:
    rows: list[dict[str, object]] = [
        {"what": "documents read", "count": summary.documents},
        {"what": "documents skipped (already done)", "count": summary.skipped_documents},
        {"what": "chunks extracted", "count": summary.chunks},
        {"what": "entities (this run)", "count": summary.entities},
        {"what": "relations (this run)", "count": summary.relations},
        {"what": "new entities in store", "count": summary.new_entities},
        {"what": "new relations in store", "count": summary.new_relations},
        {"what": "failed documents", "count": summary.failed_documents},
        {"what": "failed chunks", "count": summary.failed_chunks},
        {"what": "LLM calls (cached)", "count": f"{summary.llm_calls} ({summary.cached_llm_calls})"},
        {"what": "tokens", "count": summary.tokens},
    ]
    create_table_artifact(rows, key="build-graph-counts", description=f"Counts of run {summary.run_id}")
    if summary.failures:
        create_table_artifact(
            [f.model_dump() for f in summary.failures[:1000]], key="build-graph-failures",
            description=f"{len(summary.failures)} failed items of run {summary.run_id}",
        )
    labels = "\n".join(f"| {k} | {v} |" for k, v in sorted(summary.labels.items(), key=lambda kv: -kv[1]))
    failed = f"**Failed:** {summary.failure_reason}\n\n" if summary.failure_reason else ""
    create_markdown_artifact(
        f"# build-graph {summary.run_id}: {summary.status}\n\n{failed}"
        f"Store `{summary.store}` now holds {summary.totals['documents']} documents, "
        f"{summary.totals['entities']} entities and {summary.totals['relations']} relations.\n\n"
        f"This run read {summary.documents} documents ({summary.skipped_documents} already done), extracted "
        f"{summary.chunks} chunks with `{summary.extractor}` in {summary.seconds:.1f} s; "
        f"{summary.failed_documents} documents and {summary.failed_chunks} chunks failed.\n\n"
        f"LLM: {summary.llm_calls} calls ({summary.cached_llm_calls} cached), {summary.tokens:,} tokens "
        f"({summary.prompt_tokens:,} prompt + {summary.completion_tokens:,} completion), "
        f"estimated cost ${summary.cost_usd:.2f}.\n\n"
        f"| label | entities |\n|---|---|\n{labels}\n\n"
        + browser_queries_markdown(summary.run_id, summary.store),
        key="build-graph-summary",
        description=f"Summary of run {summary.run_id}",
    )
