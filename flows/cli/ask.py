"""``kgweave ask "QUESTION"``: answer from the graph with its evidence (Prefect flow answer-question)."""

from __future__ import annotations

import argparse
from typing import Any

from kgweave.flows.cli._common import (
    EXIT_OK,
    UsageError,
    bad_option,
    json_arg,
    llm_args,
    open_or_usage,
    print_json,
    store_arg,
    store_url,
)

__all__ = ["cmd_ask", "register"]


def cmd_ask(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from kgweave.agents.answering import question_embedder
    from kgweave.analysis.retrieval import AskOptions, RetrievalError, check_question
    from kgweave.flows.answer_question import answer_question

    url = store_url(args)
    store = open_or_usage(url)
    try:
        given = {k: v for k, v in (("mode", args.mode), ("hops", args.hops), ("top", args.top)) if v is not None}
        options = AskOptions(**given, use_llm=not args.no_llm, embeddings=not args.no_embeddings)
    except ValidationError as exc:
        raise bad_option(exc) from exc
    judge = None
    if options.use_llm:
        from kgweave.agents.answering import LLMLinkJudge
        from kgweave.flows.extractors import llm_config

        try:
            judge = LLMLinkJudge(llm_config(args.llm_base_url, args.llm_model, "kgweave ask (or --no-llm)"))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    try:  # bad input is one line before any run starts (a judged link is cached: the run asks again for free)
        check_question(store, args.question, options, question_embedder(options), judge)  # type: ignore[arg-type]
    except RetrievalError as exc:
        raise UsageError(str(exc)) from exc
    result = answer_question(question=args.question, store=url, run_id=args.run_id, options=options,
                             llm_base_url=args.llm_base_url, llm_model=args.llm_model)
    if args.json:
        print_json(result)
    else:
        _print(result)
    return EXIT_OK


def _print(result: dict[str, Any]) -> None:
    links = ", ".join(f"{link['mention']} -> {link['name']}" for link in result["linked_entities"])
    print(f"linked: {links}")
    from kgweave.agents.answering import WalkStep

    for step in result["walk"]:
        walked = WalkStep.model_validate(step)
        print(f"walk: {walked.text()}  ({walked.reason})")
    for item in result["evidence"]:
        where = f"{item['chunk_id']}[{item['start']}:{item['end']}]" if item["chunk_id"] else "no chunk"
        print(f"  {item['source']} --{item['relation']}--> {item['target']}  {where}  {item['text'][:100]!r}")
    if result["answer"] is not None:
        print(f"answer (confidence {result['confidence']}): {result['answer']}")
        print(f"cited: {', '.join(c['chunk_id'] for c in result['citations']) or 'none'}"
              f"; dropped citations: {result['dropped_citations']}")
    elif result["error"]:
        print(f"no answer: {result['error']}")


def register(sub: Any) -> None:
    """Add ``ask`` to the kgweave subcommands."""
    ask = sub.add_parser("ask", help="answer a question from the graph, with paths and source spans as evidence "
                                     "(Prefect flow answer-question)")
    ask.add_argument("question")
    ask.add_argument("--mode", choices=("local", "paths", "walk"), default=None,
                     help="local (default): ranked neighbourhood; paths: between the named entities; "
                          "walk: the LLM walks the graph")
    ask.add_argument("--hops", type=int, default=None, help="how far from the named entities to look (1-4, default 2)")
    ask.add_argument("--top", type=int, default=None, help="most evidence items (default 20)")
    ask.add_argument("--no-llm", action="store_true", help="print the evidence only (no answer)")
    ask.add_argument("--no-embeddings", action="store_true",
                     help="link names only, never by the vectors `kgweave embed` stored")
    llm_args(ask, "answering: ")
    ask.add_argument("--run-id", default=None)
    store_arg(ask)
    json_arg(ask)
    ask.set_defaults(func=cmd_ask)
