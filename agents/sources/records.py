"""Structured sources for ``kgweave build --domain D`` where domain D reads records: records -> a RecordGraph.

What a record of each domain looks like, and the graph it makes, is the domain's
:class:`~kgweave.agents.domains.RecordSource` (``agents/domains/``). Here is the reading shared by
every domain: files (JSON object-of-records, list, or one record; JSONL; CSV with ``;``-separated
lists) and data-set folders a domain names (``citeseer``: TEG/TAPE's ``citeseer_texts.txt`` with
``citeseer.cites``, read as papers with ``category`` and ``citeseer_id`` and CITES between them).

A file none of whose records is of the domain's kind is read by the generic loader (its texts are
extracted with the domain's schema, as before); in a file with at least one, every other record is
reported on its own as not of the domain's kind (never a silent switch of the whole file). A bad
record is reported on its own (``file#key``) and never stops the others.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError

from kgweave.agents.domains import RecordSource, get_domain, record_domains
from kgweave.agents.record_graph import RecordGraph, RecordGraphBuilder
from kgweave.agents.sources.citeseer import TEXTS_FILE, citeseer_records
from kgweave.agents.sources.files import InputPathError, LoadFailure, LoadOptions, decode_text, load_corpus, walk_inputs
from kgweave.graph_store.ids import content_id
from kgweave.graph_store.models import Document

__all__ = [
    "DomainSource",
    "domain_fingerprint",
    "load_domain_source",
    "reads_records",
]

_AREA_FILE = re.compile(r"^(?:paper|agent_data)_(.+)$")


class DomainSource(BaseModel):
    """What a structured build reads: its record graph, plain documents, and failures."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    graph: RecordGraph
    documents: list[Document]
    failures: list[LoadFailure]
    records: int


def reads_records(domain: str) -> bool:
    """Whether a build of ``domain`` reads structured records (else it reads plain documents)."""
    return domain in record_domains()


def domain_fingerprint(fingerprint: str, domain: str) -> str:
    """The extraction fingerprint of a structured build (so a plain build's 'done' marks do not skip it)."""
    return content_id("domain-source", fingerprint, domain, _records_of(domain).version)


def load_domain_source(paths: Sequence[str | Path], domain: str, options: LoadOptions | None = None) -> DomainSource:
    """Records of ``domain`` under ``paths`` as one RecordGraph; other files through the generic loader."""
    reader = _records_of(domain)
    options = options or LoadOptions()
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise InputPathError(f"no such file or directory: {', '.join(missing)}")
    records: list[BaseModel] = []
    failures: list[LoadFailure] = []
    plain: list[Path] = []
    files = list(walk_inputs(paths))
    folders = [found for found in (_FOLDER_READERS[name](files) for name in reader.folders) if found is not None]
    for found in folders:
        files = [f for f in files if f.parent not in found.folders]
        failures.extend(found.failures)
    for file in files:
        items = _records(file, options)
        if isinstance(items, LoadFailure):
            failures.append(items)
            continue
        if items is None or not any(_kind(reader, raw) is not None for _, raw in items):
            plain.append(file)
            continue
        area = _area(file)
        for source, raw in items:
            record = _parse(reader, raw, source, area)
            if isinstance(record, LoadFailure):
                failures.append(record)
            else:
                records.append(record)
    documents: list[Document] = []
    if plain:
        documents, plain_failures = load_corpus(plain, options)
        failures.extend(plain_failures)
    graph, count = reader.graph(records), len(records)
    for found in folders:
        graph, count = graph.merged(found.graph), count + found.records
    unique = {d.id: d for d in (*graph.documents, *documents)}
    return DomainSource(graph=graph, documents=list(unique.values()), failures=failures, records=count)


def _records_of(domain: str) -> RecordSource:
    records = get_domain(domain).records if domain in record_domains() else None
    if records is None:
        raise ValueError(f"no structured source for domain {domain!r}; one of {', '.join(record_domains())}")
    unknown = [name for name in records.folders if name not in _FOLDER_READERS]
    if unknown:
        raise ValueError(f"domain {domain!r} names unknown folder formats {unknown}; "
                         f"known: {', '.join(_FOLDER_READERS)}")
    return records


class _FolderGraph(NamedTuple):
    """A data set read as folders: its graph, failures, the folders it consumed, and its record count."""

    graph: RecordGraph
    failures: list[LoadFailure]
    folders: frozenset[Path]
    records: int


def _citeseer_graph(files: Sequence[Path]) -> _FolderGraph | None:
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
    return _FolderGraph(builder.build(), failures, frozenset(f.parent for f in texts), papers)


# Data-set folder formats a domain can name in ``RecordSource.folders``.
_FOLDER_READERS: dict[str, Callable[[Sequence[Path]], _FolderGraph | None]] = {"citeseer": _citeseer_graph}


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
        text = decode_text(file.read_bytes())
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


def _kind(reader: RecordSource, raw: object) -> str | None:
    return reader.kind(raw) if isinstance(raw, Mapping) else None


def _parse(reader: RecordSource, raw: object, source: str, area: str | None) -> BaseModel | LoadFailure:
    if isinstance(raw, LoadFailure):
        return raw
    kind = _kind(reader, raw)
    if kind is None:
        return LoadFailure(source=source, reason=f"record is not {reader.expected}")
    assert isinstance(raw, Mapping)
    try:
        return reader.parse(raw, kind, source, area)
    except (ValidationError, ValueError, TypeError) as exc:
        return LoadFailure(source=source, reason=f"bad {kind} record: {_reason(exc)}")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)

