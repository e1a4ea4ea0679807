"""ResearchTown-style records, read by both the ``papers`` and the ``profiles`` domain.

- researcher profiles (ResearchTown ``ProfileDB.json``, ``agent_data_*.json``, ResearchBench profiles):
  ``name`` plus ``bio`` or ``collaborators``; optional ``domain``, ``institute``, ``pub_titles`` /
  ``pub_abstracts``;
- papers (``PaperDB.json``, the ICLR-2023 review set, generic papers JSONL): ``title`` plus ``abstract``,
  ``text``, ``body`` or ``authors`` (the first of abstract/text/body is the paper's text); optional ``year``
  (or ``timestamp``), ``url``, ``domain``, ``keywords``, ``references`` (titles, or objects with ``title``),
  ``bibliography`` (ResearchTown's parsed entries), ``real_all_scores`` / ``review_scores``,
  ``real_confidences``, ``real_decision`` / ``decision``.

The graph they make is :func:`kgweave.agents.research_graph.research_graph`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pydantic import BaseModel

from kgweave.agents.domains.domain import RawRecord
from kgweave.agents.domains.record_fields import names_of, numbers_of, text_of, year_of
from kgweave.agents.record_graph import RecordGraph
from kgweave.agents.research_graph import PaperRecord, ResearcherRecord, research_graph

__all__ = [
    "EXPECTED",
    "PAPER_TEXT_FIELDS",
    "bibliography_title",
    "research_kind",
    "research_record",
    "research_records_graph",
]

EXPECTED = "a paper (title, abstract/text/body/authors) or a researcher (name, bio/collaborators)"
# the fields a paper's text is read from, the first present wins
PAPER_TEXT_FIELDS = ("abstract", "text", "body")


def research_kind(raw: RawRecord) -> str | None:
    """``researcher``, ``paper``, or None for a record that is neither."""
    if "name" in raw and ("bio" in raw or "collaborators" in raw):
        return "researcher"
    if "title" in raw and any(name in raw for name in (*PAPER_TEXT_FIELDS, "authors")):
        return "paper"
    return None


def research_record(raw: RawRecord, kind: str, source: str, area: str | None) -> PaperRecord | ResearcherRecord:
    """The typed record; ``area`` (from an ``agent_data_<area>`` file name) is a topic or research domain."""
    return _researcher(raw, source, area) if kind == "researcher" else _paper(raw, source, area)


def research_records_graph(records: Sequence[BaseModel]) -> RecordGraph:
    """The research graph of the parsed records (researchers first, then papers, each in file order)."""
    return research_graph([r for r in records if isinstance(r, ResearcherRecord)],
                          [r for r in records if isinstance(r, PaperRecord)])


def bibliography_title(entry: object) -> str | None:
    """The title block of a ResearchTown bibliography entry: key, authors, title, venue (blank-line separated)."""
    if not isinstance(entry, str):
        return None
    blocks = [" ".join(b.split()) for b in re.split(r"\n\s*\n", entry) if b.strip()]
    if len(blocks) < 3:
        return None
    title = blocks[2].rstrip(".")
    return title if 10 <= len(title) <= 300 else None


def _references(raw: RawRecord) -> tuple[str, ...]:
    refs: list[str] = []
    value = raw.get("references")
    if isinstance(value, list):
        for ref in value:
            title = ref.get("title") if isinstance(ref, Mapping) else ref
            if isinstance(title, str) and title.strip():
                refs.append(title)
    bibliography = raw.get("bibliography")
    if isinstance(bibliography, Mapping):
        refs.extend(t for t in (bibliography_title(e) for e in bibliography.values()) if t)
    return tuple(refs)


def _paper(raw: RawRecord, source: str, area: str | None) -> PaperRecord:
    topics = [*names_of(raw, "keywords"), *(t for t in (text_of(raw, "domain"), area) if t)]
    return PaperRecord(
        source=source, title=text_of(raw, "title") or "", abstract=text_of(raw, *PAPER_TEXT_FIELDS),
        authors=names_of(raw, "authors"), year=year_of(raw), url=text_of(raw, "url"), venue=text_of(raw, "venue"),
        topics=tuple(dict.fromkeys(topics)), references=_references(raw),
        review_scores=numbers_of(raw, "real_all_scores", "review_scores", "scores"),
        review_confidences=numbers_of(raw, "real_confidences", "review_confidences", "confidences"),
        decision=text_of(raw, "real_decision", "decision"),
    )


def _researcher(raw: RawRecord, source: str, area: str | None) -> ResearcherRecord:
    domains = [*names_of(raw, "domain"), *([area] if area else [])]
    titles, abstracts = names_of(raw, "pub_titles"), raw.get("pub_abstracts")
    abstracts = abstracts if isinstance(abstracts, list) else []
    publications = tuple(
        PaperRecord(source=f"{source}/pub{i}", title=title,
                    abstract=abstracts[i] if i < len(abstracts) and isinstance(abstracts[i], str) else None)
        for i, title in enumerate(titles)
    )
    return ResearcherRecord(
        source=source, name=text_of(raw, "name") or "", bio=text_of(raw, "bio"),
        collaborators=names_of(raw, "collaborators"), domains=tuple(dict.fromkeys(domains)),
        institute=text_of(raw, "institute"), publications=publications,
    )
