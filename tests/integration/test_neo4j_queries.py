"""deploy/neo4j/queries.cypher on a real Neo4j, and deploy/neo4j/style.grass as Neo4j Browser 5 reads it.

The queries run against the sample corpus built by the plain pipeline (two runs, so "what run N
added" has something to show) with node metrics written the way the analysis step writes them.
The style sheet is parsed by a port of Neo4j Browser 5.24's own GraSS parser and rule matching
(``parseGrass`` and ``GraphStyleModel`` in the Browser bundle), because the Browser silently drops
what it cannot parse: a comment turns the next property or selector into garbage.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import neo4j
import networkx as nx
import pytest

from kgweave.agents.cooccurrence import CooccurrenceExtractor
from kgweave.agents.pipeline import extract_documents
from kgweave.agents.sources.files import load_corpus
from kgweave.graph_store.ids import normalize_name
from kgweave.graph_store.models import GraphDelta, Run
from kgweave.graph_store.neo4j_store import Neo4jGraphStore  # noqa: E402
from tests.conftest import REPO, SAMPLE_CORPUS
from tests.grass import parse_grass, resolve
from tests.integration.neo4j_fixture import Neo4jConnection

if TYPE_CHECKING:
    from neo4j import Driver

pytestmark = pytest.mark.integration

QUERIES = REPO / "deploy" / "neo4j" / "queries.cypher"
STYLE = REPO / "deploy" / "neo4j" / "style.grass"
NAME_MARKER = re.compile(r"^// name: ([a-z][a-z0-9-]*)[ \t]*$", re.M)
PARAMS_LINE = re.compile(r"^// :params (\{.*\})[ \t]*$", re.M)
PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


# -- queries.cypher ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedQuery:
    """One query of queries.cypher: its marker name, its ``:params`` map literal and its Cypher."""

    name: str
    params: str
    text: str


def read_queries(path: Path = QUERIES) -> dict[str, NamedQuery]:
    """Split the file at ``// name: <key>`` lines; comment lines are dropped, the final ``;`` too."""
    parts = NAME_MARKER.split(path.read_text(encoding="utf-8"))
    queries: dict[str, NamedQuery] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        assert name not in queries, f"query name {name!r} is used twice"
        params = PARAMS_LINE.search(body)
        assert params, f"query {name!r} has no '// :params {{...}}' line"
        text = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("//")).strip()
        assert text.endswith(";") and text.count(";") == 1, f"query {name!r} must be one statement ending in ';'"
        queries[name] = NamedQuery(name, params.group(1), text.rstrip(";").rstrip())
    return queries


EXPECTED_COLUMNS = {
    "top-hubs": ["name", "label", "hub_score", "degree", "pagerank", "community", "support", "score_source", "id"],
    "bridge-entities": ["name", "label", "community", "community_count", "communities", "neighbours",
                        "betweenness"],
    "community-bridges": ["source", "source_community", "type", "target", "target_community", "support",
                          "evidence", "path"],
    "provenance": ["entity", "label", "title", "source", "mention", "start", "sentence", "relations"],
    "run-additions": ["kind", "type", "name", "target", "support"],
    "shortest-path": ["hops", "route", "types", "evidence", "path"],
    "neighbourhood": ["path", "name", "type", "neighbour", "support"],
    "runs": ["run", "kind", "status", "started_at", "finished_at", "extractor", "model", "entities_added",
             "summary"],
}


def test_every_query_is_named_documented_and_checked() -> None:
    queries = read_queries()
    assert list(queries) == list(EXPECTED_COLUMNS)
    for query in queries.values():
        used = set(PARAMETER.findall(query.text))
        declared = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*:", query.params))
        assert used == declared, f"{query.name}: uses {sorted(used)}, its :params line sets {sorted(declared)}"


# -- the sample graph ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleGraph:
    """What the test built, computed on the Python side to check the queries' answers."""

    first: GraphDelta
    second: GraphDelta
    names: Mapping[str, str]
    degree: Mapping[str, int]
    community: Mapping[str, int]
    betweenness: Mapping[str, float]

    def named(self, wanted: str) -> set[str]:
        """Ids of the entities queries.cypher finds for ``wanted`` (the same rule, in Python)."""
        wanted = wanted.strip().lower()
        keys = {wanted, wanted[:-1] if wanted.endswith("s") else wanted}
        return {i for i, name in self.names.items() if normalize_name(name) in keys or name.lower() == wanted}


