"""Store commands that run no flow: ``stats``, ``export``, ``import``, ``push`` and ``store clear``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kgweave.flows.cli._common import (
    EXIT_OK,
    Parser,
    UsageError,
    json_arg,
    open_or_usage,
    print_json,
    store_arg,
    store_url,
)

__all__ = ["cmd_export", "cmd_import", "cmd_push", "cmd_stats", "cmd_store_clear", "register"]


def cmd_stats(args: argparse.Namespace) -> int:
    counts = open_or_usage(store_url(args)).counts()  # type: ignore[attr-defined]
    if args.json:
        print_json(counts.model_dump())
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    console = Console()
    totals = Table(title=f"kgweave store {store_url(args)}")
    totals.add_column("")
    totals.add_column("count", justify="right")
    for key in ("documents", "chunks", "entities", "relations", "mentions", "runs"):
        totals.add_row(key, str(getattr(counts, key)))
    console.print(totals)
    for title, mapping in (("labels", counts.labels), ("relation types", counts.relation_types),
                           ("relation origins", counts.relation_origins)):
        table = Table(title=f"{title} (top 25 of {len(mapping)})")
        table.add_column(title)
        table.add_column("count", justify="right")
        for key, value in sorted(mapping.items(), key=lambda kv: (-kv[1], kv[0]))[:25]:
            table.add_row(key, str(value))
        console.print(table)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from kgweave.graph_store.exchange import export_graph

    out = Path(args.out)
    if not out.absolute().parent.is_dir():
        raise UsageError(f"folder {out.absolute().parent} does not exist")
    result = export_graph(open_or_usage(store_url(args)), args.format, out)  # type: ignore[arg-type]
    if args.json:
        print_json(result)
    else:
        print(f"exported {result['nodes']} nodes and {result['relationships']} relationships to {out} "
              f"({args.format})")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from kgweave.graph_store.exchange import ImportFormatError, import_graphml
    from kgweave.graph_store.models import Run
    from kgweave.graph_store.runs import new_run_id, recorded_run

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    if path.suffix.lower() != ".graphml":
        raise UsageError(f"{path}: only .graphml files can be imported")
    store = open_or_usage(store_url(args))
    run = Run(id=args.run_id or new_run_id("import"), kind="import", extractor="import:graphml",
              parameters={"file": str(path)})
    try:
        with recorded_run(store, run) as record:  # type: ignore[arg-type]
            result = import_graphml(store, path, run.id)  # type: ignore[arg-type]
            record.finish(summary=result)
    except ImportFormatError as exc:
        raise UsageError(str(exc)) from exc
    result = {"run_id": run.id, **result}
    if args.json:
        print_json(result)
    else:
        print(f"imported {path}: {result['entities']} entities ({result['new_entities']} new), "
              f"{result['relations']} relations ({result['new_relations']} new) in run {run.id}")
    return EXIT_OK


def cmd_push(args: argparse.Namespace) -> int:
    from kgweave.graph_store.transfer import DEFAULT_PUSH_BATCH_ROWS, push

    # Opening a store file that is not there would create an empty one.
    if not Path(args.source.removeprefix("sqlite:///")).is_file():
        raise UsageError(f"--from must be an existing embedded store file, got {args.source!r}")
    batch_rows = DEFAULT_PUSH_BATCH_ROWS if args.batch_rows is None else args.batch_rows
    if batch_rows < 10:
        raise UsageError(f"--batch-rows must be at least 10, got {batch_rows}")
    source = open_or_usage(args.source)
    target = open_or_usage(args.to)
    if args.json:
        pushed = push(source, target, batch_rows)  # type: ignore[arg-type]
    else:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, disable=not console.is_terminal) as bar:
            bar_id = bar.add_task("pushing", total=None)

            def on_progress(stage: str, done: int, total: int | None) -> None:
                bar.update(bar_id, description=f"pushing {stage}", completed=done, total=total)

            pushed = push(source, target, batch_rows, on_progress)  # type: ignore[arg-type]
    result = {"from": args.source, "to": args.to, **pushed}
    if args.json:
        print_json(result)
    else:
        print(f"pushed {args.source} -> {args.to}: {result['new_entities']} new entities, "
              f"{result['new_relations']} new relations, {result['new_documents']} new documents "
              f"({result['batches']} batches, {result['skipped_documents']} documents already done there), "
              f"{result['runs']} runs, {result['merges']} merges")
    return EXIT_OK


def cmd_store_clear(args: argparse.Namespace) -> int:
    if not args.yes:
        raise UsageError("kgweave store clear deletes the whole graph: add --yes to confirm")
    url = store_url(args)
    store = open_or_usage(url)
    before = store.counts()  # type: ignore[attr-defined]
    store.clear()  # type: ignore[attr-defined]
    result = {"store": url, "deleted_documents": before.documents, "deleted_entities": before.entities,
              "deleted_relations": before.relations}
    if args.json:
        print_json(result)
    else:
        print(f"cleared {url}: {before.documents} documents, {before.entities} entities, "
              f"{before.relations} relations deleted")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``stats``, ``export``, ``import``, ``push`` and ``store clear`` to the kgweave subcommands."""
    stats = sub.add_parser("stats", help="totals, per-label and per-relation-type counts")
    store_arg(stats)
    json_arg(stats)
    stats.set_defaults(func=cmd_stats, uses_prefect=False)

    export = sub.add_parser("export", help="write the entity graph as GraphML, JSON or neo4j-admin CSV")
    export.add_argument("--format", required=True, choices=("graphml", "json", "csv"))
    export.add_argument("out", help="output file (graphml, json) or folder (csv)")
    store_arg(export)
    json_arg(export)
    export.set_defaults(func=cmd_export, uses_prefect=False)

    imp = sub.add_parser("import", help="merge an external GraphML graph into the store")
    imp.add_argument("file", help="a .graphml file")
    imp.add_argument("--run-id", default=None)
    store_arg(imp)
    json_arg(imp)
    imp.set_defaults(func=cmd_import)

    push_cmd = sub.add_parser("push", help="copy an embedded graph into another store (idempotent)")
    push_cmd.add_argument("--from", dest="source", required=True, help="embedded store: PATH or sqlite:///PATH")
    push_cmd.add_argument("--to", required=True, help="target store URL, e.g. bolt://127.0.0.1:7687")
    push_cmd.add_argument("--batch-rows", type=int, default=None,
                          help="rows per transaction (default: 5000, graph_store.transfer); a stopped push keeps "
                               "its committed batches and a re-run skips the documents already done in the target")
    json_arg(push_cmd)
    push_cmd.set_defaults(func=cmd_push)

    store_cmd = sub.add_parser("store", help="store maintenance")
    store_sub = store_cmd.add_subparsers(dest="store_command", required=True, parser_class=Parser)
    clear = store_sub.add_parser("clear", help="delete the whole graph (keeps the schema)")
    clear.add_argument("--yes", action="store_true", help="confirm")
    store_arg(clear)
    json_arg(clear)
    clear.set_defaults(func=cmd_store_clear, uses_prefect=False)
