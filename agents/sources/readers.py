"""Read JSON, JSONL and CSV files into raw records, one bad record never stopping the others.

JSONL and CSV are streamed record by record (memory bounded by ``--max-record-mb``, whatever the
file's size); ``.json`` and plain text are whole documents, read at most ``--max-file-mb``. Every
exception while reading or parsing an item (decoding, nesting deeper than Python's recursion
limit, an oversized CSV field, ...) becomes that item's :class:`LoadFailure`.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ConfigDict

__all__ = [
    "SUPPORTED_SUFFIXES",
    "LoadFailure",
    "LoadOptions",
    "csv_records",
    "decode_text",
    "json_error",
    "jsonl_records",
    "read_text",
]

SUPPORTED_SUFFIXES = (".txt", ".md", ".json", ".jsonl", ".csv")
_BINARY_SNIFF = 8192
_MB = 1024 * 1024
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


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
    max_record_mb: float = 20.0
    max_document_chars: int = 2_000_000
    csv_delimiter: str | None = None
    suffixes: Sequence[str] = field(default=SUPPORTED_SUFFIXES)


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


def read_text(path: Path, options: LoadOptions) -> str | LoadFailure:
    """A whole-document file as text, or why not (too large for ``--max-file-mb``, unreadable, not text)."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size == 0:
            return LoadFailure(source=source, reason="empty file")
        if size > options.max_file_mb * _MB:
            return LoadFailure(source=source, reason=f"file too large ({size / _MB:.1f} MB > {options.max_file_mb:g} "
                                                     "MB limit; raise --max-file-mb or split it)")
        text = decode_text(path.read_bytes())
    except OSError as exc:
        return LoadFailure(source=source, reason=f"cannot read: {exc.strerror or exc}")
    return LoadFailure(source=source, reason=text.reason) if isinstance(text, LoadFailure) else text


def json_error(exc: Exception, *, line: int | None = None) -> str:
    """Why a JSON text did not parse, with line and column where the parser knows them."""
    if isinstance(exc, json.JSONDecodeError):
        where = f"column {exc.colno}" if line is not None else f"line {exc.lineno} column {exc.colno}"
        return f"invalid JSON at {where}: {exc.msg}"
    if isinstance(exc, RecursionError):
        return "invalid JSON: nested deeper than the parser's recursion limit"
    return f"invalid JSON: {type(exc).__name__}: {exc}"


def jsonl_records(path: Path, options: LoadOptions) -> Iterator[tuple[str, object]]:
    """``(file:line, record or LoadFailure)`` for every non-blank line, read one line at a time."""
    source = str(path)
    for lineno, line in _jsonl_lines(path, options):
        where = f"{source}:{lineno}"
        if isinstance(line, LoadFailure):
            yield where, line.model_copy(update={"source": where})
            continue
        if not line.strip():
            continue
        try:
            yield where, json.loads(line)
        except Exception as exc:  # noqa: BLE001 (any parse error is this record's failure)
            yield where, LoadFailure(source=where, reason=json_error(exc, line=lineno))


def csv_records(path: Path, options: LoadOptions) -> Iterator[tuple[str, object]]:
    """``(file:line, row as a header->value mapping or LoadFailure)`` for every row, read one row at a time.

    A row's source is the line it starts on. A row with a field over ``--max-record-mb``, or with
    bytes that are not UTF-8, is that row's failure; the rows after it are read.
    """
    source = str(path)
    try:
        with path.open("rb") as raw:
            whole = _not_streamed(raw, path, options)
            if isinstance(whole, LoadFailure):
                yield source, whole
            elif whole is not None:
                yield from _csv_rows(io.StringIO(whole, newline=""), source, options)
            else:
                # surrogateescape: a bad byte fails its own row (checked there), not the rest of the file
                stream = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
                yield from _csv_rows(stream, source, options)
    except OSError as exc:
        yield source, LoadFailure(source=source, reason=f"cannot read: {exc.strerror or exc}")


def _not_streamed(fh: IO[bytes], path: Path, options: LoadOptions) -> str | LoadFailure | None:
    """None if ``fh`` can be streamed (rewound); else a UTF-16 file's whole text, or why it is not text."""
    head = fh.read(_BINARY_SNIFF)
    if head.startswith(_UTF16_BOMS):  # rare: decoded whole, within --max-file-mb
        return read_text(path, options)
    if b"\x00" in head:
        return LoadFailure(source=str(path), reason="binary file (NUL bytes), not text")
    fh.seek(0)
    return None


def _record_limit(options: LoadOptions) -> int:
    return max(int(options.max_record_mb * _MB), 1)


def _too_large(size: int, options: LoadOptions) -> str:
    return (f"record too large ({size / _MB:.1f} MB > {options.max_record_mb:g} MB limit; "
            "raise --max-record-mb)")


def _jsonl_lines(path: Path, options: LoadOptions) -> Iterator[tuple[int, str | LoadFailure]]:
    source = str(path)
    try:
        with path.open("rb") as fh:
            whole = _not_streamed(fh, path, options)
            if isinstance(whole, LoadFailure):
                yield 0, whole
                return
            if whole is not None:
                yield from enumerate(whole.splitlines(), start=1)
                return
            for lineno, (line, size) in enumerate(_bounded_lines(fh, _record_limit(options)), start=1):
                if line is None:
                    yield lineno, LoadFailure(source=source, reason=_too_large(size, options))
                    continue
                if lineno == 1 and line.startswith(codecs.BOM_UTF8):
                    line = line[len(codecs.BOM_UTF8):]
                try:
                    yield lineno, line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield lineno, LoadFailure(source=source, reason=f"invalid UTF-8 at byte {exc.start} of the line")
    except OSError as exc:
        yield 0, LoadFailure(source=source, reason=f"cannot read: {exc.strerror or exc}")


def _bounded_lines(fh: IO[bytes], limit: int) -> Iterator[tuple[bytes | None, int]]:
    """Each line with its size; None for a line over ``limit`` bytes, skipped without holding it."""
    while line := fh.readline(limit + 1):
        if len(line) <= limit or line.endswith(b"\n"):
            yield (line if len(line) <= limit else None), len(line)
            continue
        size = len(line)
        while line and not line.endswith(b"\n"):
            line = fh.readline(_MB)
            size += len(line)
        yield None, size


def _csv_rows(lines: Iterable[str], source: str, options: LoadOptions) -> Iterator[tuple[str, object]]:
    limit = _record_limit(options)
    csv.field_size_limit(limit)
    if options.csv_delimiter:
        delimiter = options.csv_delimiter
    else:
        lines = iter(lines)
        sample = [line for _, line in zip(range(50), lines, strict=False)]
        try:
            delimiter = csv.Sniffer().sniff("".join(sample)[:4096], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
        lines = itertools.chain(sample, lines)
    reader = csv.reader(lines, delimiter=delimiter)
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = f"invalid CSV: {exc}" + ("; raise --max-record-mb" if "field limit" in str(exc) else "")
            yield f"{source}:{start}", LoadFailure(source=f"{source}:{start}", reason=reason)
            if reader.line_num < start:  # nothing consumed: stop rather than loop
                return
            continue
        where = f"{source}:{start}"
        if header is None:
            header = row
            continue
        if not row:
            continue
        size = sum(len(value) for value in row)
        if size > limit:
            yield where, LoadFailure(source=where, reason=_too_large(size, options))
            continue
        try:
            "".join(row).encode("utf-8")
        except UnicodeEncodeError:
            yield where, LoadFailure(source=where, reason="invalid UTF-8 in this row (re-encode the file as UTF-8)")
            continue
        yield where, dict(zip(header, row, strict=False))

