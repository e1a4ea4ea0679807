"""What the TAPE step of ``kgweave train --tape`` costs, and what its two caches save.

A subset of CiteSeer (the first ``--papers`` papers of ../shared/data/citeseer_tape_text, with the
citations among them) goes into a temporary SQLite store. :func:`agents.explanations.explain_store`
asks the OpenAI-compatible test server (tests/llm_server.py, ``--latency`` seconds per answer, as a
real model would take) for each paper's class and explanation through the real ``openai`` client,
and embeds the explanations with all-MiniLM-L6-v2. Then it runs again on the same store (the stored
vectors' input hashes match: nothing is asked or embedded) and once on a fresh copy of the store with
the same LLM cache (nothing is asked, everything is embedded).

No accuracy is reported: the test server's answers are synthetic (it predicts the category whose
name occurs in the text, else one chosen by a hash), so a GCN trained on them says nothing about
TAPE. Run TAPE against a real model for that (``kgweave train --tape --llm-base-url ...``).

Prints one JSON object. Usage: python benchmarks/tape_features.py [--papers 200] [--latency 0.2]
[--concurrency 32] [--shared-data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kgweave.agents.embeddings import MiniLMEmbedder  # noqa: E402
from kgweave.agents.explanations import TapeReport, explain_store  # noqa: E402
from kgweave.agents.llm_client import LLMConfig  # noqa: E402
from kgweave.agents.sources.citeseer import citeseer_delta  # noqa: E402
from kgweave.graph_store.models import GraphDelta  # noqa: E402
from kgweave.graph_store.sqlite_store import SQLiteGraphStore  # noqa: E402
from tests.llm_server import LLMTestServer  # noqa: E402


def subset(folder: Path, papers: int) -> GraphDelta:
    """The first ``papers`` papers of the CiteSeer files and the citations among them."""
    delta, failures = citeseer_delta(folder, run_id="bench-tape")
    if failures:
        raise SystemExit(f"{len(failures)} CiteSeer lines failed to load; first: {failures[0]}")
    entities = delta.entities[:papers]
    keep = {e.id for e in entities}
    relations = tuple(r for r in delta.relations if r.source_id in keep and r.target_id in keep)
    return GraphDelta(run_id=delta.run_id, extractor=delta.extractor, entities=entities, relations=relations)


def timed(path: Path, config: LLMConfig, embedder: MiniLMEmbedder) -> tuple[float, TapeReport]:
    started = time.perf_counter()
    with SQLiteGraphStore(path) as store:
        report = explain_store(store, config, embedder, "category", entity_label="Paper")
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the test server takes per answer")
    parser.add_argument("--concurrency", type=int, default=32, help="LLM requests in flight")
    parser.add_argument("--shared-data", default=str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    delta = subset(Path(args.shared_data) / "citeseer_tape_text", args.papers)
    embedder = MiniLMEmbedder()
    embedder.embed(["warm-up"])  # model load is not part of any run below
    with tempfile.TemporaryDirectory() as tmp, LLMTestServer() as server:
        server.latency_s = args.latency
        config = LLMConfig(base_url=server.base_url, model="test-model", cache_dir=Path(tmp) / "llm-cache",
                           concurrency=args.concurrency)
        for name in ("a.db", "b.db"):
            with SQLiteGraphStore(Path(tmp) / name) as store:
                store.upsert(delta)
        first_s, first = timed(Path(tmp) / "a.db", config, embedder)
        again_s, again = timed(Path(tmp) / "a.db", config, embedder)
        embedder._memory.clear()  # the fresh store must embed for real, not from this embedder's memory
        fresh_s, fresh = timed(Path(tmp) / "b.db", config, embedder)
        requests = len(server.chat_requests)
    ideal_llm_s = first.llm_calls * args.latency / args.concurrency
    print(json.dumps({
        "benchmark": "tape_features", "cpu": platform.machine(), "papers": len(delta.entities),
        "classes": first.classes, "latency_s": args.latency, "concurrency": args.concurrency,
        "first_run": {"seconds": round(first_s, 3), "llm_calls": first.llm_calls, "explained": first.explained,
                      "failed": first.failed, "ideal_llm_seconds": round(ideal_llm_s, 3)},
        "rerun_same_store": {"seconds": round(again_s, 3), "llm_calls": again.llm_calls,
                             "explained": again.explained, "unchanged": again.unchanged},
        "fresh_store_same_llm_cache": {"seconds": round(fresh_s, 3), "llm_calls": fresh.llm_calls,
                                       "cached_llm_calls": fresh.cached_llm_calls, "explained": fresh.explained},
        "server_chat_requests": requests,
        "ratio_rerun_over_first": round(again_s / first_s, 4),
        "ratio_fresh_store_over_first": round(fresh_s / first_s, 4),
        "accuracy": None,
        "accuracy_note": "not measured: the test server's answers are synthetic; use a real LLM",
    }))


if __name__ == "__main__":
    main()
