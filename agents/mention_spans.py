"""Which two mentions a relation observation connects: mention-level provenance for extracted relations.

An extractor that knows the spans it paired sets ``source_start``..``target_end`` on its relations
itself; for the others (the offline and LLM extractors today) :func:`with_mention_spans` picks them
from the mentions the extractor produced in the same chunk: the nearest pair of a mention of the
source and one of the target, inside the relation's evidence sentence when the chunk holds it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence

from kgweave.graph_store.models import Chunk, Mention, Relation

__all__ = ["nearest_pair", "with_mention_spans"]

_WORD = re.compile(r"\S+")


def nearest_pair(first: Sequence[Mention], second: Sequence[Mention]) -> tuple[Mention, Mention] | None:
    """The pair (one of ``first``, one of ``second``, distinct spans) with the smallest gap, then earliest.

    The gap is the number of characters between the two spans (negative when they overlap).
    O(|first| * |second|).
    """
    pairs = [(x, y) for x in first for y in second if (x.start, x.end) != (y.start, y.end)]
    if not pairs:
        return None
    return min(pairs, key=lambda p: (max(p[0].start, p[1].start) - min(p[0].end, p[1].end),
                                     min(p[0].start, p[1].start), p[0].start))


def with_mention_spans(relations: Iterable[Relation], mentions: Iterable[Mention],
                       chunks: Iterable[Chunk]) -> list[Relation]:
    """``relations`` with the spans of the two mentions each observation connects, where they can be told.

    A relation that already names its spans, has no evidence chunk, or lacks a mention of either end
    in that chunk is returned unchanged. O(M + C + R * k^2) for M mentions, C characters of the chunks
    holding evidence, and R relations whose ends have k mentions in the chunk, plus one substring search
    of each distinct evidence text in its chunk.
    """
    chunk_of = {c.id: c for c in chunks}
    in_chunk: dict[tuple[str, str], list[Mention]] = {}
    for m in mentions:
        in_chunk.setdefault((m.chunk_id, m.entity_id), []).append(m)
    regions: dict[tuple[str, str], tuple[int, int] | None] = {}
    collapsed: dict[str, _Collapsed] = {}
    result = []
    for rel in relations:
        chunk = chunk_of.get(rel.chunk_id or "")
        if rel.mention_spans is not None or chunk is None:
            result.append(rel)
            continue
        first = in_chunk.get((chunk.id, rel.source_id), [])
        second = in_chunk.get((chunk.id, rel.target_id), [])
        if rel.evidence:
            key = (chunk.id, rel.evidence)
            if key not in regions:
                if chunk.id not in collapsed:
                    collapsed[chunk.id] = _Collapsed(chunk)
                regions[key] = collapsed[chunk.id].find(rel.evidence)
            region = regions[key]
            if region is not None:
                inside = ([m for m in first if region[0] <= m.start and m.end <= region[1]],
                          [m for m in second if region[0] <= m.start and m.end <= region[1]])
                if inside[0] and inside[1]:
                    first, second = inside
        pair = nearest_pair(first, second)
        if pair is None:
            result.append(rel)
            continue
        source, target = pair
        result.append(rel.model_copy(update={
            "source_start": source.start, "source_end": source.end,
            "target_start": target.start, "target_end": target.end,
        }))
    return result


class _Collapsed:
    """A chunk's text with each run of whitespace made one space, mapped back to document offsets."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        self._text: str | None = None
        self._starts: list[int] = []  # where each word starts in the collapsed text
        self._origins: list[int] = []  # and in the document

    def find(self, evidence: str) -> tuple[int, int] | None:
        """Document offsets of the first place the chunk holds ``evidence`` (whitespace-insensitive), or None."""
        needle = " ".join(evidence.split())
        if not needle:
            return None
        at = self.chunk.text.find(needle)  # usual case: the sentence is written with single spaces
        if at >= 0:
            return self.chunk.start + at, self.chunk.start + at + len(needle)
        if self._text is None:
            words = [(m.start(), m.group()) for m in _WORD.finditer(self.chunk.text)]
            self._text = " ".join(w for _, w in words)
            position = 0
            for start, word in words:
                self._starts.append(position)
                self._origins.append(self.chunk.start + start)
                position += len(word) + 1
        at = self._text.find(needle)
        return None if at < 0 else (self._offset(at), self._offset(at + len(needle) - 1) + 1)

    def _offset(self, at: int) -> int:
        """The document offset of a character (not a space) of the collapsed text."""
        word = bisect_right(self._starts, at) - 1
        return self._origins[word] + at - self._starts[word]
