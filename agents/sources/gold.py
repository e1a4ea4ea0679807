"""Gold annotations for ``kgweave eval extraction``: texts with entity spans and relations (pure parsing).

Two formats:

- ``dygie``: the DyGIE format of SciERC, SciER and most scientific-IE sets. One JSON document a line
  with ``doc_key`` (or ``doc_id``), ``sentences`` (lists of tokens), ``ner`` (per sentence,
  ``[start, end, type]`` with document-level *inclusive* token indices) and ``relations`` (per
  sentence, ``[s1, e1, s2, e2, type]``). The document's text is its tokens joined by single spaces,
  sentences joined by a single space too, so every token span is an exact character span.
- ``triples``: a CSV (with a header) or JSONL of ``text_id, head, relation, tail`` with optional
  ``head_start, head_end, tail_start, tail_end`` (character offsets, end exclusive) and ``text``. A
  text is given by the ``text`` column/field of any of its rows (the others may leave it empty; two
  different texts for one id are an error). Without offsets an argument is the first occurrence of its
  string in the text (case-sensitive). The gold entities are the relations' arguments (untyped).

A bad line is reported as one :class:`GoldLineError` and skipped; the other lines are read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "GOLD_FORMATS",
    "GoldDocument",
    "GoldEntity",
    "GoldLineError",
    "GoldRelation",
    "GoldSet",
    "parse_dygie",
    "parse_gold",
    "parse_triples",
]

GoldFormat = Literal["dygie", "triples"]
GOLD_FORMATS: tuple[str, ...] = ("dygie", "triples")
UNTYPED = "untyped"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GoldEntity(_Frozen):
    """A gold entity mention: characters ``[start, end)`` of its document's text."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    type: str = UNTYPED


class GoldRelation(_Frozen):
    """A gold relation between two argument spans (``head`` -> ``tail`` as annotated)."""

    head: GoldEntity
    tail: GoldEntity
    type: str


class GoldDocument(_Frozen):
    """One gold text with its entity mentions and relations."""

    key: str
    text: str
    entities: tuple[GoldEntity, ...]
    relations: tuple[GoldRelation, ...]


class GoldLineError(_Frozen):
    """A line of the gold file that could not be read (it is skipped)."""

    line: int
    reason: str


class GoldSet(_Frozen):
    """What a gold file holds: its documents and the lines that were skipped."""

    documents: tuple[GoldDocument, ...]
    errors: tuple[GoldLineError, ...] = ()


class _BadLine(ValueError):
    pass


def parse_gold(text: str, fmt: str, *, name: str = "gold") -> GoldSet:
    """Parse a gold file's text in format ``fmt`` (``dygie`` or ``triples``); ``name`` tells CSV from JSONL."""
    if fmt == "dygie":
        return parse_dygie(text)
    if fmt == "triples":
        return parse_triples(text, csv_format=not name.lower().endswith((".jsonl", ".json", ".ndjson")))
    raise ValueError(f"unknown gold format {fmt!r}; choose one of: {', '.join(GOLD_FORMATS)}")


# -- dygie -------------------------------------------------------------------------------------------

def parse_dygie(text: str) -> GoldSet:
    """Documents of a DyGIE JSONL file; see the module docstring for the format."""
    documents: list[GoldDocument] = []
    errors: list[GoldLineError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append(_dygie_document(line))
        except _BadLine as exc:
            errors.append(GoldLineError(line=number, reason=str(exc)))
    return GoldSet(documents=tuple(documents), errors=tuple(errors))


def _dygie_document(line: str) -> GoldDocument:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _BadLine(f"not JSON: {exc.msg}") from exc
    if not isinstance(row, dict):
        raise _BadLine("not a JSON object")
    key = row.get("doc_key", row.get("doc_id"))
    sentences = row.get("sentences")
    if key is None:
        raise _BadLine("no doc_key or doc_id")
    if not isinstance(sentences, list) or not all(
        isinstance(s, list) and all(isinstance(t, str) and t for t in s) for s in sentences
    ):
        raise _BadLine("sentences must be lists of non-empty token strings")
    tokens = [token for sentence in sentences for token in sentence]
    starts: list[int] = []
    position = 0
    for token in tokens:
        starts.append(position)
        position += len(token) + 1
    text = " ".join(tokens)

    def span(first: object, last: object, what: str) -> tuple[int, int]:
        if not (isinstance(first, int) and isinstance(last, int) and 0 <= first <= last < len(tokens)):
            raise _BadLine(f"{what}: token span [{first}, {last}] outside the document's {len(tokens)} tokens")
        return starts[first], starts[last] + len(tokens[last])

    entities: dict[tuple[int, int], GoldEntity] = {}
    for item in _per_sentence(row.get("ner", []), len(sentences), "ner"):
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[2], str)):
            raise _BadLine(f"ner entry {item!r} is not [start, end, type]")
        start, end = span(item[0], item[1], "ner")
        entities.setdefault((start, end), GoldEntity(start=start, end=end, type=item[2]))
    relations: list[GoldRelation] = []
    for item in _per_sentence(row.get("relations", []), len(sentences), "relations"):
        if not (isinstance(item, list) and len(item) == 5 and isinstance(item[4], str)):
            raise _BadLine(f"relation entry {item!r} is not [s1, e1, s2, e2, type]")
        head, tail = span(item[0], item[1], "relation"), span(item[2], item[3], "relation")
        relations.append(GoldRelation(head=entities.get(head) or GoldEntity(start=head[0], end=head[1]),
                                      tail=entities.get(tail) or GoldEntity(start=tail[0], end=tail[1]),
                                      type=item[4]))
    return GoldDocument(key=str(key), text=text, entities=tuple(sorted(entities.values(), key=_at)),
                        relations=tuple(relations))


