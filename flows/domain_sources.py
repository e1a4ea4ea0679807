"""Structured sources for ``kgweave build --domain papers|profiles|reviews``: records -> a RecordGraph.

Recognised records (JSON object-of-records, list, or one record; JSONL; CSV with ``;``-separated lists):

- researcher profiles (ResearchTown ``ProfileDB.json``, ``agent_data_*.json``, ResearchBench profiles):
  ``name`` plus ``bio`` or ``collaborators``; optional ``domain``, ``institute``, ``pub_titles`` /
  ``pub_abstracts``;
- papers (``PaperDB.json``, the ICLR-2023 review set, generic papers JSONL): ``title`` plus ``abstract``
  or ``authors``; optional ``year`` (or ``timestamp``), ``url``, ``domain``, ``keywords``,
  ``references`` (titles, or objects with ``title``), ``bibliography`` (ResearchTown's parsed entries),
  ``real_all_scores`` / ``review_scores``, ``real_confidences``, ``real_decision`` / ``decision``;
- TEG/TAPE's CiteSeer (``citeseer_texts.txt``: id, title and abstract, class; ``citeseer.cites``), for
  ``--domain papers``: papers with ``category`` and ``citeseer_id``, and CITES between them;
- book reviews (CSV/JSONL, and TEG-DB's textual-edge JSON ``user_id -> book_id`` with ``review_text``):
  review text (``review_text``, ``review``, ``text``) and a book (``book_id`` or ``book_title``/``title``);
  optional ``rating``, ``user_id``, ``genre``, ``description``.

A file whose first record is not of the domain's kind is read by the generic loader (its texts are
extracted with the domain's schema, as before). A bad record is reported on its own (``file#key``)
and never stops the others.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict, ValidationError

from kgweave.agents.book_reviews import ReviewRecord, review_graph
from kgweave.agents.pipeline import BatchResult
from kgweave.agents.record_graph import RecordGraph, RecordGraphBuilder
from kgweave.agents.research_graph import PaperRecord, ResearcherRecord, research_graph
from kgweave.flows.loaders import InputPathError, LoadFailure, LoadOptions, _decode, _walk, load_corpus
from kgweave.flows.stores import open_flow_store
from kgweave.flows.tape_loader import TEXTS_FILE, citeseer_records
from kgweave.graph_store.ids import content_id
from kgweave.graph_store.models import Document, WriteStats

__all__ = [
    "SOURCE_DOMAINS",
    "DomainSource",
    "domain_fingerprint",
    "load_domain_source",
    "load_domain_source_task",
    "write_records_task",
]

SOURCE_DOMAINS = ("papers", "profiles", "reviews")
SOURCE_VERSION = "records-v1"  # part of the fingerprint: bump when the record graph's shape changes
_AREA_FILE = re.compile(r"^(?:paper|agent_data)_(.+)$")
_REVIEW_TEXT = ("review_text", "review", "text", "body")
_BOOK_TITLE = ("book_title", "title")
_Raw = Mapping[str, object]


class DomainSource(BaseModel):
    """What a structured build reads: its record graph, plain documents, and failures."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    graph: RecordGraph
    documents: list[Document]
    failures: list[LoadFailure]
    records: int


def domain_fingerprint(fingerprint: str, domain: str) -> str:
    """The extraction fingerprint of a structured build (so a plain build's 'done' marks do not skip it)."""
    return content_id("domain-source", fingerprint, domain, SOURCE_VERSION)


@task(name="load-domain-source", cache_policy=NO_CACHE)
def load_domain_source_task(paths: list[str], domain: str, options: LoadOptions) -> DomainSource:
    """Read the structured records (and any plain documents) under the paths."""
    return load_domain_source(paths, domain, options)


def load_domain_source(paths: Sequence[str | Path], domain: str, options: LoadOptions | None = None) -> DomainSource:
    """Records of ``domain`` under ``paths`` as one RecordGraph; other files through the generic loader."""
    if domain not in SOURCE_DOMAINS:
        raise ValueError(f"no structured source for domain {domain!r}; one of {', '.join(SOURCE_DOMAINS)}")
    options = options or LoadOptions()
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise InputPathError(f"no such file or directory: {', '.join(missing)}")
    researchers: list[ResearcherRecord] = []
    papers: list[PaperRecord] = []
    reviews: list[ReviewRecord] = []
    failures: list[LoadFailure] = []
    plain: list[Path] = []
    files = list(_walk(paths))
    citeseer = _citeseer_graph(files) if domain == "papers" else None
    if citeseer is not None:
        files = [f for f in files if f.parent not in citeseer.folders]
        failures.extend(citeseer.failures)
    for file in files:
        items = _records(file, options)
        if isinstance(items, LoadFailure):
            failures.append(items)
            continue
        first = next((raw for _, raw in items or () if not isinstance(raw, LoadFailure)), None)
        if items is None or first is None or _kind(first, domain) is None:
            plain.append(file)
            continue
        area = _area(file)
        for source, raw in items:
            record = _parse(raw, source, domain, area)
            if isinstance(record, LoadFailure):
                failures.append(record)
            elif isinstance(record, ResearcherRecord):
                researchers.append(record)
            elif isinstance(record, PaperRecord):
                papers.append(record)
            else:
                reviews.append(record)
    documents: list[Document] = []
    if plain:
        documents, plain_failures = load_corpus(plain, options)
        failures.extend(plain_failures)
    graph = review_graph(reviews) if domain == "reviews" else research_graph(researchers, papers)
    records = len(researchers) + len(papers) + len(reviews)
    if citeseer is not None:
        graph, records = graph.merged(citeseer.graph), records + citeseer.papers
    unique = {d.id: d for d in (*graph.documents, *documents)}
    return DomainSource(graph=graph, documents=list(unique.values()), failures=failures, records=records)


