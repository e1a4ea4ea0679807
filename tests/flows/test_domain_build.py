"""`kgweave build --domain papers|profiles|reviews` and `kgweave eval ...` end to end (real processes, real Prefect)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.conftest import SAMPLE_CORPUS
from tests.flows.test_cli import kgweave_env, run_kgweave
from tests.llm_fixtures import llm_server_fixture  # noqa: F401
from tests.llm_server import LLMTestServer

pytestmark = pytest.mark.usefixtures("prefect_api")

DATA = Path(__file__).resolve().parents[1] / "data"
RT = "researchtown_agent_data"


def _json(*args: str, code: int = 0, env: dict[str, str] | None = None) -> dict[str, object]:
    done = run_kgweave(*args, "--json", env=env)
    assert done.returncode == code, done.stderr
    return json.loads(done.stdout)


def _llm_env(tmp_path: Path) -> dict[str, str]:
    return {**kgweave_env(), "KGWEAVE_LLM_CACHE_DIR": str(tmp_path / "llm-cache")}


def test_iclr_set_builds_the_research_graph_and_a_rerun_changes_nothing(shared_data: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "iclr.db")
    corpus = str(shared_data / RT / "iclr2023_review_score_papers")
    first = _json("build", corpus, "--domain", "papers", "--store", db)
    assert first["status"] == "completed" and first["failed_documents"] == 0
    stats = _json("stats", "--store", db)
    labels, types = stats["labels"], stats["relation_types"]
    assert labels["Paper"] >= 600 and types["AUTHORED"] >= 1500  # type: ignore[index]
    assert labels["Researcher"] > 2000 and labels["Review"] > 2000  # type: ignore[index]
    assert types["REVIEWED"] == labels["Review"] and types["MENTIONS"] > 5000  # type: ignore[index]
    assert labels["Concept"] > 0 and types["COLLABORATES_WITH"] > 0  # type: ignore[index]
    again = _json("build", corpus, "--domain", "papers", "--store", db)
    assert again["new_entities"] == 0 and again["new_relations"] == 0
    assert again["skipped_documents"] == again["documents"] == first["documents"]
    assert {k: v for k, v in _json("stats", "--store", db).items() if k != "runs"} == \
        {k: v for k, v in stats.items() if k != "runs"}
    with SQLiteGraphStore(db) as store:
        hood, rels = store.neighbours(store.find_entities("Ordered GNN: Ordering Message Passing to Deal with "
                                                          "Heterophily and Over-smoothing")[0].id)
        scores = sorted(r.properties["score"] for r in rels if r.type == "REVIEWED")
        assert scores == [5.0, 5.0, 5.0, 8.0]
        assert {e.label for e in hood} >= {"Paper", "Researcher", "Review", "Topic", "Concept"}


def test_profiles_build(shared_data: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "profiles.db")
    _json("build", str(shared_data / RT / "examples" / "profiles" / "ProfileDB.json"), "--domain", "profiles",
          "--store", db)
    stats = _json("stats", "--store", db)
    assert stats["labels"]["Researcher"] >= 60 and stats["relation_types"]["WORKS_ON"] > 100  # type: ignore[index]
    with SQLiteGraphStore(db) as store:
        (neubig,) = store.find_entities("Graham Neubig")
        assert neubig.description and "Natural Language Processing" in neubig.description


def test_reviews_build_and_eval_relations_known_answer(tmp_path: Path) -> None:
    db = str(tmp_path / "reviews.db")
    build = _json("build", str(DATA / "hobbit_reviews.jsonl"), "--domain", "reviews", "--store", db, code=3)
    assert build["failed_documents"] == 2  # the empty review and the line that is not JSON
    report = _json("eval", "relations", "--book", "hobbit", "--gold", str(DATA / "hobbit_gold.csv"), "--store", db)
    assert report["book_name"] == "The Hobbit" and report["reviews"] == 4
    scores = report["scores"]
    assert scores == {**scores, "gold_actants": 5, "found_actants": 4, "actant_coverage": 0.8, "gold_pairs": 5,  # type: ignore[dict-item]
                      "found_pairs": 3, "relationship_recall": 0.6, "detectable_pairs": 4,
                      "edge_detection_rate": 0.75, "precision": 0.75}
    assert scores["missing_actants"] == ["Gollum"]  # type: ignore[index]
    top = {a["name"]: a for a in report["top_actants"]}  # type: ignore[union-attr]
    assert top["Bilbo Baggins"]["support"] == 4 and "Baggins" in top["Bilbo Baggins"]["aliases"]
    strict = _json("eval", "relations", "--book", "The Hobbit", "--gold", str(DATA / "hobbit_gold.csv"), "--store",
                   db, "--min-actant-support", "3")
    assert strict["consensus_actants"] == 3 and strict["scores"]["found_actants"] == 3  # type: ignore[index]
    missing = run_kgweave("eval", "relations", "--book", "no-such-book", "--gold", str(DATA / "hobbit_gold.csv"),
                          "--store", db)
    assert missing.returncode == 2 and "no book" in missing.stderr and "Traceback" not in missing.stderr
    bad_gold = tmp_path / "gold.csv"
    bad_gold.write_text("a,b\nx,y\n", "utf-8")
    bad = run_kgweave("eval", "relations", "--book", "hobbit", "--gold", str(bad_gold), "--store", db)
    assert bad.returncode == 2 and "actant_1" in bad.stderr


def test_masked_nodes_against_the_test_llm(shared_data: Path, tmp_path: Path, llm_server: LLMTestServer) -> None:
    corpus = tmp_path / "gnn"
    corpus.mkdir()
    shutil.copy(shared_data / RT / "iclr2023_review_score_papers" / "paper_graph_neural_networks.json", corpus)
    db = str(tmp_path / "gnn.db")
    _json("build", str(corpus), "--domain", "papers", "--store", db)
    env = _llm_env(tmp_path)
    args = ("eval", "masked-nodes", "--store", db, "--nodes", "6", "--seed", "3", "--llm-base-url",
            llm_server.base_url, "--llm-model", "kgweave-test-model")
    report = _json(*args, env=env)
    assert report["masked"] == 6 and report["failed"] == 0 and report["llm_calls"] == 6
    assert report["generated"]["n"] == 6 and report["random_baseline"]["n"] == 6  # type: ignore[index]
    assert 1 <= report["neighbour_baseline"]["n"] <= 6  # type: ignore[index]
    for node in report["nodes"]:  # type: ignore[union-attr]
        assert -1.0 <= node["cosine"] <= 1.0
    # the masked papers' own text never reaches the LLM: no title, no abstract, no hidden neighbour
    with SQLiteGraphStore(db) as store:
        hidden = [store.find_entities(n["paper"])[0] for n in report["nodes"]]  # type: ignore[union-attr]
    prompts = "\n".join(r.document for r in llm_server.chat_requests)
    assert len(llm_server.chat_requests) == 6
    for paper in hidden:
        assert paper.name not in prompts and paper.description[:80] not in prompts  # type: ignore[index]
    again = _json(*args, env=env)
    assert again["llm_calls"] == 0 and again["cached_llm_calls"] == 6 and again["generated"] == report["generated"]
    no_llm = run_kgweave("eval", "masked-nodes", "--store", db, env={**env, "KGWEAVE_LLM_BASE_URL": ""})
    assert no_llm.returncode == 2 and "--llm-base-url" in no_llm.stderr


def test_eval_extractors_against_the_test_llm(tmp_path: Path, llm_server: LLMTestServer) -> None:
    report = _json("eval", "extractors", str(SAMPLE_CORPUS), "--domain", "papers", "--max-documents", "5",
                   "--store", str(tmp_path / "e.db"), "--llm-base-url", llm_server.base_url, "--llm-model",
                   "kgweave-test-model", env=_llm_env(tmp_path))
    assert report["documents"] == 5 and report["chunks"] >= 5
    cooc, llm, overlap = report["cooccurrence"], report["llm"], report["overlap"]
    assert cooc["entities"] > llm["entities"] > 0 and llm["llm_calls"] == report["chunks"]  # type: ignore[index]
    assert overlap["a_entities"] <= cooc["entities"] and 0 < overlap["shared_entities"] <= overlap["b_entities"]  # type: ignore[index]
    assert 0.0 < overlap["entity_jaccard"] < 1.0  # type: ignore[index]
    with SQLiteGraphStore(tmp_path / "e.db") as store:
        (run,) = list(store.runs())
        assert run.kind == "eval" and run.status == "completed" and run.summary["overlap.shared_entities"] > 0


def test_llm_reviews_domain_fills_each_review_graph(tmp_path: Path, llm_server: LLMTestServer) -> None:
    db = str(tmp_path / "llm-reviews.db")
    build = _json("build", str(DATA / "hobbit_reviews.jsonl"), "--domain", "reviews", "--extractor", "llm",
                  "--llm-base-url", llm_server.base_url, "--llm-model", "kgweave-test-model", "--store", db, code=3,
                  env=_llm_env(tmp_path))
    assert build["failed_chunks"] == 0 and build["llm_calls"] == 5  # five review texts, one chunk each
    assert {r.body["response_format"]["json_schema"]["name"] for r in llm_server.chat_requests} == {
        "kgweave_reviews_extraction"}
    with SQLiteGraphStore(db) as store:
        from kgweave.agents.book_reviews import find_book, review_graphs_of_book

        graphs = review_graphs_of_book(store, find_book(store, "hobbit"))
    assert len(graphs) == 4 and all(g.actants for g in graphs)
    assert {a.label for g in graphs for a in g.actants} <= {"Character", "Place", "Object", "Group"}
    assert sum(len(g.relations) for g in graphs) > 0
    from kgweave.agents.actants import RELATION_CATEGORIES
    from kgweave.agents.domains.reviews import RELATION_TYPES

    assert {r.type for g in graphs for r in g.relations} <= set(RELATION_TYPES)  # reviews-v2: typed, no free verbs
    consensus = _json("consensus", "--book", "hobbit", "--store", db)
    edges = consensus["relations"]
    assert edges and all(e["type"] in set(RELATION_CATEGORIES.values()) for e in edges)  # type: ignore[union-attr]
    assert all(1 <= e["type_support"] <= e["support"] for e in edges)  # type: ignore[union-attr]
    report = _json("eval", "relations", "--book", "hobbit", "--gold", str(DATA / "hobbit_gold.csv"), "--store", db)
    assert report["reviews"] == 4 and report["scores"]["found_actants"] >= 3  # type: ignore[index]


def test_citeseer_folder_builds_papers_with_classes_and_citations(tmp_path: Path) -> None:
    corpus = tmp_path / "citeseer"
    corpus.mkdir()
    (corpus / "citeseer_texts.txt").write_text(
        "p1\nGraph Mining Methods We study frequent subgraph mining in large graphs.\nML\n"
        "p2\nBroken Record Here\nNOT_A_CLASS\n"
        "p3\nAgent Talk Protocols Software agents negotiate with other agents over graphs.\nAgents\n",
        encoding="utf-8")
    (corpus / "citeseer.cites").write_text("p1\tp3\np1\tunknown\n", encoding="utf-8")
    (corpus / "LICENSE.TAPE").write_text("MIT License\n", encoding="utf-8")  # the data set's licence: no document
    db = str(tmp_path / "citeseer.db")
    first = _json("build", str(corpus), "--domain", "papers", "--store", db, code=3)  # 3: done, with failures
    assert [f["source"] for f in first["failures"]] == [f"{corpus / 'citeseer_texts.txt'}:4"]  # type: ignore[index]
    assert first["documents"] == 2 and first["failed_documents"] == 1
    stats = _json("stats", "--store", db)
    assert stats["labels"]["Paper"] == 2 and stats["relation_types"]["CITES"] == 1  # type: ignore[index]
    assert stats["relation_types"]["MENTIONS"] > 0  # concepts of the abstracts, linked to their papers
    with SQLiteGraphStore(db) as store:
        (paper,) = store.find_entities("Graph Mining Methods")
        assert paper.properties["category"] == "ML" and paper.description and paper.description.startswith("We study")
    again = _json("build", str(corpus), "--domain", "papers", "--store", db, code=3)
    assert again["new_entities"] == 0 and again["new_relations"] == 0
