"""Read a corpus from files and folders into Documents, recording each bad item with its reason.

Supported: ``.txt``/``.md`` (one document per file), ``.json`` (a record, a list of records, or an
object of records keyed by id/title), ``.jsonl`` (one record per line), ``.csv`` (one record per
row). A record's text comes from the first present field among :data:`TEXT_FIELDS` (or the one
named by ``text_field``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from kgweave.agents.sources.readers import (
    SUPPORTED_SUFFIXES,
    LoadFailure,
    LoadOptions,
    csv_records,
    decode_text,
    json_error,
    jsonl_records,
    read_text,
)
from kgweave.graph_store.models import Document, Scalar

__all__ = [
    "SUPPORTED_SUFFIXES",
    "TEXT_FIELDS",
    "InputPathError",
    "LoadFailure",
    "LoadOptions",
    "decode_text",
    "load_corpus",
    "walk_inputs",
]

TEXT_FIELDS = ("text", "abstract", "review", "review_text", "body", "content")
TITLE_FIELDS = ("title", "name", "book_title")
_MAX_METADATA_CHARS = 300


class InputPathError(ValueError):
    """A path given by the user does not exist or cannot be read at all (bad usage: exit 2)."""


def load_corpus(
    paths: Sequence[str | Path], options: LoadOptions | None = None
) -> tuple[list[Document], list[LoadFailure]]:
    """All documents under ``paths`` (files, or folders walked recursively) and the failures.

    Raises
    ------
    InputPathError
        If a path does not exist (checked for every path before anything is read).
    """
    options = options or LoadOptions()
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise InputPathError(f"no such file or directory: {', '.join(missing)}")
    documents: list[Document] = []
    failures: list[LoadFailure] = []
    seen: set[str] = set()
    for file in walk_inputs(paths):
        try:
            for item in _load_file(file, options):
                if isinstance(item, LoadFailure):
                    failures.append(item)
                elif item.id not in seen:
                    seen.add(item.id)
                    documents.append(item)
        except Exception as exc:  # noqa: BLE001 (whatever breaks reading a file, the others are read)
            failures.append(LoadFailure(source=str(file), reason=f"cannot read: {type(exc).__name__}: {exc}"))
    return documents, failures


def walk_inputs(paths: Sequence[str | Path]) -> Iterator[Path]:
    """Every file under ``paths`` (folders walked recursively, in sorted order, hidden entries skipped)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root) / name
        else:
            yield path


def _load_file(path: Path, options: LoadOptions) -> Iterator[Document | LoadFailure]:
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in options.suffixes:
        yield LoadFailure(source=source, reason=f"unsupported file type {suffix or '(none)'!r}")
        return
    try:
        if path.stat().st_size == 0:
            yield LoadFailure(source=source, reason="empty file")
            return
    except OSError as exc:
        yield LoadFailure(source=source, reason=f"cannot read: {exc.strerror or exc}")
        return
    if suffix in (".jsonl", ".csv"):  # streamed record by record
        records = jsonl_records(path, options) if suffix == ".jsonl" else csv_records(path, options)
        for where, record in records:
            yield record if isinstance(record, LoadFailure) else _record(record, where, None, options)
        return
    text = read_text(path, options)
    if isinstance(text, LoadFailure):
        yield text
    elif suffix == ".json":
        yield from _load_json(text, source, options)
    else:
        yield _document(text, source, path.stem, {}, options)


def _document(
    text: str, source: str, title: str | None, metadata: Mapping[str, Scalar], options: LoadOptions
) -> Document | LoadFailure:
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.strip():
        return LoadFailure(source=source, reason="no text (blank)")
    if len(text) > options.max_document_chars:
        return LoadFailure(
            source=source,
            reason=f"document too long ({len(text):,} > {options.max_document_chars:,} characters)",
        )
    return Document.from_text(text, source=source, title=title, metadata=dict(metadata))


def _record(
    record: object, source: str, key: str | None, options: LoadOptions
) -> Document | LoadFailure:
    if not isinstance(record, Mapping):
        return LoadFailure(source=source, reason=f"record is a {type(record).__name__}, not an object")
    fields = (options.text_field,) if options.text_field else TEXT_FIELDS
    text = next((record[f] for f in fields if isinstance(record.get(f), str) and record[f].strip()), None)
    if text is None:
        return LoadFailure(source=source, reason=f"no text in field(s) {', '.join(fields)}")
    title = next((record[f] for f in TITLE_FIELDS if isinstance(record.get(f), str)), key)
    metadata: dict[str, Scalar] = {
        k: (v[:_MAX_METADATA_CHARS] if isinstance(v, str) else v)
        for k, v in record.items()
        if isinstance(k, str) and k not in fields and isinstance(v, str | int | float | bool) and k != "title"
    }
    return _document(text, source, title, metadata, options)


def _load_json(text: str, source: str, options: LoadOptions) -> Iterator[Document | LoadFailure]:
    try:
        data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 (RecursionError, huge integers, ...: this file's failure)
        yield LoadFailure(source=source, reason=json_error(exc))
        return
    if isinstance(data, list):
        for i, record in enumerate(data):
            yield _record(record, f"{source}#{i}", None, options)
    elif isinstance(data, Mapping) and _has_text(data, options):
        yield _record(data, source, None, options)
    elif isinstance(data, Mapping) and data and all(isinstance(v, Mapping) for v in data.values()):
        for key, record in data.items():
            yield _record(record, f"{source}#{key}", str(key), options)
    else:
        yield LoadFailure(source=source, reason="JSON is neither a record, a list of records nor an object of records")


def _has_text(record: Mapping[str, object], options: LoadOptions) -> bool:
    fields = (options.text_field,) if options.text_field else TEXT_FIELDS
    return any(isinstance(record.get(f), str) for f in fields)

