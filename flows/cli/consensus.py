"""``kgweave consensus --book ID_OR_TITLE``: a book's consensus actant graph from its reviews (runs no flow)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgweave.flows.cli._common import EXIT_OK, UsageError, json_arg, open_or_usage, print_json, store_arg, store_url

if TYPE_CHECKING:
    from kgweave.agents.actants import ConsensusGraph

__all__ = ["cmd_consensus", "consensus_json", "register", "support_args"]


def support_args(parser: argparse.ArgumentParser) -> None:
    """``--min-actant-support`` and ``--min-relation-support`` (shared with ``kgweave eval relations``)."""
    parser.add_argument("--min-actant-support", type=int, default=1, help="reviews that must mention an actant (1)")
    parser.add_argument("--min-relation-support", type=int, default=1, help="reviews that must state a relation (1)")


def register(sub: Any) -> None:
    """Add ``consensus`` to the kgweave subcommands."""
    cmd = sub.add_parser("consensus", help="a book's consensus graph of the story's actants, from its reviews")
    cmd.add_argument("--book", required=True, help="book id (the reviews' book_id) or title")
    cmd.add_argument("--top", type=int, default=None, help="show the N best-supported actants and relations")
    support_args(cmd)
    store_arg(cmd)
    json_arg(cmd)
    cmd.set_defaults(func=cmd_consensus, uses_prefect=False)


def consensus_json(book: str, graph: ConsensusGraph, top: int | None = None) -> dict[str, object]:
    """``{book, reviews, actants, relations, filtered, merges}``, actants and relations by support."""
    return {
        "book": book, "reviews": graph.reviews,
        "actants": [{"name": a.name, "aliases": list(a.aliases), "label": a.label, "support": a.support}
                    for a in graph.actants[:top]],
        "relations": [{"source": r.source, "target": r.target, "type": r.type, "support": r.support,
                       "type_support": r.type_support} for r in graph.relations[:top]],
        "filtered": [{"name": f.name, "why": f.why, "support": f.support} for f in graph.filtered],
        "merges": [m.model_dump() for m in graph.merges],
    }


def cmd_consensus(args: argparse.Namespace) -> int:
    from kgweave.agents.book_reviews import BookNotFoundError, book_consensus

    for option in ("top", "min_actant_support", "min_relation_support"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be at least 1")
    url = store_url(args)
    if "://" not in url and not Path(url.removeprefix("sqlite:///")).is_file():
        raise UsageError(f"no such store: {url} (build one first with: kgweave build FILE --domain reviews)")
    try:
        book, graph = book_consensus(open_or_usage(url), args.book, args.min_actant_support,  # type: ignore[arg-type]
                                     args.min_relation_support)
    except BookNotFoundError as exc:
        raise UsageError(str(exc)) from exc
    data = consensus_json(book.name, graph, args.top)
    if args.json:
        print_json(data)
    else:
        _print(data)
    return EXIT_OK


def _print(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{data['book']}[/bold]: {data['reviews']} reviews")
    for title, rows, columns in (
        ("actants", [(a["name"], a["label"], str(a["support"]), ", ".join(a["aliases"])) for a in data["actants"]],
         ("actant", "label", "support", "aliases")),
        ("relations", [(r["source"], r["type"], r["target"], str(r["support"])) for r in data["relations"]],
         ("source", "type", "target", "support")),
        ("set aside (about the book, not the story)", [(f["name"], f["why"], str(f["support"]))
                                                       for f in data["filtered"]], ("name", "why", "support")),
    ):
        table = Table(title=title)
        for column in columns:
            table.add_column(column, justify="right" if column == "support" else "left")
        for row in rows:
            table.add_row(*row)
        console.print(table)
