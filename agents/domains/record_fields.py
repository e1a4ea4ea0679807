"""Reading typed fields out of a raw structured record (a JSON object or a CSV row with ``;``-separated lists)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

__all__ = ["names_of", "numbers_of", "text_of", "year_of"]


def text_of(raw: Mapping[str, object], *fields: str) -> str | None:
    """The first of ``fields`` holding non-blank text (numbers as text); TypeError if one holds a list or object."""
    for name in fields:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str | int | float):
            raise TypeError(f"{name} must be text, not {type(value).__name__}")
        if str(value).strip():
            return str(value).strip()
    return None


def names_of(raw: Mapping[str, object], name: str) -> tuple[str, ...]:
    """A list of names: a JSON list of strings, or one string split on ``;``/``|`` (else on commas)."""
    value = raw.get(name)
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(p.strip() for p in re.split(r"[;|]" if ";" in value or "|" in value else ",", value) if p.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise TypeError(f"{name} must be a list of strings")


def numbers_of(raw: Mapping[str, object], *fields: str) -> tuple[float, ...]:
    """The first of ``fields`` holding a list of numbers (or one string of them)."""
    for name in fields:
        value = raw.get(name)
        if isinstance(value, str):
            value = [v for v in re.split(r"[;,| ]+", value) if v]
        if isinstance(value, list):
            return tuple(float(v) for v in value if not isinstance(v, bool))
    return ()


def year_of(raw: Mapping[str, object]) -> int | None:
    """``year`` (its first four characters), else the year of a Unix ``timestamp``."""
    year = raw.get("year")
    if year not in (None, ""):
        return int(str(year)[:4])
    stamp = raw.get("timestamp")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool) and stamp > 0:
        return datetime.fromtimestamp(stamp, UTC).year
    return None
