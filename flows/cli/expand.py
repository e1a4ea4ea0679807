"""``kgweave expand`` (agentic graph expansion, Prefect flow expand-graph) and ``kgweave report`` (its plots)."""

from __future__ import annotations

import argparse
from typing import Any

from kgweave.flows.cli._common import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    failure_ratio_arg,
    json_arg,
    llm_args,
    open_or_usage,
    print_json,
    run_summarised,
    store_arg,
    store_url,
)

__all__ = ["cmd_expand", "cmd_report", "register"]


def cmd_expand(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from kgweave.agents.expansion_loop import ExpansionError, ExpansionLimits, ExpansionSettings, resolve_settings
    from kgweave.analysis.evolution import MetricOptions
    from kgweave.flows.expand_graph import expand_graph
    from kgweave.flows.extractors import llm_config
    from kgweave.graph_store.runs import new_run_id

    if args.resume and not args.run_id:
        raise UsageError("--resume needs --run-id ID of the run to continue")
    policy = args.policy or "frontier"  # checked, with the other options, by the models below
    if not args.resume and not args.from_store and not (args.seed or "").strip():
        raise UsageError("the seed is empty: give --seed TEXT (or --from-store)")
    try:
        llm_config(args.llm_base_url, args.llm_model, "kgweave expand")
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        limits = ExpansionLimits(
            iterations=args.iterations, max_llm_calls=args.max_llm_calls, max_tokens_total=args.max_tokens_total,
            max_seconds=args.max_seconds, saturation=args.saturation, saturation_window=args.saturation_window)
        settings = ExpansionSettings(seed=args.seed, policy=policy, from_store=args.from_store,
                                     rng_seed=args.rng_seed, hops=args.hops,
                                     metrics=MetricOptions(seed=args.rng_seed))
    except ValidationError as exc:
        error = exc.errors()[0]
        raise UsageError(f"bad option --{str(error['loc'][0]).replace('_', '-')}: {error['msg']}") from exc
    url = store_url(args)
    store = open_or_usage(url)
    run_id = args.run_id or new_run_id("expand")
    try:
        resolved = resolve_settings(store, run_id, args.resume, settings)  # type: ignore[arg-type]
    except ExpansionError as exc:
        raise UsageError(str(exc)) from exc
    if args.resume:
        _check_same(args, resolved)
    if resolved.from_store and not resolved.seed and not args.resume and not store.counts().entities:  # type: ignore[attr-defined]
        raise UsageError(f"--from-store: the store {url} holds no graph; give --seed TEXT to start from a topic")
    params = dict(run_id=run_id, seed=resolved.seed, iterations=args.iterations, policy=resolved.policy, store=url,
                  from_store=resolved.from_store, resume=args.resume, llm_base_url=args.llm_base_url,
                  llm_model=args.llm_model, limits=limits, settings=resolved, report_dir=args.report,
                  max_failure_ratio=args.max_failure_ratio)
    try:
        summary, failed = run_summarised(
            lambda: expand_graph(**params) if args.json else _with_progress_bar(expand_graph, params))
    except ExpansionError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print_json(summary.model_dump(mode="json"))
    else:
        _print_summary(summary)
    if failed is not None:
        raise failed
    return EXIT_OK if summary.stopped_because in ("iterations", "saturation") else EXIT_PARTIAL


def _with_progress_bar(flow: Any, params: dict[str, Any]) -> Any:
    """Run the flow with a terminal progress bar fed by its iterations."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from kgweave.flows.progress import progress_sink

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as bar:
        bar_id = bar.add_task("starting Prefect", total=None)

        def on_progress(stage: str, done: int, total: int) -> None:
            bar.update(bar_id, description=f"{stage} iterations", completed=done, total=total)

        with progress_sink(on_progress):
            return flow(**params)


def _check_same(args: argparse.Namespace, recorded: Any) -> None:
    """A resumed run keeps its recorded seed and policy: a different one given now is bad input."""
    for flag, given, kept in (("--seed", args.seed, recorded.seed), ("--policy", args.policy, recorded.policy)):
        if given is not None and given != kept:
            raise UsageError(f"run {args.run_id!r} was started with {flag} {kept!r}; a resume keeps it")


def _print_summary(summary: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"expand-graph {summary.run_id}: {summary.status} (stopped because "
                        f"{summary.stopped_because}, {summary.seconds:.1f} s)")
    for column in ("iteration", "nodes", "edges", "new", "modularity", "alpha", "top hub", "focus"):
        table.add_column(column, justify="left" if column in ("top hub", "focus") else "right")
    rows = summary.iterations
    shown = rows if len(rows) <= 30 else [*rows[:10], *rows[-20:]]
    for r in shown:
        table.add_row(str(r.iteration), str(r.nodes), str(r.edges), f"+{r.new_nodes}/+{r.new_edges}",
                      "-" if r.modularity is None else f"{r.modularity:.3f}",
                      "-" if r.power_law_alpha is None else f"{r.power_law_alpha:.2f}",
                      r.top_hubs[0].name if r.top_hubs else "-", ", ".join(r.focus)[:40])
    console = Console()
    console.print(table)
    console.print(f"LLM calls {summary.llm_calls} ({summary.cached_llm_calls} cached), tokens {summary.tokens}. "
                  f"Continue with: kgweave expand --resume --run-id {summary.run_id} --iterations N")


def cmd_report(args: argparse.Namespace) -> int:
    from kgweave.agents.expansion_loop import ExpansionError, write_expansion_report

    store = open_or_usage(store_url(args))
    try:
        paths = write_expansion_report(store, args.run_id, args.out)  # type: ignore[arg-type]
    except ExpansionError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print_json({"run_id": args.run_id, "files": [str(p) for p in paths]})
    else:
        print(f"wrote {len(paths)} files to {args.out}: {', '.join(p.name for p in paths)}")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``expand`` and ``report`` to the kgweave subcommands."""
    expand = sub.add_parser("expand", help="grow a graph by agentic expansion (Prefect flow expand-graph)")
    expand.add_argument("--seed", default=None, help="topic the graph grows from")
    expand.add_argument("--from-store", action="store_true", help="start from the store's whole graph")
    expand.add_argument("--iterations", type=int, default=10, help="stop after this iteration (default 10)")
    expand.add_argument("--policy", default=None, help="frontier (default), bridge, hub, path or random")
    expand.add_argument("--run-id", default=None, help="run id (default: generated)")
    expand.add_argument("--resume", action="store_true", help="continue --run-id from its last completed iteration")
    llm_args(expand)
    expand.add_argument("--max-llm-calls", type=int, default=None, help="stop cleanly after this many requests")
    expand.add_argument("--max-tokens-total", type=int, default=None, help="stop cleanly after this many tokens")
    expand.add_argument("--max-seconds", type=float, default=None, help="start no iteration after this wall time")
    expand.add_argument("--saturation", type=float, default=None, metavar="RATE",
                        help="stop when new nodes per iteration (mean over --saturation-window) fall below RATE")
    expand.add_argument("--saturation-window", type=int, default=10, help="iterations averaged (default 10)")
    expand.add_argument("--rng-seed", type=int, default=0, help="seed of policy choices, samples and Leiden")
    expand.add_argument("--hops", type=int, default=2, help="neighbourhood hops shown in the prompt (default 2)")
    expand.add_argument("--report", default=None, metavar="DIR", help="plots folder (default .kgweave/expand/RUN_ID)")
    failure_ratio_arg(expand)
    store_arg(expand)
    json_arg(expand)
    expand.set_defaults(func=cmd_expand)

    report = sub.add_parser("report", help="plots of an expansion run from its recorded iterations")
    report.add_argument("--run-id", required=True, help="the expand run")
    report.add_argument("--out", required=True, metavar="DIR", help="folder for the PNG plots and iterations.json")
    store_arg(report)
    json_arg(report)
    report.set_defaults(func=cmd_report, uses_prefect=False)
