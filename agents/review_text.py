"""Cleaning a reader's review before extraction: markup, links, spoiler tags and truncation marks out.

Scraped Goodreads reviews carry HTML (``<img class="gr-hostedUserImg" src="https://...">``, ``<br />``,
``<a href=... rel="nofollow">``), bare URLs, ``(view spoiler)[ ... (hide spoiler)]`` wrappers and a
"...more" mark where the page cut the text. Left in, their words become actants ("gr-hostedUserImg",
"https", "nofollow"). :func:`clean_review_text` keeps the reader's own words; the original text stays
the review's ``text`` property.
"""

from __future__ import annotations

import html
import re

__all__ = ["clean_review_text"]

_TAG = re.compile(r"<[^<>]{0,2000}>")
_ENTITY_LEFT = re.compile(r"&[a-zA-Z]{2,8};|&#\d{1,6};")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_SPOILER = re.compile(r"\(hide spoiler\)\s*\]?|\(view spoiler\)\s*\[?|\[/?spoilers?\]", re.IGNORECASE)
_TRUNCATION = re.compile(r"\s*(?:\.{3}|\u2026)\s*more\s*$|\s*\.{3}\s*(?:\(?read more\)?|continue reading)\s*$",
                         re.IGNORECASE)
# Attribute and class debris left when a tag was cut before its ">" (a truncated scrape).
_DEBRIS = re.compile(r"<[a-zA-Z][^>]*$|\b(?:class|href|src|rel|alt|width|height)=\S*", re.IGNORECASE)
_SPACE = re.compile(r"[ \t\r\f\v]+")
_SPACE_BEFORE_PUNCT = re.compile(r" ([!?.,;:])")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_BLOCK_TAG = re.compile(r"<\s*(?:br|/p|p|/div|div|li)\b[^>]*>", re.IGNORECASE)


def clean_review_text(text: str) -> str:
    """The review's prose: no HTML/markup, URLs, spoiler wrappers or trailing "...more" mark.

    >>> clean_review_text('Karigan <b>rides</b>!<br /><img class="gr-hostedUserImg" src="https://x/y.jpg"> ...more')
    'Karigan rides!'
    """
    out = _BLOCK_TAG.sub("\n", text)
    out = _TAG.sub(" ", out)
    out = _DEBRIS.sub(" ", out)
    out = html.unescape(out)
    out = _ENTITY_LEFT.sub(" ", out)
    out = _URL.sub(" ", out)
    out = _SPOILER.sub(" ", out)
    out = _TRUNCATION.sub("", out.rstrip())
    out = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACE.sub(" ", out))
    out = _BLANK_LINES.sub("\n\n", out)
    return "\n".join(line.strip() for line in out.split("\n")).strip()
