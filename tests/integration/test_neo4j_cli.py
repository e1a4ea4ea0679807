"""`kgweave neo4j status` and `kgweave build --store bolt://...` against the session's real Neo4j."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_CORPUS
from tests.flows.test_cli import kgweave_env, run_kgweave
from tests.integration.neo4j_fixture import Neo4jConnection

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_status_reports_the_running_server(neo4j_server: Neo4jConnection) -> None:
    if neo4j_server.server is None:
        pytest.skip("an external Neo4j (KGWEAVE_TEST_NEO4J_URL) has no local launcher")
    server = neo4j_server.server
    env = {**kgweave_env(), "KGWEAVE_NEO4J_HOME": str(server.home)}
    done = run_kgweave("neo4j", "status", "--bolt-port", str(server.bolt_port), "--http-port",
                       str(server.http_port), "--json", env=env)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["running"] is True and status["bolt_url"] == neo4j_server.url


def test_build_into_neo4j_gives_the_sqlite_graph(neo4j_store: object, neo4j_server: Neo4jConnection,
                                                 tmp_path: Path) -> None:
    env = {**kgweave_env(), "KGWEAVE_NEO4J_PASSWORD": neo4j_server.password}
    into_neo4j = run_kgweave("build", str(SAMPLE_CORPUS), "--store", neo4j_server.url, "--json", env=env)
    assert into_neo4j.returncode == 0, into_neo4j.stderr
    db = str(tmp_path / "g.db")
    assert run_kgweave("build", str(SAMPLE_CORPUS), "--store", db, "--json", env=env).returncode == 0
    neo4j_stats = json.loads(run_kgweave("stats", "--store", neo4j_server.url, "--json", env=env).stdout)
    sqlite_stats = json.loads(run_kgweave("stats", "--store", db, "--json", env=env).stdout)
    assert {k: v for k, v in neo4j_stats.items() if k != "runs"} == {
        k: v for k, v in sqlite_stats.items() if k != "runs"}
    assert neo4j_store.snapshot() == __import__("graph_store").open_store(db).snapshot()  # type: ignore[attr-defined]
    again = json.loads(run_kgweave("build", str(SAMPLE_CORPUS), "--store", neo4j_server.url, "--json",
                                   env=env).stdout)
    assert again["skipped_documents"] == 40 and again["totals"]["entities"] == neo4j_stats["entities"]
