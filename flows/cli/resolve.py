"""``kgweave resolve``: merge duplicate entities (Prefect flow resolve-entities), or ``--undo`` a run."""

from __future__ import annotations

import argparse
from typing import Any

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

__all__ = ["cmd_resolve", "register"]


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


def register(sub: Any) -> None:
    """Add ``resolve`` to the kgweave subcommands."""
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
