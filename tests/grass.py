"""A port of Neo4j Browser 5.24's GraSS handling (``parseGrass``, ``GraphStyleModel``, the caption fitting
of ``GraphGeometryModel.formatNodeCaptions``), read in the Browser bundle the launcher serves.

The Browser silently drops what it cannot parse (a comment turns the next property or selector into
garbage) and cuts captions it cannot fit, so the style sheet is checked against these ports.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import cache
from pathlib import Path


def parse_grass(text: str) -> dict[str, dict[str, str]]:
    """Neo4j Browser 5.24's ``parseGrass``: JSON, else its character-level CSS-like parser.

    Ported as is, quirks included: quotes toggle literal mode, a declaration that does not split
    into exactly two parts at ``:`` is dropped, and there are no comments.
    """
    try:
        loaded = json.loads(text)
    except ValueError:
        pass
    else:
        return {str(k): {str(p): str(v) for p, v in props.items()} for k, props in loaded.items()}
    in_quote = in_block = nested = False
    selector = body = ""
    blocks: dict[str, str] = {}
    for ch in text:
        syntax = True
        if ch == "{":
            if in_quote:
                syntax = False
            elif in_block:
                nested = True
            else:
                in_block = True
        elif ch == "}":
            if in_quote:
                syntax = False
            elif nested:
                nested = False
            else:
                in_block = False
                blocks[selector], selector, body = body, "", ""
        elif ch in "'\"":
            in_quote = not in_quote
        else:
            syntax = False
        if not syntax:
            if in_block:
                body += ch
            elif not ch.isspace():
                selector += ch
    rules: dict[str, dict[str, str]] = {}
    for sel, declarations in blocks.items():
        rules[sel] = {}
        for declaration in declarations.split(";"):
            parts = declaration.split(":")
            if len(parts) == 2:
                rules[sel][parts[0].strip()] = parts[1].strip()
    return rules


def resolve(rules: Mapping[str, Mapping[str, str]], tag: str, classes: list[str]) -> dict[str, str]:
    """Browser's ``calculateStyle``: every rule whose classes the element has, in file order, later wins."""
    style: dict[str, str] = {}
    for selector, props in rules.items():
        rule_tag, *rule_classes = selector.split(".")
        if rule_tag == tag and all(c in classes for c in rule_classes):
            style.update(props)
    return style


@cache
def _measure_font() -> object:
    """DejaVu Sans (matplotlib's copy), wider than Arial/Liberation: a caption it fits fits in most browsers."""
    import matplotlib
    from PIL import ImageFont

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), 100)


def text_width(text: str, font_size: float) -> float:
    """Width in px of ``text`` in sans-serif at ``font_size`` px (the canvas ``measureText`` of the Browser)."""
    return float(_measure_font().getlength(text)) * font_size / 100  # type: ignore[attr-defined]


def fit_caption(caption: str, diameter: float, font_size: float) -> tuple[list[str], bool]:
    """The lines Browser draws in a node, and whether the whole caption fits (nothing cut, no "…").

    Browser keeps the first ``floor(r² π / font_size²)`` characters, then tries 1, 2, ... lines
    (at most ``2r / font_size``), each as wide as the circle's chord at its baseline, filling them
    word by word (split at spaces); the first count that holds every word wins, else the last
    count whose lines are all non-empty is drawn with its last word shortened to "…".
    """
    radius = diameter / 2
    kept = caption[: math.floor(radius**2 * math.pi / font_size**2)]
    words = kept.split(" ")
    widths = [text_width(word, font_size) for word in words]
    space = text_width(" ", font_size)

    def fill(count: int) -> tuple[list[str], int]:
        lines, used = [], 0
        for i in range(count):
            baseline = (1 + i - count / 2) * font_size
            offset = baseline - font_size / 2 if i < count / 2 else baseline + font_size / 2
            remaining = 2 * math.sqrt(max(radius**2 - offset**2, 0.0))
            text = ""
            while used < len(words) and widths[used] < remaining - space:
                text, remaining, used = f"{text} {words[used]}", remaining - widths[used] - space, used + 1
            lines.append(text.strip())
        return lines, used

    best: list[str] = []
    for count in range(1, int(2 * radius / font_size) + 1):
        lines, used = fill(count)
        if all(lines):
            best = lines
            if used >= len(words):
                return best, kept == caption
    return best, False
