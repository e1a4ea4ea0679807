"""Structured domains into a real Neo4j: the same graph and the same evaluation as the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_CORPUS
from tests.flows.test_cli import kgweave_env, run_kgweave
from tests.integration.neo4j_fixture import Neo4jConnection

pytestmark = pytest.mark.usefixtures("prefect_api")

DATA = Path(__file__).resolve().parents[1] / "data"


def _stats(url: str, env: dict[str, str]) -> dict[str, object]:
    stats = json.loads(run_kgweave("stats", "--store", url, "--json", env=env).stdout)
    return {k: v for k, v in stats.items() if k != "runs"}


def test_papers_and_reviews_in_neo4j_match_sqlite(neo4j_store: object, neo4j_server: Neo4jConnection,
                                                  tmp_path: Path) -> None:
    env = {**kgweave_env(), "KGWEAVE_NEO4J_PASSWORD": neo4j_server.password}
    papers = tmp_path / "papers.jsonl"
    papers.write_text("\n".join(SAMPLE_CORPUS.read_text("utf-8").splitlines()[:10]) + "\n", "utf-8")
    db = str(tmp_path / "g.db")
    for url in (neo4j_server.url, db):
        for path, domain, code in ((papers, "papers", 0), (DATA / "hobbit_reviews.jsonl", "reviews", 3)):
            done = run_kgweave("build", str(path), "--domain", domain, "--store", url, "--json", env=env)
            assert done.returncode == code, done.stderr
    neo4j_stats = _stats(neo4j_server.url, env)
    assert neo4j_stats == _stats(db, env)
    assert neo4j_stats["labels"]["Paper"] == 10 and neo4j_stats["relation_types"]["AUTHORED"] > 10  # type: ignore[index]
    reports = [
        json.loads(run_kgweave("eval", "relations", "--book", "hobbit", "--gold", str(DATA / "hobbit_gold.csv"),
                               "--store", url, "--json", env=env).stdout)
        for url in (neo4j_server.url, db)
    ]
    assert reports[0]["scores"] == reports[1]["scores"] and reports[0]["scores"]["found_pairs"] == 3
    again = json.loads(run_kgweave("build", str(papers), "--domain", "papers", "--store", neo4j_server.url, "--json",
                                   env=env).stdout)
    assert again["new_entities"] == 0 and again["new_relations"] == 0