def _per_sentence(value: object, sentences: int, field: str) -> Iterable[object]:
    if not isinstance(value, list) or len(value) not in (0, sentences) or not all(isinstance(v, list) for v in value):
        raise _BadLine(f"{field} must be one list per sentence ({sentences})")
    return (item for per_sentence in value for item in per_sentence)


def _at(entity: GoldEntity) -> tuple[int, int]:
    return entity.start, entity.end


# -- triples -----------------------------------------------------------------------------------------

_REQUIRED = ("text_id", "head", "relation", "tail")
_OFFSETS = ("head_start", "head_end", "tail_start", "tail_end")


def parse_triples(text: str, *, csv_format: bool = True) -> GoldSet:
    """Documents of a triples CSV (``csv_format``) or JSONL file; see the module docstring for the format."""
    errors: list[GoldLineError] = []
    rows: list[tuple[int, dict[str, object]]] = []
    if csv_format:
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            return GoldSet(documents=(), errors=(GoldLineError(line=1, reason=f"header lacks {', '.join(missing)}"),))
        for row in reader:
            if None in row:
                errors.append(GoldLineError(line=reader.line_num, reason="more fields than the header"))
            else:
                rows.append((reader.line_num, {k: v for k, v in row.items() if v not in (None, "")}))
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(GoldLineError(line=number, reason=f"not JSON: {exc.msg}"))
                continue
            if not isinstance(value, dict):
                errors.append(GoldLineError(line=number, reason="not a JSON object"))
            else:
                rows.append((number, {k: v for k, v in value.items() if v not in (None, "")}))
    texts: dict[str, str] = {}
    conflicting: set[int] = set()
    for number, row in rows:
        key, body = str(row.get("text_id", "")), row.get("text")
        if key and isinstance(body, str) and texts.setdefault(key, body) != body:
            errors.append(GoldLineError(line=number, reason=f"a second, different text for text_id {key!r}"))
            conflicting.add(number)
    entities: dict[str, dict[tuple[int, int], GoldEntity]] = {}
    relations: dict[str, list[GoldRelation]] = {}
    for number, row in rows:
        if number in conflicting:
            continue
        try:
            key, relation = _triple(row, texts)
        except _BadLine as exc:
            errors.append(GoldLineError(line=number, reason=str(exc)))
            continue
        for arg in (relation.head, relation.tail):
            entities.setdefault(key, {})[_at(arg)] = arg
        relations.setdefault(key, []).append(relation)
    documents = tuple(GoldDocument(key=key, text=texts[key], entities=tuple(sorted(entities[key].values(), key=_at)),
                                   relations=tuple(relations[key])) for key in relations)
    return GoldSet(documents=documents, errors=tuple(sorted(errors, key=lambda e: e.line)))


def _triple(row: dict[str, object], texts: dict[str, str]) -> tuple[str, GoldRelation]:
    missing = [c for c in _REQUIRED if not isinstance(row.get(c), str | int) or not str(row.get(c)).strip()]
    if missing:
        raise _BadLine(f"missing {', '.join(missing)}")
    key = str(row["text_id"])
    if key not in texts:
        raise _BadLine(f"no text for text_id {key!r} (give it in the text column/field of one of its rows)")
    text = texts[key]
    given = [c for c in _OFFSETS if c in row]
    if given and len(given) != len(_OFFSETS):
        raise _BadLine(f"give all of {', '.join(_OFFSETS)} or none")
    args = []
    for side in ("head", "tail"):
        surface = str(row[side])
        if given:
            try:
                start, end = int(str(row[f"{side}_start"])), int(str(row[f"{side}_end"]))
            except ValueError as exc:
                raise _BadLine(f"{side} offsets are not integers") from exc
            if not (0 <= start < end <= len(text)) or text[start:end] != surface:
                raise _BadLine(f"{side} {surface!r} is not the text at [{start}, {end})")
        else:
            start = text.find(surface)
            if start < 0:
                raise _BadLine(f"{side} {surface!r} does not occur in text {key!r}")
            end = start + len(surface)
        args.append(GoldEntity(start=start, end=end))
    return key, GoldRelation(head=args[0], tail=args[1], type=str(row["relation"]))
