"""CiteSeer as a text-attributed graph (TAPE's ``CiteSeer-Orig``): papers with title, abstract and class.

Input folder (``../shared/data/citeseer_tape_text``):

- ``citeseer_texts.txt``: one paper per three lines: CiteSeer id; title and abstract on one line
  (the title is not delimited: see :func:`split_title`); class label among Agents, AI, DB, IR, ML, HCI.
- ``citeseer.cites``: ``cited<TAB>citing`` per line; lines whose ends are not among the papers are
  left out (4,277 of 4,732 lines have both ends in the text set).

The result is one :class:`~graph_store.models.GraphDelta` of ``(:Paper {name: title, description:
abstract, category, citeseer_id})`` entities and ``(citing)-[:CITES]->(cited)`` relations, written
without chunks (as an import). A paper's id is :func:`graph_store.ids.entity_id` of the CiteSeer id
(``citeseer:<id>``), because 3,186 papers carry fewer distinct titles than that (duplicate entries).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from kgweave.agents.labels import PAPER
from kgweave.agents.sources.files import LoadFailure
from kgweave.graph_store.ids import entity_id
from kgweave.graph_store.models import Entity, GraphDelta, Relation

__all__ = ["CITESEER_CLASSES", "CITES_FILE", "PAPER_LABEL", "TEXTS_FILE", "citeseer_delta", "citeseer_records",
           "split_title"]

log = logging.getLogger(__name__)

CITESEER_CLASSES = ("Agents", "AI", "DB", "IR", "ML", "HCI")
PAPER_LABEL = PAPER
CLASS_PROPERTY = "category"
TEXTS_FILE, CITES_FILE = "citeseer_texts.txt", "citeseer.cites"
_ID = re.compile(r"^\S{1,200}$")
_MAX_TITLE_WORDS = 30
# Words written in lower case inside a title ("Argument in Multi-Agent Systems").
_TITLE_SMALL_WORDS = frozenset({
    "a", "an", "and", "as", "at", "based", "by", "for", "from", "in", "into", "of", "on", "or", "over", "per",
    "the", "to", "under", "using", "via", "vs", "with", "without",
})


def split_title(text: str) -> tuple[str, str]:
    """Split CiteSeer's "title abstract" line into (title, abstract).

    An explicit `` . `` after the title is used when present. Otherwise the title is the run of
    capitalised words (small words such as "of" allowed) before the first lower-case word of the
    abstract, minus that sentence's first word: "Decomposition in Data Mining: An Industrial Case
    Study Data mining offers tools..." -> ("Decomposition in Data Mining: An Industrial Case Study",
    "Data mining offers tools..."). With no such boundary in the first 30 words, the first 12 words
    are the title and the whole line the abstract.
    """
    text = " ".join(text.split())
    head, sep, tail = text.partition(" . ")
    if sep and 0 < len(head.split()) <= _MAX_TITLE_WORDS:
        return head.strip(), tail.strip()
    words = text.split(" ")
    for i, word in enumerate(words[: _MAX_TITLE_WORDS + 1]):
        letters = word.strip("\"'([{:,;-")
        if i >= 2 and letters[:1].islower() and letters.lower() not in _TITLE_SMALL_WORDS:
            title = " ".join(words[: i - 1]).rstrip(" :.-")
            if title:
                return title, " ".join(words[i - 1:])
            break
    return " ".join(words[:12]).rstrip(" :.-") or text, text


def _paper_id(citeseer_id: str) -> str:
    return entity_id(f"citeseer:{citeseer_id}", PAPER_LABEL)


def _papers(path: Path) -> tuple[dict[str, Entity], list[LoadFailure]]:
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    papers: dict[str, Entity] = {}
    failures: list[LoadFailure] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        record = [line.strip() for line in lines[i:i + 3]]
        source = f"{path}:{i + 1}"
        reason = None
        if len(record) < 3:
            reason = "incomplete record at the end of the file (expected id, text, label)"
        elif not _ID.fullmatch(record[0]):
            reason = f"expected a paper id (one word), got {record[0][:40]!r}"
        elif not record[1]:
            reason = "empty title/abstract line"
        elif record[2] not in CITESEER_CLASSES:
            reason = f"label {record[2][:40]!r} is not one of {', '.join(CITESEER_CLASSES)}"
        elif record[0] in papers:
            reason = f"paper id {record[0]!r} seen before"
        if reason is not None:
            failures.append(LoadFailure(source=source, reason=reason))
            # a record with a good id line is skipped whole; otherwise resynchronise on the next line
            i += 3 if len(record) == 3 and _ID.fullmatch(record[0]) and record[1] else 1
            continue
        title, abstract = split_title(record[1])
        papers[record[0]] = Entity(
            id=_paper_id(record[0]), name=title, label=PAPER_LABEL, description=abstract or None,
            properties={CLASS_PROPERTY: record[2], "citeseer_id": record[0], "source": "citeseer"},
        )
        i += 3
    return papers, failures


def _citations(path: Path, papers: dict[str, Entity]) -> tuple[list[Relation], list[LoadFailure], int]:
    relations: dict[str, Relation] = {}
    failures: list[LoadFailure] = []
    dangling = 0
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").split("\n"), start=1):
        if not line.strip():
            continue
        parts = line.strip().split("\t")
        if len(parts) != 2 or not all(parts):
            failures.append(LoadFailure(source=f"{path}:{number}", reason="expected 'cited<TAB>citing'"))
            continue
        cited, citing = parts
        if cited not in papers or citing not in papers:
            dangling += 1
            continue
        if cited == citing:
            continue
        rel = Relation.between(papers[citing].id, "CITES", papers[cited].id, properties={"source": "citeseer"},
                               origin="record")
        relations.setdefault(rel.id, rel)
    return list(relations.values()), failures, dangling


def citeseer_delta(path: str | Path, run_id: str) -> tuple[GraphDelta, list[LoadFailure]]:
    """Read the CiteSeer text-attributed graph in folder ``path`` into one delta.

    Returns the delta and one :class:`~flows.loaders.LoadFailure` per malformed record or
    citation line (the rest is loaded). Raises FileNotFoundError if ``citeseer_texts.txt`` is missing.
    """
    papers, relations, failures = citeseer_records(path)
    delta = GraphDelta(run_id=run_id, extractor="citeseer-tape", entities=tuple(papers), relations=tuple(relations))
    return delta, failures


def citeseer_records(path: str | Path) -> tuple[list[Entity], list[Relation], list[LoadFailure]]:
    """The papers, the citations between them, and the malformed lines of the CiteSeer folder ``path``.

    ``path`` is the folder or its ``citeseer_texts.txt``; ``citeseer.cites`` beside it is optional.
    Raises FileNotFoundError if ``citeseer_texts.txt`` is missing.
    """
    folder = Path(path)
    texts = folder / TEXTS_FILE if folder.is_dir() else folder
    if not texts.is_file():
        raise FileNotFoundError(f"no {TEXTS_FILE} in {folder}")
    papers, failures = _papers(texts)
    relations: list[Relation] = []
    cites = texts.parent / CITES_FILE
    if cites.is_file():
        relations, cite_failures, dangling = _citations(cites, papers)
        failures += cite_failures
        log.info("citeseer: %d papers, %d citations (%d lines with an unknown end left out)",
                 len(papers), len(relations), dangling)
    return list(papers.values()), relations, failures
