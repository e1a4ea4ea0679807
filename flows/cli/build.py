"""``kgweave build``: a corpus into a graph (Prefect flow build-graph), or ``--dry-run`` to estimate."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgweave.flows.cli._common import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    bad_option,
    failure_ratio_arg,
    gleaning_arg,
    json_arg,
    llm_args,
    open_or_usage,
    print_json,
    run_summarised,
    store_arg,
    store_url,
)

if TYPE_CHECKING:
    from kgweave.flows.extractors import ExtractorChoice
    from kgweave.flows.settings import BuildSettings

__all__ = ["cmd_build", "register"]


def cmd_build(args: argparse.Namespace) -> int:
    from kgweave.flows.settings import BuildSettings

    settings = BuildSettings()
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}")
    from kgweave.agents.domains import domain_choices
    from kgweave.agents.registry import EXTRACTORS

    extractor = args.extractor or settings.extractor
    if extractor not in EXTRACTORS:
        raise UsageError(f"unknown extractor {extractor!r}; choose one of: {', '.join(EXTRACTORS)}")
    domain = args.domain or settings.domain
    if domain not in domain_choices():
        raise UsageError(f"unknown domain {domain!r}; choose one of: {', '.join(domain_choices())}")
    from pydantic import ValidationError

    from kgweave.flows.extractors import ExtractorChoice, build_extractor

    try:
        choice = ExtractorChoice(name=extractor, domain=domain, llm_base_url=args.llm_base_url,
                                 llm_model=args.llm_model, max_llm_calls=args.max_llm_calls,
                                 max_tokens_total=args.max_tokens_total, gleaning=args.gleaning)
    except ValidationError as exc:
        raise bad_option(exc) from exc
    try:
        build_extractor(choice)  # fail fast on a missing endpoint/model, before Prefect starts
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    store = store_url(args)
    if args.dry_run:  # reads the store if it is there, never creates it
        return _dry_run(args, settings, choice, store)
    open_or_usage(store)

    from kgweave.flows.build_graph import build_graph
    from kgweave.flows.progress import progress_sink
    from kgweave.graph_store.runs import new_run_id

    run_id = args.run_id or new_run_id("build")
    params = dict(
        paths=[str(p) for p in args.paths], run_id=run_id, store=store, extractor=choice,
        chunk_chars=args.chunk_chars or settings.chunk_chars,
        batch_documents=args.batch_documents or settings.batch_documents,
        max_file_mb=args.max_file_mb or settings.max_file_mb,
        max_record_mb=args.max_record_mb or settings.max_record_mb,
        text_field=args.text_field or settings.text_field, force=args.force,
        max_failure_ratio=args.max_failure_ratio,
    )
    if args.json:
        summary, failed = run_summarised(lambda: build_graph(**params))
        print_json(summary.model_dump())
    else:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=False) as bar:
            bar_id = bar.add_task("starting Prefect", total=None)

            def on_progress(stage: str, done: int, total: int) -> None:
                bar.update(bar_id, description=f"{stage} documents", completed=done, total=total)

            with progress_sink(on_progress):
                summary, failed = run_summarised(lambda: build_graph(**params))
        _print_build_table(summary)
    if failed is not None:
        raise failed
    return EXIT_PARTIAL if summary.failures or summary.stopped_because else EXIT_OK


def _dry_run(args: argparse.Namespace, settings: BuildSettings, choice: ExtractorChoice, store: str) -> int:
    """Estimate calls and tokens without extracting or writing anything."""
    from kgweave.agents.chunking import chunk_document
    from kgweave.agents.registry import extractor_fingerprint
    from kgweave.agents.sources.files import LoadOptions, load_corpus
    from kgweave.flows.extractors import build_extractor
    from kgweave.graph_store.factory import store_exists

    extractor = build_extractor(choice)
    documents, failures = load_corpus(args.paths, LoadOptions(
        text_field=args.text_field or settings.text_field, max_file_mb=args.max_file_mb or settings.max_file_mb,
        max_record_mb=args.max_record_mb or settings.max_record_mb))
    done: set[str] = set()
    if not args.force and store_exists(store):
        graph = open_or_usage(store)
        done = graph.documents_done([d.id for d in documents], extractor_fingerprint(extractor))  # type: ignore[attr-defined]
    chunk_chars = args.chunk_chars or settings.chunk_chars
    chunks = [c for d in documents if d.id not in done for c in chunk_document(d, chunk_chars)]
    estimate = getattr(extractor, "estimate", None)
    cost = estimate(chunks) if callable(estimate) else None
    result = {
        "dry_run": True, "extractor": extractor.name, "model": extractor.model,
        "documents": len(documents), "skipped_documents": len(done), "failed_documents": len(failures),
        "chunks": len(chunks),
        "llm_calls": cost.calls if cost else 0, "cached_llm_calls": cost.cached if cost else 0,
        "prompt_tokens": cost.prompt_tokens if cost else 0,
        "completion_tokens": cost.completion_tokens if cost else 0, "tokens": cost.tokens if cost else 0,
    }
    if args.json:
        print_json(result)
    else:
        print(f"dry run: {result['documents']} documents ({result['skipped_documents']} done), "
              f"{result['chunks']} chunks to extract; {result['llm_calls']} LLM calls "
              f"({result['cached_llm_calls']} cached), ~{result['tokens']:,} tokens "
              f"({result['prompt_tokens']:,} prompt + {result['completion_tokens']:,} completion)")
    return EXIT_OK


def _print_build_table(summary: object) -> None:
    from rich.console import Console
    from rich.table import Table

    data = summary.model_dump()  # type: ignore[attr-defined]
    table = Table(title=f"build-graph {data['run_id']} ({data['status']}, {data['seconds']:.1f} s)")
    table.add_column("")
    table.add_column("this run", justify="right")
    table.add_column("store total", justify="right")
    for key in ("documents", "chunks", "entities", "relations"):
        table.add_row(key, str(data[key]), str(data["totals"][key]))
    table.add_row("skipped documents (done before)", str(data["skipped_documents"]), "")
    table.add_row("failed documents / chunks", f"{data['failed_documents']} / {data['failed_chunks']}", "")
    table.add_row("LLM calls (cached) / tokens", f"{data['llm_calls']} ({data['cached_llm_calls']}) / "
                  f"{data['tokens']}", "")
    endpoint = data["llm_endpoint"]
    if endpoint:
        rejected = ", ".join(f.split(":")[0] for f in endpoint["fallbacks"])
        table.add_row("LLM structured output", str(endpoint["structured_output"]) + (
            f" ({rejected} rejected)" if rejected else ""), "")
    if data["stopped_because"]:
        table.add_row("stopped early", f"{data['stopped_because']} ({data['budget_exhausted_chunks']} chunks left)",
                      "re-run to resume")
    console = Console()
    console.print(table)
    if data["note"]:
        console.print(f"[bold red]{data['note']}[/]", markup=True, highlight=False)
    for failure in data["failures"][:20]:
        console.print(f"[yellow]failed[/] {failure['kind']} {failure['source']}: {failure['reason']}",
                      markup=True, highlight=False)
    if len(data["failures"]) > 20:
        console.print(f"... and {len(data['failures']) - 20} more (use --json for all)")


def register(sub: Any) -> None:
    """Add ``build`` to the kgweave subcommands."""
    from kgweave.agents.domains import domain_help

    build = sub.add_parser("build", help="turn a corpus (files or folders) into a graph (Prefect flow build-graph)")
    build.add_argument("paths", nargs="+", help=".txt .md .json .jsonl .csv files, or folders (walked recursively)")
    build.add_argument("--extractor", default=None, help="cooccurrence (offline default) or llm")
    build.add_argument("--domain", default=None, help=domain_help())
    llm_args(build)
    gleaning_arg(build)
    build.add_argument("--max-llm-calls", type=int, default=None, help="stop cleanly after this many requests")
    build.add_argument("--max-tokens-total", type=int, default=None, help="stop cleanly after this many tokens")
    build.add_argument("--dry-run", action="store_true", help="estimate LLM calls and tokens; extract nothing")
    build.add_argument("--run-id", default=None, help="run id (default: generated)")
    build.add_argument("--chunk-chars", type=int, default=None, help="max characters per chunk (default 2000)")
    build.add_argument("--batch-documents", type=int, default=None, help="documents per extraction task (250)")
    build.add_argument("--max-file-mb", type=float, default=None,
                       help="skip and report larger .txt/.md/.json files (20)")
    build.add_argument("--max-record-mb", type=float, default=None,
                       help="skip and report larger JSONL lines / CSV rows (20; those files are streamed)")
    build.add_argument("--text-field", default=None, help="JSON/CSV field with the text (default: auto)")
    build.add_argument("--force", action="store_true", help="re-extract documents already done")
    failure_ratio_arg(build)
    store_arg(build)
    json_arg(build)
    build.set_defaults(func=cmd_build)
