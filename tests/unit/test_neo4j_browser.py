"""Browser links and the ready queries of deploy/neo4j/queries.cypher, as strings (no Neo4j)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from kgweave.deploy.neo4j_browser import (
    browser_link,
    browser_url,
    cypher_literal,
    parse_ready_queries,
    query_links_markdown,
    ready_queries,
    with_parameters,
)
from kgweave.flows.monitoring import ANALYZE_QUERIES, BUILD_QUERIES, browser_queries_markdown


def _links(markdown: str) -> list[str]:
    return re.findall(r"\]\((http[^)]+)\)", markdown)


def _query_of(link: str) -> str:
    parts = urlsplit(link)
    args = parse_qs(parts.query)
    assert parts.path == "/browser/" and args["cmd"] == ["edit"]
    return args["arg"][0]


@pytest.mark.parametrize(("store", "port", "expected"), [
    ("bolt://127.0.0.1:7687", None, "http://127.0.0.1:7474/browser/"),
    ("bolt://graph.example.org:17687", 17474, "http://graph.example.org:17474/browser/"),
    ("neo4j://10.1.2.3", 8080, "http://10.1.2.3:8080/browser/"),
    ("neo4j+s://db.example.org:7687", 7473, "https://db.example.org:7473/browser/"),
    ("bolt://[::1]:7687", 7474, "http://[::1]:7474/browser/"),
    ("sqlite:///tmp/graph.db", None, None),
    ("/tmp/graph.db", None, None),
])
def test_browser_url_comes_from_the_store_url(store: str, port: int | None, expected: str | None) -> None:
    assert browser_url(store, port) == expected


def test_the_http_port_defaults_to_the_launchers_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGWEAVE_NEO4J_HTTP_PORT", "17474")
    assert browser_url("bolt://neo4j.internal:7687") == "http://neo4j.internal:17474/browser/"
    from kgweave.deploy.neo4j_server import Neo4jServer

    assert Neo4jServer(home="/tmp/kgweave-unused").http_port == 17474


def test_a_link_opens_the_query_in_the_editor() -> None:
    query = "MATCH (e:Entity) WHERE e.name = 'a&b #1?' RETURN e\n  LIMIT 5"
    link = browser_link("http://h:7474/browser/", query)
    assert link.startswith("http://h:7474/browser/?cmd=edit&arg=MATCH%20%28e%3AEntity%29")
    assert " " not in link and "\n" not in link
    assert _query_of(link) == "MATCH (e:Entity) WHERE e.name = 'a&b #1?' RETURN e\nLIMIT 5"


def test_literals_escape_quotes_and_backslashes() -> None:
    assert cypher_literal("it's a \\ test") == "'it\\'s a \\\\ test'"
    assert [cypher_literal(v) for v in (None, True, 3, 0.5)] == ["null", "true", "3", "0.5"]


def test_every_ready_query_has_a_table_and_a_picture_version() -> None:
    queries = ready_queries()
    tables = [name for name in queries if not name.endswith("-picture")]
    assert len(tables) == 9 and sorted(queries) == sorted([*tables, *(f"{t}-picture" for t in tables)])
    for name, query in queries.items():
        declared = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*:", query.params))
        assert query.parameters == declared, f"{name}: uses {sorted(query.parameters)}, :params sets {sorted(declared)}"
        final = query.text[query.text.rindex("RETURN"):]
        if query.is_picture:
            assert re.match(r"RETURN p AS path$", final), f"{name} must return paths only: {final!r}"
        else:  # flat columns: no path, no map or list literal among the returned values
            assert " AS path" not in query.text and "RETURN {" not in query.text, name
            assert re.search(r"RETURN (?:e\.|a\.|here\.|r\.id AS )?name\b", query.text), name


def _order_terms(text: str) -> list[str]:
    """The terms of every ORDER BY, split at commas outside brackets."""
    terms = []
    for clause in re.findall(r"ORDER BY (.+)", text):
        depth, term = 0, ""
        for ch in clause:
            depth += ch in "([{"
            depth -= ch in ")]}"
            if ch == "," and depth == 0:
                terms.append(term.strip())
                term = ""
            else:
                term += ch
        terms.append(term.strip())
    return terms


def test_descending_orders_put_missing_values_last() -> None:
    always_set = ("degree DESC", "community_count DESC", "size(communities) DESC", "neighbours DESC",
                  "length(p) DESC", "support DESC")  # counts, and run-additions-picture's coalesced support
    for name, query in ready_queries().items():
        for term in _order_terms(query.text):
            if term.endswith(" DESC"):
                assert term.startswith("coalesce(") or term in always_set, f"{name}: {term}"


def test_top_hubs_counts_distinct_neighbours() -> None:
    for name in ("top-hubs", "top-hubs-picture"):
        text = ready_queries()[name].text
        assert "RETURN DISTINCT n" in text and "COUNT { (e)--(:Entity) }" not in text


def test_summaries_say_what_each_query_answers_in_a_few_words() -> None:
    queries = ready_queries()
    assert queries["run-additions"].headline == "What one run added"
    assert queries["top-hubs"].headline == "The most central entities"
    assert all(0 < len(query.headline) <= 160 for query in queries.values())


def test_parameters_are_filled_in_or_default() -> None:
    query = ready_queries()["run-additions"]
    text = with_parameters(query, {"run": "build-1'x"})
    assert "$" not in text and "e.first_run = 'build-1\\'x'" in text and "toInteger(100)" in text
    assert "$" not in with_parameters(ready_queries()["community-bridges"], {})  # null defaults
    with pytest.raises(ValueError, match="one statement"):
        parse_ready_queries("// name: a\n// :params {}\nRETURN 1; RETURN 2;\n")


def test_summaries_link_every_query_to_the_stores_browser() -> None:
    text = browser_queries_markdown("build-20261203T050000-ab12", "bolt://neo4j.lan:7687")
    links = _links(text)
    assert links[0] == "http://neo4j.lan:7474/browser/"
    assert len(links) == 1 + 2 * len(BUILD_QUERIES)
    for link, name in zip(links[1:], [n + s for n in BUILD_QUERIES for s in ("", "-picture")], strict=True):
        query = _query_of(link)
        assert "$" not in query
        full = with_parameters(ready_queries()[name], {"run": "build-20261203T050000-ab12"})
        assert query == "\n".join(line.strip() for line in full.splitlines())
    assert "127.0.0.1:7474" not in text
    assert "'build-20261203T050000-ab12'" in _query_of(links[3])
    assert browser_queries_markdown("run", "/tmp/graph.db") == ""
    assert len(_links(query_links_markdown("bolt://h:1", ANALYZE_QUERIES, http_port=2))) == 1 + 2 * 3


def test_the_analyze_summary_links_its_queries_and_says_where_hubs_are(tmp_path: Path) -> None:
    import networkx as nx

    from kgweave.flows.analyze_graph import _markdown, analyze_file

    path = tmp_path / "karate.graphml"
    nx.write_graphml(nx.relabel_nodes(nx.karate_club_graph(), str), path)
    report = analyze_file(str(path)).model_copy(update={"written_nodes": 34})
    text = _markdown("analyze-1", report, "neo4j://graph.lan:7687")
    links = _links(text)
    assert links[0] == "http://graph.lan:7474/browser/" and len(links) == 1 + 2 * len(ANALYZE_QUERIES)
    assert "ORDER BY e.hub_score DESC" not in text and "`:Hub` label" in text
    assert _links(_markdown("analyze-1", report, "/tmp/graph.db")) == []