class _CiteSeer(NamedTuple):
    graph: RecordGraph
    failures: list[LoadFailure]
    folders: frozenset[Path]
    papers: int


def _citeseer_graph(files: Sequence[Path]) -> _CiteSeer | None:
    """TAPE's CiteSeer folders among ``files`` (``citeseer_texts.txt`` with ``citeseer.cites``) as a graph.

    The folder is read as the data set: its papers (``category`` = the class), their citations, and
    each abstract as a text owned by its paper (so concepts are extracted and linked by MENTIONS);
    the folder's other files (the data set's licence) are not documents.
    """
    texts = [f for f in files if f.name == TEXTS_FILE]
    if not texts:
        return None
    builder = RecordGraphBuilder()
    failures: list[LoadFailure] = []
    papers = 0
    for file in texts:
        entities, relations, bad = citeseer_records(file)
        failures.extend(bad)
        papers += len(entities)
        for paper in entities:
            node = builder.entity(paper)
            if paper.description:
                document = Document.from_text(paper.description, source=f"{file}#{paper.properties['citeseer_id']}",
                                              title=paper.name, metadata={"kind": "abstract", "paper": paper.name})
                builder.text(document, node)
        for relation in relations:
            builder.relation(relation)
    return _CiteSeer(builder.build(), failures, frozenset(f.parent for f in texts), papers)


def _area(file: Path) -> str | None:
    match = _AREA_FILE.match(file.stem)
    return match.group(1).replace("_", " ") if match else None


def _records(file: Path, options: LoadOptions) -> list[tuple[str, object]] | LoadFailure | None:
    """(source, raw record) pairs of a JSON/JSONL/CSV file; None for other files; a failure if unreadable."""
    suffix, source = file.suffix.lower(), str(file)
    if suffix not in (".json", ".jsonl", ".csv"):
        return None
    try:
        size = file.stat().st_size
        if size > options.max_file_mb * 1024 * 1024:
            return None  # the generic loader reports it, with the limit
        text = _decode(file.read_bytes())
    except OSError as exc:
        return LoadFailure(source=source, reason=f"cannot read: {exc.strerror or exc}")
    if isinstance(text, LoadFailure) or not text.strip():
        return None
    if suffix == ".csv":
        return _csv_records(text, source)
    if suffix == ".jsonl":
        out: list[tuple[str, object]] = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    out.append((f"{source}:{lineno}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    out.append((f"{source}:{lineno}", LoadFailure(source=f"{source}:{lineno}",
                                                                  reason=f"invalid JSON: {exc.msg}")))
        return out
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None  # the generic loader reports where the JSON breaks
    if isinstance(data, list):
        return [(f"{source}#{i}", item) for i, item in enumerate(data)]
    if isinstance(data, Mapping) and data and all(isinstance(v, Mapping) for v in data.values()):
        return [(f"{source}#{key}", item) for key, item in data.items()]
    return [(source, data)]


def _csv_records(text: str, source: str) -> list[tuple[str, object]]:
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[tuple[str, object]] = []
    try:
        for row in reader:
            out.append((f"{source}:{reader.line_num}", {k: v for k, v in row.items() if k and v not in (None, "")}))
    except csv.Error as exc:
        out.append((f"{source}:{reader.line_num}", LoadFailure(source=f"{source}:{reader.line_num}",
                                                               reason=f"invalid CSV: {exc}")))
    return out


def _kind(raw: object, domain: str) -> str | None:
    if not isinstance(raw, Mapping):
        return None
    if domain == "reviews":
        has_text = any(isinstance(raw.get(f), str) for f in _REVIEW_TEXT)
        return "review" if has_text and ("book_id" in raw or any(f in raw for f in _BOOK_TITLE)) else None
    if "name" in raw and ("bio" in raw or "collaborators" in raw):
        return "researcher"
    if "title" in raw and ("abstract" in raw or "authors" in raw):
        return "paper"
    return None


