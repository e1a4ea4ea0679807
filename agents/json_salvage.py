"""The complete part of a JSON answer cut at the token limit.

A model that runs out of completion tokens stops mid-string: ``{"entities": [{"name": "A"}, {"na``.
Every array element written in full before the cut is as good as in a finished answer, so
:func:`complete_prefixes` yields the answer cut back to each earlier complete array element (latest
first), with the open containers closed. The caller validates them in turn against its schema and
keeps the first that passes; the answer is then marked salvaged (see ``agents/llm_client.py``).

Hand-written rather than taken from ``json_repair`` (considered): that library completes the broken
last element with made-up values (``{"na": ""}``), where dropping it is what keeps an answer honest.

Examples
--------
>>> next(complete_prefixes('{"entities": [{"name": "A", "type": "x"}, {"name": "B", "ty'))
'{"entities": [{"name": "A", "type": "x"}]}'
>>> list(complete_prefixes('{"a": [1, 2, [3, 4'))
['{"a": [1, 2, [3]]}', '{"a": [1, 2]}', '{"a": [1]}']
>>> list(complete_prefixes('{"a": "no array"'))
[]
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["complete_prefixes"]

_CLOSER = {"{": "}", "[": "]"}
MAX_PREFIXES = 8  # candidates tried, latest first


def complete_prefixes(text: str, limit: int = MAX_PREFIXES) -> Iterator[str]:
    """``text`` cut after each complete array element, latest first, with its open containers closed."""
    cuts: list[tuple[int, str]] = []  # (end of a complete element, the closers needed there)
    stack: list[str] = []
    in_string = escaped = False
    element_started = False  # inside the innermost array, a value has begun since its last comma
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
            element_started = True
        elif char in "{[":
            stack.append(char)
            element_started = char == "{"  # an object is the element of its parent; a new array is empty so far
        elif char in "}]":
            if not stack:
                return
            stack.pop()
            if stack and stack[-1] == "[":
                cuts.append((index + 1, _closers(stack)))
            element_started = True
        elif char == "," and stack and stack[-1] == "[":
            if element_started and (not cuts or cuts[-1][0] < index):
                cuts.append((index, _closers(stack)))  # a scalar element ended at this comma
            element_started = False
        elif not char.isspace():
            element_started = True
    if not stack:
        return  # nothing was cut: the answer is whole (and invalid for another reason)
    for end, closers in list(reversed(cuts))[:limit]:
        yield text[:end].rstrip().rstrip(",") + closers


def _closers(stack: list[str]) -> str:
    return "".join(_CLOSER[c] for c in reversed(stack))
