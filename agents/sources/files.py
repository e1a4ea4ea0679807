"""Read a corpus from files and folders into Documents, recording each bad item with its reason.

Supported: ``.txt``/``.md`` (one document per file), ``.json`` (a record, a list of records, or an
object of records keyed by id/title), ``.jsonl`` (one record per line), ``.csv`` (one record per
row). A record's text comes from the first present field among :data:`TEXT_FIELDS` (or the one
named by ``text_field``).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

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
SUPPORTED_SUFFIXES = (".txt", ".md", ".json", ".jsonl", ".csv")
_BINARY_SNIFF = 8192
_MAX_METADATA_CHARS = 300


class InputPathError(ValueError):
    """A path given by the user does not exist or cannot be read at all (bad usage: exit 2)."""


class LoadFailure(BaseModel):
    """One file or record that could not become a document, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    reason: str


@dataclass(frozen=True)
class LoadOptions:
    """How to read a corpus."""

    text_field: str | None = None
    max_file_mb: float = 20.0
    max_document_chars: int = 2_000_000
    csv_delimiter: str | None = None
    suffixes: Sequence[str] = field(default=SUPPORTED_SUFFIXES)


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
        for item in _load_file(file, options):
            if isinstance(item, LoadFailure):
                failures.append(item)
            elif item.id not in seen:
                seen.add(item.id)
                documents.append(item)
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
        size = path.stat().st_size
        if size == 0:
            yield LoadFailure(source=source, reason="empty file")
            return
        if size > options.max_file_mb * 1024 * 1024:
            yield LoadFailure(
                source=source,
                reason=f"file too large ({size / 1048576:.1f} MB > {options.max_file_mb:g} MB limit; "
                "raise --max-file-mb or split it)",
            )
            return
        raw = path.read_bytes()
    except OSError as exc:
        yield LoadFailure(source=source, reason=f"cannot read: {exc.strerror or exc}")
        return
    text = decode_text(raw)
    if isinstance(text, LoadFailure):
        yield LoadFailure(source=source, reason=text.reason)
        return
    if suffix in (".txt", ".md"):
        yield _document(text, source, path.stem, {}, options)
    elif suffix == ".json":
        yield from _load_json(text, source, options)
    elif suffix == ".jsonl":
        yield from _load_jsonl(text, source, options)
    else:
        yield from _load_csv(text, source, options)


def decode_text(raw: bytes) -> str | LoadFailure:
    """UTF-8 text (UTF-8/UTF-16 byte-order marks honoured), or why the bytes are not text."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError as exc:
                return LoadFailure(source="", reason=f"invalid {encoding} at byte {exc.start}")
    if b"\x00" in raw[:_BINARY_SNIFF]:
        return LoadFailure(source="", reason="binary file (NUL bytes), not text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LoadFailure(source="", reason=f"invalid UTF-8 at byte {exc.start} (re-encode the file as UTF-8)")


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
    except json.JSONDecodeError as exc:
        yield LoadFailure(source=source, reason=f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
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


def _load_jsonl(text: str, source: str, options: LoadOptions) -> Iterator[Document | LoadFailure]:
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield LoadFailure(source=f"{source}:{lineno}", reason=f"invalid JSON: {exc.msg}")
            continue
        yield _record(record, f"{source}:{lineno}", None, options)


def _load_csv(text: str, source: str, options: LoadOptions) -> Iterator[Document | LoadFailure]:
    csv.field_size_limit(max(options.max_document_chars, 131072) * 4)
    try:
        delimiter = options.csv_delimiter or csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            yield _record(row, f"{source}:{reader.line_num}", None, options)
    except csv.Error as exc:
        yield LoadFailure(source=f"{source}:{reader.line_num}", reason=f"invalid CSV: {exc}")
