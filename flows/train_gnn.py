"""The ``train-gnn`` flow: graph (store or Planetoid files) -> PyG data -> train -> metrics, curve, write-back.

Runs on the ``kgweave-gpu`` work pool (deploy/prefect.yaml) and picks CUDA when present, else CPU
(``device="auto"``). Artifacts: a metrics table, a markdown summary with the training curve (PNG,
also saved beside the model). With a store, node classification writes ``<prefix>_class`` /
``<prefix>_confidence`` node metrics (class names in the run record), link prediction writes the
learned node embeddings as vectors of model ``gnn-<model>-link`` (a vector index on Neo4j).

``tape=True`` adds TAPE features (:mod:`agents.explanations`): the LLM (``llm_base_url`` /
``llm_model`` or ``KGWEAVE_LLM_*``, through the response cache) predicts and explains each node's
class, and the MiniLM embedding of that explanation is appended to the node features.
"""

from __future__ import annotations

import re
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote
from pydantic import BaseModel, ConfigDict, Field

from kgweave.agents.explanations import TapeReport
from kgweave.analysis.gnn import (
    FeatureKind,
    GNNDataError,
    GraphData,
    ModelName,
    Task,
    TrainConfig,
    TrainResult,
    link_embeddings,
    node_predictions,
    planetoid_data,
    resolve_device,
    save_model,
    store_graph_data,
    train,
)
from kgweave.flows.embed import DEFAULT_EMBEDDING_MODEL, embed_nodes
from kgweave.flows.llm_tasks import LLM_TAG
from kgweave.flows.monitoring import (
    StageProgress,
    default_run_id,
    final_state,
    png_markdown,
    run_name,
    show_library_logs,
)
from kgweave.flows.stores import open_flow_store
from kgweave.graph_store.models import Run
from kgweave.graph_store.runs import ratio_verdict, recorded_run

__all__ = ["TrainSummary", "curve_png", "train_gnn"]