def _parse(raw: object, source: str, domain: str, area: str | None
           ) -> ResearcherRecord | PaperRecord | ReviewRecord | LoadFailure:
    if isinstance(raw, LoadFailure):
        return raw
    kind = _kind(raw, domain)
    if kind is None:
        expected = "a review (text and book_id/title)" if domain == "reviews" else \
            "a paper (title, abstract/authors) or a researcher (name, bio/collaborators)"
        return LoadFailure(source=source, reason=f"record is not {expected}")
    assert isinstance(raw, Mapping)
    try:
        if kind == "researcher":
            return _researcher(raw, source, area)
        if kind == "paper":
            return _paper(raw, source, area)
        return _review(raw, source)
    except (ValidationError, ValueError, TypeError) as exc:
        return LoadFailure(source=source, reason=f"bad {kind} record: {_reason(exc)}")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)


def _text(raw: _Raw, *fields: str) -> str | None:
    for name in fields:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str | int | float):
            raise TypeError(f"{name} must be text, not {type(value).__name__}")
        if str(value).strip():
            return str(value).strip()
    return None


def _names(raw: _Raw, name: str) -> tuple[str, ...]:
    value = raw.get(name)
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(p.strip() for p in re.split(r"[;|]" if ";" in value or "|" in value else ",", value) if p.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise TypeError(f"{name} must be a list of strings")


def _numbers(raw: _Raw, *fields: str) -> tuple[float, ...]:
    for name in fields:
        value = raw.get(name)
        if isinstance(value, str):
            value = [v for v in re.split(r"[;,| ]+", value) if v]
        if isinstance(value, list):
            return tuple(float(v) for v in value if not isinstance(v, bool))
    return ()


def _year(raw: _Raw) -> int | None:
    year = raw.get("year")
    if year not in (None, ""):
        return int(str(year)[:4])
    stamp = raw.get("timestamp")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool) and stamp > 0:
        return datetime.fromtimestamp(stamp, UTC).year
    return None


def _references(raw: _Raw) -> tuple[str, ...]:
    refs: list[str] = []
    value = raw.get("references")
    if isinstance(value, list):
        for ref in value:
            title = ref.get("title") if isinstance(ref, Mapping) else ref
            if isinstance(title, str) and title.strip():
                refs.append(title)
    bibliography = raw.get("bibliography")
    if isinstance(bibliography, Mapping):
        refs.extend(t for t in (_bibliography_title(e) for e in bibliography.values()) if t)
    return tuple(refs)


def _bibliography_title(entry: object) -> str | None:
    """The title block of a ResearchTown bibliography entry: key, authors, title, venue (blank-line separated)."""
    if not isinstance(entry, str):
        return None
    blocks = [" ".join(b.split()) for b in re.split(r"\n\s*\n", entry) if b.strip()]
    if len(blocks) < 3:
        return None
    title = blocks[2].rstrip(".")
    return title if 10 <= len(title) <= 300 else None


def _paper(raw: _Raw, source: str, area: str | None) -> PaperRecord:
    topics = [*_names(raw, "keywords"), *(t for t in (_text(raw, "domain"), area) if t)]
    return PaperRecord(
        source=source, title=_text(raw, "title") or "", abstract=_text(raw, "abstract"),
        authors=_names(raw, "authors"), year=_year(raw), url=_text(raw, "url"), venue=_text(raw, "venue"),
        topics=tuple(dict.fromkeys(topics)), references=_references(raw),
        review_scores=_numbers(raw, "real_all_scores", "review_scores", "scores"),
        review_confidences=_numbers(raw, "real_confidences", "review_confidences", "confidences"),
        decision=_text(raw, "real_decision", "decision"),
    )


def _researcher(raw: _Raw, source: str, area: str | None) -> ResearcherRecord:
    domains = [*_names(raw, "domain"), *([area] if area else [])]
    titles, abstracts = _names(raw, "pub_titles"), raw.get("pub_abstracts")
    abstracts = abstracts if isinstance(abstracts, list) else []
    publications = tuple(
        PaperRecord(source=f"{source}/pub{i}", title=title,
                    abstract=abstracts[i] if i < len(abstracts) and isinstance(abstracts[i], str) else None)
        for i, title in enumerate(titles)
    )
    return ResearcherRecord(
        source=source, name=_text(raw, "name") or "", bio=_text(raw, "bio"), collaborators=_names(raw, "collaborators"),
        domains=tuple(dict.fromkeys(domains)), institute=_text(raw, "institute"), publications=publications,
    )


def _review(raw: _Raw, source: str) -> ReviewRecord:
    rating = raw.get("rating", raw.get("stars"))
    return ReviewRecord(
        source=source, book_id=_text(raw, "book_id") or _text(raw, *_BOOK_TITLE) or "",
        text=_text(raw, *_REVIEW_TEXT) or "", book_title=_text(raw, *_BOOK_TITLE),
        rating=rating if rating not in (None, "") else None,  # type: ignore[arg-type]  # pydantic parses "4.5"
        user_id=_text(raw, "user_id", "user"), genre=_text(raw, "genre"), book_description=_text(raw, "description"),
    )


@task(name="write-records", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def write_records_task(store_url: str, run_id: str, source: DomainSource) -> tuple[BatchResult, WriteStats]:
    """Merge the nodes and edges the records state (idempotent), before the texts that link to them."""
    result = BatchResult(delta=source.graph.delta(run_id))
    return result, open_flow_store(store_url).upsert(result.delta)
