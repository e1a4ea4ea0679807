"""Neo4j Browser links: the Browser address of a store, and links that open a ready query in its editor.

The ready queries are those of ``deploy/neo4j/queries.cypher`` (shipped with the package): each has
a table version (``<key>``) and a picture version (``<key>-picture``). Run summaries link to them
with their parameters written into the query (:func:`with_parameters`), so one click opens Browser
with the query ready to run. Standard library only; every function is a pure string builder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlsplit

from kgweave.deploy.neo4j_server import default_http_port

__all__ = [
    "BOLT_SCHEMES",
    "QUERIES_FILE",
    "ReadyQuery",
    "browser_link",
    "browser_url",
    "cypher_literal",
    "parse_ready_queries",
    "query_links_markdown",
    "ready_queries",
    "with_parameters",
]

QUERIES_FILE = Path(__file__).parent / "neo4j" / "queries.cypher"
BOLT_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
PICTURE_SUFFIX = "-picture"
_NAME_MARKER = re.compile(r"^// name: ([a-z][a-z0-9-]*)[ \t]*$", re.M)
_PARAMS_LINE = re.compile(r"^// :params (\{.*\})[ \t]*$", re.M)
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

ParameterValue = str | int | float | bool | None


@dataclass(frozen=True)
class ReadyQuery:
    """One query of queries.cypher: its name, its ``:params`` map literal, its comment and its Cypher."""

    name: str
    params: str
    about: str
    text: str

    @property
    def is_picture(self) -> bool:
        """True for the ``<key>-picture`` versions, which return paths only."""
        return self.name.endswith(PICTURE_SUFFIX)

    @property
    def headline(self) -> str:
        """What the query answers, in a few words: its comment's first sentence, up to a ": " outside brackets."""
        sentence, depth = self.about.split(". ")[0].rstrip("."), 0
        for i, ch in enumerate(sentence):
            depth += (ch == "(") - (ch == ")")
            if depth == 0 and sentence.startswith(": ", i):
                return sentence[:i]
        return sentence

    @property
    def parameters(self) -> set[str]:
        """The ``$names`` the query uses."""
        return set(_PARAMETER.findall(self.text))


def parse_ready_queries(text: str) -> dict[str, ReadyQuery]:
    """Split queries.cypher at ``// name: <key>`` lines; comment lines are dropped, the final ``;`` too.

    Raises ValueError for a name used twice, a query without its ``// :params`` line, or a body
    that is not one statement ending in ``;``.
    """
    parts = _NAME_MARKER.split(text)
    queries: dict[str, ReadyQuery] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        params = _PARAMS_LINE.search(body)
        lines = body.strip().splitlines()
        cypher = "\n".join(line for line in lines if not line.lstrip().startswith("//")).strip()
        if name in queries or params is None or not cypher.endswith(";") or cypher.count(";") != 1:
            raise ValueError(f"query {name!r}: needs a name used once, a '// :params {{...}}' line "
                             "and one statement ending in ';'")
        about = " ".join(line[2:].strip() for line in lines if line.startswith("//") and not _PARAMS_LINE.match(line))
        queries[name] = ReadyQuery(name, params.group(1), about, cypher.rstrip(";").rstrip())
    return queries


@cache
def ready_queries() -> dict[str, ReadyQuery]:
    """The ready queries of the packaged ``deploy/neo4j/queries.cypher``, by name."""
    return parse_ready_queries(QUERIES_FILE.read_text(encoding="utf-8"))


def browser_url(store_url: str, http_port: int | None = None) -> str | None:
    """``http://HOST:PORT/browser/`` of the Neo4j server behind a Bolt store URL; None for other stores.

    The host is the Bolt URL's; the port is ``http_port``, else the launcher's setting
    (``KGWEAVE_NEO4J_HTTP_PORT``, 7474). A TLS scheme (``bolt+s``, ``neo4j+s``...) gives ``https``.
    """
    parts = urlsplit(store_url)
    if parts.scheme not in BOLT_SCHEMES or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    scheme = "https" if "+" in parts.scheme else "http"
    return f"{scheme}://{host}:{http_port if http_port is not None else default_http_port()}/browser/"


def browser_link(browser: str, query: str) -> str:
    """A link that opens Neo4j Browser at ``browser`` with ``query`` in its editor (``?cmd=edit&arg=...``)."""
    compact = "\n".join(line.strip() for line in query.splitlines())  # indentation only lengthens the URL
    return f"{browser}?cmd=edit&arg={quote(compact, safe='')}"


def cypher_literal(value: ParameterValue) -> str:
    """``value`` as a Cypher literal: strings in single quotes with ``\\`` and ``'`` escaped."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def with_parameters(query: ReadyQuery, values: Mapping[str, ParameterValue]) -> str:
    """The query with each ``$name`` replaced by its literal: ``values``, else the query's ``:params`` default.

    Raises KeyError when a parameter has neither.
    """
    defaults = _map_literal(query.params)

    def literal(match: re.Match[str]) -> str:
        name = match.group(1)
        return cypher_literal(values[name]) if name in values else defaults[name]

    return _PARAMETER.sub(literal, query.text)


def _map_literal(text: str) -> dict[str, str]:
    """``{name: 'x', limit: 25}`` -> ``{"name": "'x'", "limit": "25"}`` (the literals as written)."""
    found = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*:\s*('(?:[^'\\]|\\.)*'|[^,}]+)", text.strip()[1:-1])
    return {name: value.strip() for name, value in found}


def query_links_markdown(
    store_url: str, names: Sequence[str], values: Mapping[str, ParameterValue] | None = None,
    http_port: int | None = None,
) -> str:
    """Markdown for a run summary: each named ready query as a "table" and a "picture" link that opens it
    in the Browser of ``store_url`` with ``values`` filled in; "" for a store Browser cannot open."""
    browser = browser_url(store_url, http_port)
    if browser is None:
        return ""
    queries = ready_queries()
    rows = []
    for name in names:
        table, picture = queries[name], queries[name + PICTURE_SUFFIX]
        links = " · ".join(f"[{kind}]({browser_link(browser, with_parameters(query, values or {}))})"
                           for kind, query in (("table", table), ("picture", picture)))
        rows.append(f"- `{name}`: {links}. {table.headline}.")
    return (f"Explore in [Neo4j Browser]({browser}) (style sheet `deploy/neo4j/style.grass`; for pictures, "
            "turn off \"Connect result nodes\" in Browser's settings):\n\n" + "\n".join(rows) + "\n")
