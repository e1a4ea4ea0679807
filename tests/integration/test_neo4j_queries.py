"""deploy/neo4j/queries.cypher on a real Neo4j, and deploy/neo4j/style.grass as Neo4j Browser 5 reads it.

Every query runs in both versions (table: flat columns; picture: paths only). The queries run against
the sample corpus built by the plain pipeline (two runs, so "what run N
added" has something to show) with node metrics written the way the analysis step writes them.
The style sheet is parsed by a port of Neo4j Browser 5.24's own GraSS parser and rule matching
(``parseGrass`` and ``GraphStyleModel`` in the Browser bundle), because the Browser silently drops
what it cannot parse: a comment turns the next property or selector into garbage.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import neo4j
import neo4j.time
import networkx as nx
import pytest
from neo4j.graph import Path

from kgweave.agents.cooccurrence import CooccurrenceExtractor
from kgweave.agents.pipeline import extract_documents
from kgweave.agents.sources.files import load_corpus
from kgweave.deploy.neo4j_browser import ReadyQuery, ready_queries
from kgweave.graph_store.ids import normalize_name
from kgweave.graph_store.models import EntityMerge, GraphDelta, Run
from kgweave.graph_store.neo4j_store import Neo4jGraphStore  # noqa: E402
from tests.conftest import REPO, SAMPLE_CORPUS
from tests.grass import parse_grass, resolve
from tests.integration.neo4j_fixture import Neo4jConnection

if TYPE_CHECKING:
    from neo4j import Driver

pytestmark = pytest.mark.integration

STYLE = REPO / "deploy" / "neo4j" / "style.grass"


# -- queries.cypher ------------------------------------------------------------------------------


EXPECTED_COLUMNS = {
    "top-hubs": ["name", "type", "support", "hub_score", "degree", "pagerank", "community", "score_source", "hub",
                 "id"],
    "bridge-entities": ["name", "type", "support", "community", "community_count", "communities", "neighbours",
                        "betweenness"],
    "community-bridges": ["name", "type", "support", "target", "name_community", "target_community", "sentence",
                          "source"],
    "provenance": ["name", "type", "support", "mention", "start", "relations", "sentence", "title", "source"],
    "run-additions": ["name", "type", "support", "kind", "target", "sentence"],
    "shortest-path": ["name", "type", "support", "target", "route", "hop", "sentence", "source"],
    "neighbourhood": ["name", "type", "support", "neighbour", "sentence", "source"],
    "runs": ["name", "type", "entities_added", "status", "started_at", "finished_at", "extractor", "model",
             "summary"],
    "merges": ["name", "type", "support", "canonical", "canonical_type", "method", "score", "run"],
}


def test_every_query_has_both_versions_and_is_checked() -> None:
    queries = ready_queries()
    assert list(queries) == [name + kind for name in EXPECTED_COLUMNS for kind in ("", "-picture")]


# -- the sample graph ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleGraph:
    """What the test built, computed on the Python side to check the queries' answers."""

    first: GraphDelta
    second: GraphDelta
    names: Mapping[str, str]
    degree: Mapping[str, int]  # distinct neighbours, a self-loop counting 2 (the analysis' degree)
    relations: Mapping[str, int]  # relations at the entity, parallel ones included
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
    relations: Counter[str] = Counter()
    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(node.id for node in snapshot.nodes)
    for edge in snapshot.edges:
        relations[edge.source] += 1
        relations[edge.target] += 1
        graph.add_edge(edge.source, edge.target)
    communities = nx.community.louvain_communities(graph, seed=7)
    return SampleGraph(
        first=deltas[0], second=deltas[1], names={node.id: node.name for node in snapshot.nodes},
        degree=dict(graph.degree()), relations={node.id: relations[node.id] for node in snapshot.nodes},
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

    def __init__(self, driver: Driver, queries: Mapping[str, ReadyQuery]) -> None:
        self.driver = driver
        self.queries = queries
        self.warnings: list[str] = []

    def __call__(self, name: str, /, **overrides: object) -> list[dict[str, Any]]:
        query = self.queries[name]
        # The :params line is a Cypher map literal: let the server evaluate it, as Browser's :param does.
        defaults = self.driver.execute_query(f"RETURN {query.params} AS params").records[0]["params"]
        records, summary, keys = self.driver.execute_query(query.text, {**defaults, **overrides})
        if query.is_picture:
            assert keys == ["path"] and all(isinstance(r["path"], Path) for r in records), f"{name}: {keys}"
        else:
            assert keys == EXPECTED_COLUMNS[name], f"{name}: columns {keys}"
            flat = (str, int, float, bool, type(None), neo4j.time.DateTime)
            assert all(isinstance(v, flat) for r in records for v in r.values()), f"{name}: a value is not flat"
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
        run = Runner(driver, ready_queries())

        # Before any analysis: hubs by degree counted on the fly, over distinct neighbours.
        hubs = run("top-hubs", limit=10)
        assert len(hubs) == 10 and {h["score_source"] for h in hubs} == {"degree"}
        assert [h["degree"] for h in hubs] == [sample.degree[str(h["id"])] for h in hubs]
        assert hubs[0]["degree"] == max(sample.degree.values())
        assert any(sample.relations[i] > sample.degree[i] for i in sample.degree)  # parallel edges exist
        assert [h["degree"] for h in hubs] == sorted((h["degree"] for h in hubs), reverse=True)
        assert run("bridge-entities") == [] and run("community-bridges") == []
        assert len(run("top-hubs-picture", limit=10)) >= 10

        # Metrics on a few nodes only: the others (null hub_score) come last.
        some = sorted(sample.degree, key=lambda i: (sample.degree[i], i))[:3]
        neo4j_store.write_node_metrics({node: {"hub_score": 0.5} for node in some})
        hubs = run("top-hubs", limit=5)
        assert {str(h["id"]) for h in hubs[:3]} == set(some) and hubs[3]["hub_score"] is None

        write_metrics(neo4j_store, sample)
        hubs = run("top-hubs", limit=10)
        assert {h["score_source"] for h in hubs} == {"hub_score"} and hubs[0]["hub_score"] == 1.0
        assert hubs[0]["community"] == sample.community[str(hubs[0]["id"])]
        top = {str(h["id"]) for h in hubs}
        drawn = [p for row in run("top-hubs-picture", limit=10) for p in [row["path"]]]
        assert {n["id"] for p in drawn for n in p.nodes} == top

        bridges = run("bridge-entities", min_communities=3)
        assert bridges and all(b["community_count"] >= 3 for b in bridges)
        assert all(len(set(str(b["communities"]).split(", "))) == b["community_count"] for b in bridges)
        drawn = run("bridge-entities-picture", min_communities=3, limit=3)
        assert drawn and {p["path"].start_node["name"] for p in drawn} <= {b["name"] for b in bridges}

        crossing = run("community-bridges")
        assert crossing and all(c["name_community"] != c["target_community"] for c in crossing)
        assert all(c["sentence"] and c["source"] for c in crossing)
        pair = {crossing[0]["name_community"], crossing[0]["target_community"]}
        between = run("community-bridges", community_a=min(pair), community_b=max(pair), limit=1000)
        assert between and all({c["name_community"], c["target_community"]} == pair for c in between)
        drawn = run("community-bridges-picture", community_a=min(pair), community_b=max(pair), limit=1000)
        assert len(drawn) == len(between) and all(len(p["path"]) == 1 for p in drawn)

        provenance = run("provenance", name="Graph Neural Networks", limit=500)
        named = sample.named("Graph Neural Networks")
        assert named == sample.named("graph neural network") and len(named) >= 2  # a Concept and a NamedEntity
        assert len(provenance) == len([m for m in sample.second.mentions if m.entity_id in named]) > 0
        for row in provenance:
            assert normalize_name(str(row["name"])) == "graph neural network" and row["title"] and row["source"]
            assert str(row["mention"]).lower() in str(row["sentence"]).lower(), row
            assert "\n" not in str(row["sentence"]) and len(str(row["sentence"])) < 600
        assert sum(int(row["relations"]) for row in provenance) > 0
        drawn = run("provenance-picture", name="Graph Neural Networks", limit=5)
        assert any(len(p["path"]) == 2 for p in drawn) and any(len(p["path"]) == 1 for p in drawn)

        for run_id, delta, before in (("run-1", sample.first, None), ("run-2", sample.second, sample.first)):
            added = run("run-additions", run=run_id, limit=100_000)
            old_entities = {e.id for e in before.entities} if before else set()
            old_relations = {r.id for r in before.relations} if before else set()
            kinds = Counter(str(a["kind"]) for a in added)
            assert kinds["entity"] == len({e.id for e in delta.entities} - old_entities) > 0
            assert kinds["relation"] == len({r.id for r in delta.relations} - old_relations) > 0
            drawn = run("run-additions-picture", run=run_id, limit=100_000)
            assert sum(len(p["path"]) == 1 for p in drawn) == kinds["relation"]

        hops = run("shortest-path", **{"from": "graph neural network", "to": "GNNs"})  # SAME_AS in v2
        drawn = run("shortest-path-picture", **{"from": "graph neural network", "to": "GNNs"})
        assert hops and drawn
        routes: dict[int, list[dict[str, Any]]] = {}
        for row in hops:
            routes.setdefault(int(row["route"]), []).append(row)
        assert len(routes) == len(drawn)
        for steps, path in zip(routes.values(), drawn, strict=True):
            assert [s["hop"] for s in steps] == list(range(1, len(path["path"]) + 1))
            assert all(a["target"] == b["name"] for a, b in itertools.pairwise(steps))
        assert len(sample.named("GNNs")) == 1
        assert run("shortest-path", **{"from": "GNNs", "to": "gnns"}) == []  # one node: no path, no error
        assert run("shortest-path-picture", **{"from": "GNNs", "to": "gnns"}) == []

        around = run("neighbourhood", name="GNN", limit=100_000)
        assert len(around) == sum(sample.relations[i] for i in sample.named("GNN")) > 0
        assert all(row["sentence"] and row["source"] for row in around)
        drawn = run("neighbourhood-picture", name="GNN", limit=100_000)
        assert len(drawn) == len(around) and all(len(p["path"]) == 1 for p in drawn)

        runs = run("runs")
        assert [r["name"] for r in runs] == ["run-2", "run-1"]  # newest first
        assert sum(int(str(r["entities_added"])) for r in runs) == len(sample.names)
        assert len(run("runs-picture")) == 2

        assert run("merges") == [] and run("merges-picture") == []
        canonical, alias = sorted(named)[:2]
        neo4j_store.record_merges([EntityMerge(alias_id=alias, canonical_id=canonical, score=1.0, method="exact",
                                               run_id="resolve-1")])
        merged = run("merges", run="resolve-1")
        assert [(m["name"], m["canonical"], m["method"]) for m in merged] == [
            (sample.names[alias], sample.names[canonical], "exact")]
        assert len(run("merges-picture", run="resolve-1")) == 1 and run("merges", run="resolve-2") == []
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
