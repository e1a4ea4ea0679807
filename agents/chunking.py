"""Split documents into chunks at paragraph/sentence boundaries, keeping exact offsets."""

from __future__ import annotations

import re

from kgweave.graph_store.models import Chunk, Document

__all__ = ["DEFAULT_CHUNK_CHARS", "chunk_document"]

DEFAULT_CHUNK_CHARS = 2000
# A boundary: after a paragraph break, or after sentence punctuation followed by whitespace.
_BOUNDARY = re.compile(r"\n\s*\n|(?<=[.!?])[\"')\]]?\s+")


def chunk_document(doc: Document, max_chars: int = DEFAULT_CHUNK_CHARS) -> list[Chunk]:
    """Chunks of at most ``max_chars`` covering the document's non-blank text, in order.

    Cuts fall on paragraph or sentence boundaries; a sentence longer than ``max_chars`` is cut at
    the last whitespace before the limit (or hard at the limit). Leading/trailing whitespace of a
    chunk is left out of its span, so ``chunk.text == doc.text[chunk.start:chunk.end]`` is never blank.

    Notes
    -----
    Linear in the document length.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    text = doc.text
    spans: list[tuple[int, int]] = []
    start = 0
    last_cut = 0
    for match in _BOUNDARY.finditer(text):
        cut = match.end()
        if cut - start > max_chars and last_cut > start:
            spans.append((start, last_cut))
            start = last_cut
        last_cut = cut
    if len(text) - start > max_chars and last_cut > start:
        spans.append((start, last_cut))
        start = last_cut
    spans.append((start, len(text)))

    chunks: list[Chunk] = []
    for span_start, span_end in spans:
        for s, e in _hard_split(text, span_start, span_end, max_chars):
            s, e = _strip(text, s, e)
            if e > s:
                chunks.append(Chunk.of(doc, len(chunks), s, e))
    return chunks


def _hard_split(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    pieces = []
    while end - start > max_chars:
        limit = start + max_chars
        space = text.rfind(" ", start + max_chars // 2, limit)
        cut = space + 1 if space > start else limit
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