def build_sample(store: Neo4jGraphStore) -> SampleGraph:
    """Two runs over the sample corpus: run-1 reads 25 abstracts, run-2 all 40 (15 new)."""
    documents, failures = load_corpus([SAMPLE_CORPUS])
    assert not failures and len(documents) == 40
    extractor = CooccurrenceExtractor()
    deltas = []
    for run_id, docs in (("run-1", documents[:25]), ("run-2", documents)):
        result = extract_documents(docs, extractor, run_id=run_id, fingerprint="fp")
        assert not result.failures
        store.record_run(Run(id=run_id, kind="build", extractor=extractor.name, status="completed"))
        store.upsert(result.delta)
        deltas.append(result.delta)
    snapshot = store.snapshot()
    degree: Counter[str] = Counter()
    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(node.id for node in snapshot.nodes)
    for edge in snapshot.edges:
        degree[edge.source] += 1
        degree[edge.target] += 1
        graph.add_edge(edge.source, edge.target)
    communities = nx.community.louvain_communities(graph, seed=7)
    return SampleGraph(
        first=deltas[0], second=deltas[1], names={node.id: node.name for node in snapshot.nodes},
        degree={node.id: degree[node.id] for node in snapshot.nodes},
        community={node: number for number, members in enumerate(communities) for node in members},
        betweenness=nx.betweenness_centrality(graph, k=64, seed=7),
    )


def write_metrics(store: Neo4jGraphStore, sample: SampleGraph) -> None:
    """Node metrics under the analysis' write-back names, as floats. hub_score here is degree / max
    degree (the analysis uses PageRank / max PageRank): the queries only need a score in (0, 1]."""
    top = max(sample.degree.values())
    store.write_node_metrics({
        node: {"degree": degree, "hub_score": degree / top, "community": sample.community[node],
               "betweenness": sample.betweenness[node]}
        for node, degree in sample.degree.items()
    })


class Runner:
    """Runs a named query with its documented default parameters, overridden by the test's."""

    def __init__(self, driver: Driver, queries: Mapping[str, NamedQuery]) -> None:
        self.driver = driver
        self.queries = queries
        self.warnings: list[str] = []

    def __call__(self, name: str, /, **overrides: object) -> list[dict[str, Any]]:
        query = self.queries[name]
        # The :params line is a Cypher map literal: let the server evaluate it, as Browser's :param does.
        defaults = self.driver.execute_query(f"RETURN {query.params} AS params").records[0]["params"]
        records, summary, keys = self.driver.execute_query(query.text, {**defaults, **overrides})
        assert keys == EXPECTED_COLUMNS[name], f"{name}: columns {keys}"
        self.warnings += [f"{name}: {status.status_description}" for status in summary.gql_status_objects
                          if status.is_notification]
        return [dict(record.items()) for record in records]  # paths stay neo4j Path objects


@pytest.mark.slow  # the store's first upsert plans one query per relation type (~140 here)
def test_queries_answer_on_the_sample_corpus(neo4j_store: Neo4jGraphStore, neo4j_server: Neo4jConnection) -> None:
    sample = build_sample(neo4j_store)
    # "Property does not exist" (metrics not written yet) is expected; every other notification is a failure.
    quiet = [neo4j.NotificationDisabledClassification.UNRECOGNIZED]
    with neo4j.GraphDatabase.driver(neo4j_server.url, auth=(neo4j_server.user, neo4j_server.password),
                                    notifications_disabled_classifications=quiet) as driver:
        run = Runner(driver, read_queries())

        # Before any analysis: hubs by degree counted on the fly.
        hubs = run("top-hubs", limit=10)
        assert len(hubs) == 10 and {h["score_source"] for h in hubs} == {"degree"}
        assert [h["degree"] for h in hubs] == [sample.degree[str(h["id"])] for h in hubs]
        assert hubs[0]["degree"] == max(sample.degree.values())
        assert [h["degree"] for h in hubs] == sorted((h["degree"] for h in hubs), reverse=True)
        assert run("bridge-entities") == [] and run("community-bridges") == []

        write_metrics(neo4j_store, sample)
        hubs = run("top-hubs", limit=10)
        assert {h["score_source"] for h in hubs} == {"hub_score"} and hubs[0]["hub_score"] == 1.0
        assert hubs[0]["community"] == sample.community[str(hubs[0]["id"])]

        bridges = run("bridge-entities", min_communities=3)
        assert bridges and all(b["community_count"] >= 3 for b in bridges)
        assert all(len(set(b["communities"])) == b["community_count"] for b in bridges)

        crossing = run("community-bridges")
        assert crossing and all(c["source_community"] != c["target_community"] for c in crossing)
        pair = {crossing[0]["source_community"], crossing[0]["target_community"]}
        between = run("community-bridges", community_a=min(pair), community_b=max(pair), limit=1000)
        assert between and all({c["source_community"], c["target_community"]} == pair for c in between)
        assert all(len(c["path"]) == 1 and c["evidence"] for c in between)

        provenance = run("provenance", name="Graph Neural Networks", limit=500)
        named = sample.named("Graph Neural Networks")
        assert named == sample.named("graph neural network") and len(named) >= 2  # a Concept and a NamedEntity
        assert len(provenance) == len([m for m in sample.second.mentions if m.entity_id in named]) > 0
        for row in provenance:
            assert normalize_name(str(row["entity"])) == "graph neural network" and row["title"]
            assert str(row["mention"]).lower() in str(row["sentence"]).lower(), row
            assert "\n" not in str(row["sentence"]) and len(str(row["sentence"])) < 600
        relations = [r for row in provenance for r in row["relations"]]
        assert relations and all(r["evidence"] and " -[" in r["relation"] for r in relations)

        for run_id, delta, before in (("run-1", sample.first, None), ("run-2", sample.second, sample.first)):
            added = run("run-additions", run=run_id, limit=100_000)
            old_entities = {e.id for e in before.entities} if before else set()
            old_relations = {r.id for r in before.relations} if before else set()
            kinds = Counter(str(a["kind"]) for a in added)
            assert kinds["entity"] == len({e.id for e in delta.entities} - old_entities) > 0
            assert kinds["relation"] == len({r.id for r in delta.relations} - old_relations) > 0

        paths = run("shortest-path", **{"from": "graph neural network", "to": "GNNs"})  # SAME_AS in v2
        assert paths
        for path in paths:
            assert path["hops"] == len(path["types"]) == len(path["path"]) >= 1
            assert all(f"[{t}]" in str(path["route"]) for t in path["types"])
        assert len(sample.named("GNNs")) == 1
        assert run("shortest-path", **{"from": "GNNs", "to": "gnns"}) == []  # one node: no path, no error

        around = run("neighbourhood", name="GNN", limit=100_000)
        assert len(around) == sum(sample.degree[i] for i in sample.named("GNN")) > 0
        assert all(len(row["path"]) == 1 for row in around)

        runs = run("runs")
        assert [r["run"] for r in runs] == ["run-2", "run-1"]  # newest first
        assert sum(int(str(r["entities_added"])) for r in runs) == len(sample.names)
        assert run.warnings == []  # no deprecated syntax, no performance warnings


