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

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError

from kgweave.agents.domains import RecordSource, get_domain, record_domains
from kgweave.agents.record_graph import RecordGraph, RecordGraphBuilder
from kgweave.agents.sources.citeseer import TEXTS_FILE, citeseer_records
from kgweave.agents.sources.files import InputPathError, LoadFailure, LoadOptions, load_corpus, walk_inputs
from kgweave.agents.sources.readers import csv_records, jsonl_records, read_text
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
        read = _read_file(reader, file, options)
        if read is None:
            plain.append(file)
            continue
        records.extend(read.records)
        failures.extend(read.failures)
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


class _FileRecords(NamedTuple):
    """A file's records of the domain and its failures."""

    records: list[BaseModel]
    failures: list[LoadFailure]


def _read_file(reader: RecordSource, file: Path, options: LoadOptions) -> _FileRecords | None:
    """A JSON/JSONL/CSV file's records of the domain, in one streamed pass; None if it holds none.

    Each record is judged on its own: one of the domain's kind is parsed, any other is that record's
    failure. A file with no record of the kind (or not a record file) is None: the generic loader
    reads it as texts and reports what it cannot read.
    """
    parsed: list[BaseModel] = []
    failures: list[LoadFailure] = []
    others: list[str] = []
    of_kind = 0
    area = _area(file)
    try:
        for source, raw in _records(file, options):
            if isinstance(raw, LoadFailure):
                failures.append(raw)
            elif _kind(reader, raw) is None:
                others.append(source)  # a failure only if the file turns out to hold the domain's records
            else:
                of_kind += 1
                record = _parse(reader, raw, source, area)
                if isinstance(record, LoadFailure):
                    failures.append(record)
                else:
                    parsed.append(record)
    except Exception as exc:  # noqa: BLE001 (whatever breaks reading this file, the others are read)
        failures.append(LoadFailure(source=str(file), reason=f"cannot read: {type(exc).__name__}: {exc}"))
    if not of_kind:
        return None
    failures.extend(LoadFailure(source=source, reason=f"record is not {reader.expected}") for source in others)
    return _FileRecords(parsed, failures)


def _records(file: Path, options: LoadOptions) -> Iterator[tuple[str, object]]:
    """(source, raw record or LoadFailure) of a JSON/JSONL/CSV file, JSONL and CSV streamed."""
    suffix, source = file.suffix.lower(), str(file)
    if suffix == ".jsonl":
        yield from jsonl_records(file, options)
        return
    if suffix == ".csv":
        for where, row in csv_records(file, options):
            yield where, row if not isinstance(row, Mapping) else {k: v for k, v in row.items() if k and v}
        return
    if suffix != ".json":
        return
    text = read_text(file, options)
    if isinstance(text, LoadFailure):
        return  # the generic loader reports it
    try:
        data = json.loads(text)
    except Exception:  # noqa: BLE001 (the generic loader reports where and why the JSON breaks)
        return
    if isinstance(data, list):
        yield from ((f"{source}#{i}", item) for i, item in enumerate(data))
    elif isinstance(data, Mapping) and data and all(isinstance(v, Mapping) for v in data.values()):
        yield from ((f"{source}#{key}", item) for key, item in data.items())
    else:
        yield source, data


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
    except Exception as exc:  # noqa: BLE001 (a record that breaks its parser is that record's failure)
        return LoadFailure(source=source, reason=f"bad {kind} record: {_reason(exc)}")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)