class TrainSummary(BaseModel):
    """What a ``train-gnn`` run reports (``kgweave train --json`` prints it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    task: str
    model: str
    device: str
    source: str
    epochs: int
    best_epoch: int
    seconds: float
    seconds_per_epoch: float
    nodes: int
    edges: int
    features: int
    test_accuracy: float | None = None
    test_macro_f1: float | None = None
    test_auc: float | None = None
    metrics: dict[str, float]
    class_names: list[str] = Field(default_factory=list)
    model_path: str | None = None
    curve_png: str | None = None
    written: int = Field(default=0, description="Nodes given predictions or learned embeddings in the store.")
    tape: TapeReport | None = Field(default=None, description="The TAPE explanations step, when asked for.")


def curve_png(result: TrainResult, path: Path) -> Path:
    """Plot loss and validation score per epoch to ``path`` (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, left = plt.subplots(figsize=(7, 4))
    epochs = range(1, len(result.curve["loss"]) + 1)
    left.plot(epochs, result.curve["loss"], color="tab:red", label="training loss")
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    right = left.twinx()
    for key in ("val_accuracy", "train_accuracy", "val_auc"):
        if key in result.curve:
            right.plot(epochs, result.curve[key], label=key.replace("_", " "))
    right.set_ylabel("score")
    right.axvline(result.best_epoch, color="grey", linestyle=":", label=f"best epoch {result.best_epoch}")
    figure.legend(loc="lower right")
    left.set_title(f"{result.model.upper()} {result.task} on {result.device}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def _metric_prefix(label: str | None) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", (label or "class").lower()).strip("_") or "class"
    return f"gnn_{slug}"[:40]


@task(name="embed-nodes", cache_policy=NO_CACHE)
def embed_task(store: str, entity_label: str | None) -> int:
    """Embed node texts not embedded yet (cached by text hash)."""
    return embed_nodes(open_flow_store(store), label=entity_label).embedded


@task(name="explain-nodes", cache_policy=NO_CACHE, tags=[LLM_TAG])  # under the llm tag concurrency limit
def explain_task(store: str, label: str, entity_label: str | None, llm_base_url: str | None, llm_model: str | None,
                 max_llm_calls: int | None) -> TapeReport:
    """TAPE: the LLM predicts and explains each node's class; the explanations are embedded (cached)."""
    from kgweave.agents.embeddings import MiniLMEmbedder
    from kgweave.agents.explanations import explain_store
    from kgweave.agents.llm_client import Budget
    from kgweave.flows.extractors import llm_config

    config = llm_config(llm_base_url, llm_model, "--tape")
    budget = Budget(max_calls=max_llm_calls) if max_llm_calls is not None else None
    return explain_store(open_flow_store(store), config, MiniLMEmbedder(), label, entity_label, budget)


@task(name="prepare-graph", cache_policy=NO_CACHE)
def prepare_task(store: str | None, planetoid: str | None, features: FeatureKind, label: str | None,
                 entity_label: str | None, structural: bool, extra_embeddings: tuple[str, ...] = ()) -> GraphData:
    """The PyTorch Geometric data of the store's graph or of the Planetoid files."""
    if planetoid is not None:
        return planetoid_data(planetoid)
    return store_graph_data(open_flow_store(str(store)), features=features, embedding_model=DEFAULT_EMBEDDING_MODEL,
                            label_property=label, entity_label=entity_label, structural=structural,
                            extra_embeddings=extra_embeddings)


@task(name="train-model", cache_policy=NO_CACHE, tags=["gpu"])
def train_task(graph: GraphData, config: TrainConfig) -> TrainResult:
    """Train on the resolved device (CUDA when present)."""
    return train(graph, config)


@task(name="write-predictions", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def write_back_task(store: str, graph: GraphData, result: TrainResult, label: str | None, run_id: str) -> int:
    """Predictions as node metrics, or learned embeddings as vectors, in the store (idempotent)."""
    target = open_flow_store(store)
    if result.task == "node-classification":
        return target.write_node_metrics(node_predictions(graph, result, prefix=_metric_prefix(label)))
    vectors = link_embeddings(graph, result)
    return target.write_embeddings(f"gnn-{result.model}-link", {i: (run_id, v) for i, v in vectors.items()})


@flow(name="train-gnn", flow_run_name=run_name("train-gnn", "train"), log_prints=False)
def train_gnn(
    run_id: str | None = None,
    store: str | None = None,
    task: Task = "link-prediction",
    label: str | None = None,
    model: ModelName = "gcn",
    device: str = "auto",
    epochs: int = 200,
    seed: int = 0,
    planetoid: str | None = None,
    entity_label: str | None = None,
    features: FeatureKind = "text",
    structural: bool = False,
    train_per_class: int | None = None,
    threads: int | None = None,
    write_back: bool = True,
    model_dir: str = ".kgweave/models",
    tape: bool = False,
    llm_base_url: str | None = None,
    llm_model: str | None = None,
    max_llm_calls: int | None = None,
) -> TrainSummary:
    """Train a GNN on the store's graph (or Planetoid files) and report metrics.

    Without a store or Planetoid folder it trains on ``KGWEAVE_STORE`` (what the scheduled
    deployment does: link prediction needs no class labels). With ``features="text"`` the node
    texts are embedded first (only new or changed texts). Re-running is safe: same seed, same
    split, same write-back. With ``tape=True`` (node classification on a store) each node's class
    is predicted and explained by the LLM first (only new or changed texts are asked; answers are
    cached) and the embedded explanations are appended to the features; a node whose call failed
    gets zeros there and is listed in ``summary.tape.failures``.
    """
    show_library_logs()
    from kgweave.flows.settings import StoreSettings

    logger = get_run_logger()
    run_id = run_id or default_run_id("train")
    if planetoid is None and store is None:
        store = str(StoreSettings().store)
    if tape and (planetoid is not None or task != "node-classification" or not label):
        raise GNNDataError("--tape needs node classification on a store with --label PROPERTY (the class names "
                           "the LLM chooses from); Planetoid files have no node texts")
    config = TrainConfig(task=task, model=model, device=resolve_device(device), epochs=epochs, seed=seed,
                         train_per_class=train_per_class, threads=threads)
    logger.info("training %s (%s) on %s", model, task, config.device)
    run = Run(id=run_id, kind="train", parameters={
        "source": planetoid or store, "task": task, "model": model, "label": label, "device": config.device,
        "epochs": epochs, "seed": seed, "features": features, "structural": structural, "tape": tape,
        "llm_model": llm_model if tape else None})
    target = open_flow_store(store) if planetoid is None and store is not None else None
    stages = [*(["explain"] if tape else []), *(["embed"] if target is not None and features == "text" else []),
              "prepare", "train", "write"]
    progress = StageProgress("train-gnn-progress", stages, f"Training stages ({run_id})")
    with recorded_run(target, run) as record:
        explained: TapeReport | None = None
        if tape:
            explained = explain_task(str(store), str(label), entity_label, llm_base_url, llm_model, max_llm_calls)
            logger.info("TAPE: %d nodes explained now, %d unchanged, %d failed (%d LLM requests, %d cached)",
                        explained.explained, explained.unchanged, explained.failed, explained.llm_calls,
                        explained.cached_llm_calls)
            progress.done("explain")
        if target is not None and features == "text":
            logger.info("embedded %d new or changed node texts", embed_task(str(store), entity_label))
            progress.done("embed")
        graph = prepare_task(store, planetoid, features, label, entity_label, structural,
                             (explained.model,) if explained is not None else ())
        progress.done("prepare")
        result = train_task(quote(graph), config)  # type: ignore[call-overload]
        progress.done("train")
        folder = Path(model_dir)
        model_path = save_model(result, graph, config, folder / f"{run_id}.pt")
        png = curve_png(result, folder / f"{run_id}-curve.png")
        written = 0
        if target is not None and write_back:
            written = write_back_task(str(store), quote(graph), quote(result), label, run_id)  # type: ignore[call-overload]
        progress.done("write")
        summary = TrainSummary(
            run_id=run_id, task=task, model=model, device=result.device, source=str(planetoid or store),
            epochs=result.epochs, best_epoch=result.best_epoch, seconds=result.seconds,
            seconds_per_epoch=result.seconds_per_epoch, nodes=result.nodes, edges=result.edges,
            features=result.features, metrics=result.metrics, class_names=graph.class_names,
            test_accuracy=result.metrics.get("test_accuracy"), test_macro_f1=result.metrics.get("test_macro_f1"),
            test_auc=result.metrics.get("test_auc"), model_path=str(model_path), curve_png=str(png), written=written,
            tape=explained,
        )
        _publish_artifacts(summary, png)
        record.finish(summary={
            **{k: round(v, 6) for k, v in result.metrics.items()}, "best_epoch": result.best_epoch,
            "seconds": result.seconds, "written": written, "class_names": "|".join(graph.class_names),
            "metric_prefix": _metric_prefix(label) if task == "node-classification" else None,
            "model_path": str(model_path), **_tape_summary(explained)})
        asked = 0 if explained is None else explained.entities - explained.unchanged
        failed = 0 if explained is None else explained.failed
        return final_state(summary, ratio_verdict(failed, asked, unit="TAPE explanations"))


def _tape_summary(report: TapeReport | None) -> dict[str, object]:
    """The TAPE step's counts for the run record (empty without TAPE)."""
    if report is None:
        return {}
    return {"tape_model": report.model, "tape_explained": report.explained, "tape_failed": report.failed,
            "tape_llm_calls": report.llm_calls, "tape_cached_llm_calls": report.cached_llm_calls}


def _publish_artifacts(summary: TrainSummary, png: Path) -> None:
    create_table_artifact([{"metric": k, "value": round(v, 4)} for k, v in sorted(summary.metrics.items())],
                          key="train-gnn-metrics", description=f"{summary.model} {summary.task} ({summary.run_id})")
    headline = (f"test accuracy **{summary.test_accuracy:.3f}**" if summary.test_accuracy is not None
                else f"test AUC **{summary.test_auc:.3f}**" if summary.test_auc is not None else "")
    create_markdown_artifact(
        f"# train-gnn {summary.run_id}\n\n{summary.model.upper()} {summary.task} on `{summary.source}` "
        f"({summary.nodes} nodes, {summary.edges} edges, {summary.features} features) on **{summary.device}**: "
        f"{headline}, {summary.epochs} epochs in {summary.seconds:.1f} s "
        f"({summary.seconds_per_epoch * 1000:.1f} ms/epoch, best epoch {summary.best_epoch}).\n\n"
        f"Model: `{summary.model_path}`. Curve: `{summary.curve_png}`.\n\n"
        + png_markdown(png, "training curve"),
        key="train-gnn-summary", description=f"Training summary and curve ({summary.run_id})")