# -- style.grass ---------------------------------------------------------------------------------


ENTITY_LABELS = ["Concept", "NamedEntity", "Method", "Dataset", "Person", "Paper", "Researcher", "Character",
                 "Place", "Model", "Task", "Organization"]
STRUCTURAL_LABELS = ["Document", "Chunk", "Run"]


def test_browser_parses_every_declaration_of_the_style_sheet() -> None:
    text = STYLE.read_text(encoding="utf-8")
    assert "/*" not in text and "//" not in text, "Neo4j Browser's GraSS parser has no comments"
    rules = parse_grass(text)
    written = re.findall(r"^([a-z.A-Z_]+) \{\n((?:  [a-z-]+: [^;\n]+;\n)+)\}$", text, re.M)
    assert [sel for sel, _ in written] == list(rules), "a block is not in the plain 'selector {' form"
    for selector, body in written:
        assert len(rules[selector]) == body.count(";\n"), f"{selector}: a declaration was dropped"
        for key, value in rules[selector].items():
            if key in ("diameter", "border-width", "shaft-width", "font-size", "padding"):
                assert re.fullmatch(r"\d+px", value), f"{selector} {key}: {value}"


def test_style_colours_entities_by_label_and_greys_the_structure() -> None:
    rules = parse_grass(STYLE.read_text(encoding="utf-8"))
    entity_colours = {}
    for label in ENTITY_LABELS:
        style = resolve(rules, "node", ["Entity", label])
        assert style["caption"] == "{name}" and style["diameter"] == "75px"
        entity_colours[label] = style["color"]
    assert len(set(entity_colours.values())) >= 9
    fallback = resolve(rules, "node", ["Entity", "SomeNewLabel"])
    assert fallback["caption"] == "{name}" and fallback["color"] not in (
        resolve(rules, "node", [label])["color"] for label in STRUCTURAL_LABELS)
    for label in STRUCTURAL_LABELS:
        style = resolve(rules, "node", [label])
        assert style["color"] not in entity_colours.values()
        red, green, blue = (int(style["color"][i:i + 2], 16) for i in (1, 3, 5))
        assert max(red, green, blue) - min(red, green, blue) <= 24, f"{label} is not grey: {style['color']}"
        # An extracted entity that is also called Document/Chunk/Run is drawn as an entity.
        assert resolve(rules, "node", ["Entity", label]) == fallback
    for rel_type in ("USES", "CO_OCCURS_WITH", "MENTIONED_IN", "HAS_CHUNK"):
        assert resolve(rules, "relationship", [rel_type])["caption"] == "<type>"


def test_the_ported_parser_has_the_browsers_comment_quirk() -> None:
    # Why style.grass has no comments: Browser 5 keeps them as part of the next key or selector.
    rules = parse_grass("/* top */ node.Entity {\n  /* size */ diameter: 80px;\n  caption: '{name}';\n}\n")
    assert rules == {"/*top*/node.Entity": {"/* size */ diameter": "80px", "caption": "{name}"}}
    assert resolve(rules, "node", ["Entity"]) == {}
