"""``kgweave eval extraction`` as a real process: the shared SciER dev set, a user's triples, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.artifacts import artifacts_of, embedded_pngs
from tests.conftest import SHARED_DATA, require
from tests.flows.test_cli import kgweave_env, run_kgweave
from tests.llm_fixtures import llm_server_fixture  # noqa: F401
from tests.llm_server import LLMTestServer

pytestmark = pytest.mark.usefixtures("prefect_api")

DATA = Path(__file__).resolve().parents[1] / "data"
SCIER_DEV = SHARED_DATA / "scier_dev" / "dev_spans.jsonl"
PRF = ("precision", "recall", "f1")


def _scores(report: dict[str, object]) -> dict[str, dict[str, float]]:
    ents, rels = report["entities"], report["relations"]
    return {"entities.exact": ents["exact"], "entities.overlap": ents["overlap"],  # type: ignore[index]
            "relations.exact": rels["exact"], "relations.overlap": rels["overlap"],  # type: ignore[index]
            "relations.typed": rels["typed"], "graph_pairs": report["graph_pairs"]}  # type: ignore[index,dict-item]


def test_scier_dev_with_the_offline_extractor(tmp_path: Path) -> None:
    require(SCIER_DEV.is_file(), f"the SciER dev set {SCIER_DEV} is missing")
    db = tmp_path / "scier.db"
    done = run_kgweave("eval", "extraction", str(SCIER_DEV), "--format", "dygie", "--extractor", "cooccurrence",
                       "--store", str(db), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    for key in ("documents", "gold_entities", "gold_relations", "entities", "relations", "graph_pairs", "llm_calls",
                "tokens", "tokens_per_gold_relation_found", "store", "conventions"):
        assert key in report, key
    assert (report["documents"], report["gold_entities"], report["gold_relations"]) == (10, 2234, 1132)
    assert report["store"] == str(db) and report["skipped_gold_lines"] == []
    for name, s in _scores(report).items():
        assert all(0.0 <= s[k] <= 1.0 for k in PRF), (name, s)
    assert set(report["entities"]["by_type"]) == {"Method", "Task", "Dataset"}
    assert report["entities"]["overlap"]["f1"] > 0.3
    assert report["entities"]["exact"]["f1"] >= 0.5  # issue 17's targets for the offline extractor
    assert report["relations"]["overlap"]["f1"] >= 0.4
    assert report["relations"]["exact"]["f1"] < report["relations"]["overlap"]["f1"]
    assert report["llm_calls"] == report["tokens"] == 0
    assert {"relation_ends", "relations.typed", "graph_pairs"} <= set(report["conventions"])
    with SQLiteGraphStore(db) as store:
        assert store.counts().documents == 10
        runs = [r for r in store.runs() if r.kind == "eval"]
    assert [(r.status, r.parameters["evaluation"]) for r in runs] == [("completed", "extraction")]
    assert runs[0].summary["entities.overlap.f1"] == report["entities"]["overlap"]["f1"]


def test_triples_into_a_temporary_store_with_bad_lines_reported() -> None:
    gold = DATA / "extraction_gold.triples.csv"
    done = run_kgweave("eval", "extraction", str(gold), "--format", "triples", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["documents"], report["gold_relations"]) == (1, 2)
    assert [e["line"] for e in report["skipped_gold_lines"]] == [4, 5, 6]
    assert [line.split(": skipped:")[0] for line in done.stderr.splitlines() if ": skipped:" in line] == [
        f"{gold}:4", f"{gold}:5", f"{gold}:6"]
    assert not Path(report["store"]).exists()  # the temporary store is removed
    markdown = str(artifacts_of(["evaluate-extraction"], report["run_id"])["evaluate-extraction"].data)
    assert "| entities, exact span |" in markdown and "## Conventions" in markdown and "relation_ends" in markdown
    assert len(embedded_pngs(markdown)) == 1  # the scores as a bar chart


def test_relation_types_mapping_and_human_output(tmp_path: Path) -> None:
    mapping = tmp_path / "types.json"
    mapping.write_text(json.dumps({"USES": "Used-For"}), "utf-8")
    done = run_kgweave("eval", "extraction", str(DATA / "extraction_gold.triples.jsonl"), "--format", "triples",
                       "--relation-types", str(mapping))
    assert done.returncode == 0, done.stderr
    assert "entities overlap" in done.stdout and "relations typed" in done.stdout
    runs = json.loads(run_kgweave("eval", "extraction", str(DATA / "extraction_gold.triples.jsonl"), "--format",
                                  "triples", "--relation-types", str(mapping), "--json").stdout)
    assert runs["relation_types"] == {"USES": "Used-For"}
    assert [e["line"] for e in runs["skipped_gold_lines"]] == [3, 4]


def test_llm_extractor_mechanics_calls_and_tokens(llm_server: LLMTestServer, tmp_path: Path) -> None:
    """The test server says nothing about quality: only that calls and tokens reach the report."""
    env = {**kgweave_env(), "KGWEAVE_LLM_CACHE_DIR": str(tmp_path / "llm-cache")}
    done = run_kgweave("eval", "extraction", str(DATA / "extraction_gold.dygie.jsonl"), "--extractor", "llm",
                       "--domain", "papers", "--llm-base-url", llm_server.base_url, "--llm-model", "kgweave-test-model",
                       "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["extractor"] == "llm" and report["model"] == "kgweave-test-model"
    assert report["llm_calls"] == len(llm_server.chat_requests) == 2  # one chunk per gold document
    assert report["tokens"] > 0
    found = report["relations"]["overlap"]["found_gold"]
    assert report["tokens_per_gold_relation_found"] == (round(report["tokens"] / found, 2) if found else None)
    for name, s in _scores(report).items():
        assert all(0.0 <= s[k] <= 1.0 for k in PRF), (name, s)
    gleaning = report["gleaning"]
    assert (gleaning["passes"], gleaning["llm_calls"], gleaning["tokens"], gleaning["extra_gold_relations_found"]) \
        == (0, 0, 0, 0)
    assert gleaning["relations_without_gleaning"] == report["relations"]


def test_gleaning_reports_its_calls_tokens_and_the_gold_relations_only_it_found(
        llm_server: LLMTestServer, tmp_path: Path) -> None:
    # The test server answers three names a call, a follow-up only names not given yet: pass 1 gives Alpha Net,
    # Beta Net, Gamma Set (related in a cycle), gleaning pass 1 Delta Task, Epsilon Tool, Zeta Data, pass 2 the
    # words "beats" and "helps", pass 3 nothing (early stop). Gold: Alpha Net-Beta Net, Epsilon Tool-Zeta Data.
    sentences = [["Alpha", "Net", "beats", "Beta", "Net", "."], ["Gamma", "Set", "helps", "Delta", "Task", "."],
                 ["Epsilon", "Tool", "uses", "Zeta", "Data", "."]]
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({
        "doc_key": "g", "sentences": sentences,
        "ner": [[[0, 1, "Method"], [3, 4, "Method"]], [[6, 7, "Dataset"], [9, 10, "Task"]],
                [[12, 13, "Method"], [15, 16, "Dataset"]]],
        "relations": [[[0, 1, 3, 4, "Compare-With"]], [], [[12, 13, 15, 16, "Used-For"]]],
    }) + "\n", "utf-8")
    env = {**kgweave_env(), "KGWEAVE_LLM_CACHE_DIR": str(tmp_path / "llm-cache")}
    done = run_kgweave("eval", "extraction", str(gold), "--extractor", "llm", "--domain", "papers",
                       "--llm-base-url", llm_server.base_url, "--llm-model", "kgweave-test-model", "--gleaning", "5",
                       "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    requests = llm_server.chat_requests
    follow_ups = [r for r in requests if any(m["role"] == "assistant" for m in r.body["messages"])]
    assert report["llm_calls"] == len(requests) == 4 and len(follow_ups) == 3  # stopped before pass 5
    gleaning = report["gleaning"]
    assert gleaning["passes"] == 5 and gleaning["llm_calls"] == 3
    assert 0 < gleaning["tokens"] < report["tokens"]
    assert gleaning["gleaned_relation_observations"] > 0
    assert report["relations"]["overlap"]["found_gold"] == 2
    assert gleaning["relations_without_gleaning"]["overlap"]["found_gold"] == 1
    assert gleaning["extra_gold_relations_found"] == 1
    assert gleaning["tokens_per_extra_gold_relation"] == gleaning["tokens"]
    assert gleaning["relations_without_gleaning"]["overlap"]["predicted"] < report["relations"]["overlap"]["predicted"]


@pytest.mark.parametrize(("args", "message"), [
    (("no-such-gold.jsonl",), "no such gold file: no-such-gold.jsonl"),
    ((str(DATA / "extraction_gold.dygie.jsonl"), "--format", "triples"), "no gold document in triples format"),
    ((str(DATA / "hobbit_gold.csv"),), "no gold document in dygie format (line 1: not JSON"),
    ((str(DATA / "extraction_gold.dygie.jsonl"), "--format", "brat"), "invalid choice: 'brat'"),
    ((str(DATA / "extraction_gold.dygie.jsonl"), "--relation-types", str(DATA / "hobbit_gold.csv")),
     "cannot read a JSON object"),
    ((str(DATA / "extraction_gold.dygie.jsonl"), "--relation-types", str(DATA / "extraction_gold.dygie.jsonl")),
     "cannot read a JSON object"),
    ((str(DATA / "extraction_gold.dygie.jsonl"), "--relation-types", str(DATA / "types_list.json")),
     "bad option relation_types: Input should be a valid dictionary"),
    ((str(DATA / "extraction_gold.dygie.jsonl"), "--gleaning", "-1"),
     "bad option gleaning: Input should be greater than or equal to 0"),
])
def test_bad_gold_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    done = run_kgweave("eval", "extraction", *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
