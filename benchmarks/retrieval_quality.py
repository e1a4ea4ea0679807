"""Retrievability of known facts through ``kgweave ask`` (MINE-style, KGGen 2025), and retrieval time per question.

Measures, in one run:
- SciER dev (../shared/data/scier_dev/dev_spans.jsonl, DyGIE format, read through
  ``agents.sources.gold.parse_gold``; GPL-3.0, never copied into the project): every document is built
  into a SQLite store with the offline extractor (and, with ``--llm-server``, with the LLM extractor
  against the test LLM server, tests/llm_server.py). For each gold relation the question
  ``What is known about <head>?`` is asked (``local`` mode, retrieval only, no LLM). The fact is
  *retrieved* when an evidence chunk's text contains the tail span (exact, case-insensitive: no LLM
  judge) and *retrieved at span level* when an evidence item's own span text (the relation's two
  mentions and what lies between them) contains it. ``linked`` is the share of questions whose head
  links to an entity at all. With ``--neo4j`` the same store is pushed into a fresh Neo4j (started by
  deploy/neo4j_server.py) and asked the same questions: ``parity`` is the share of questions with
  identical evidence in both stores.
- Retrieval time per question (median, p90; linking, expansion, ranking and evidence reads, no LLM) on a
  store of ``--big`` abstract-sized documents (the ResearchTown ICLR-2023 abstracts repeated with a
  distinct numeric prefix per copy, as benchmarks/build_throughput.py does), built with the plain
  pipeline (offline extractor), for ``--questions`` entity names drawn with a fixed seed and for the
  ``--hubs`` entities with the most relations (the largest neighbourhoods: the worst case).

Prints one JSON object. Usage:
    python benchmarks/retrieval_quality.py [--big 10000] [--questions 200] [--hubs 50] [--neo4j] [--llm-server]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.llm_server (--llm-server)

from _shared import SHARED  # noqa: E402 (benchmarks/_shared.py beside this script)

from kgweave.agents.answering import ask  # noqa: E402
from kgweave.agents.extractor import Extractor  # noqa: E402
from kgweave.agents.pipeline import extract_documents  # noqa: E402
from kgweave.agents.registry import make_extractor  # noqa: E402
from kgweave.agents.sources.gold import GoldDocument, parse_gold  # noqa: E402
from kgweave.analysis.retrieval import AskOptions, NoLinkError  # noqa: E402
from kgweave.graph_store.models import Document  # noqa: E402
from kgweave.graph_store.protocol import GraphStore  # noqa: E402
from kgweave.graph_store.sqlite_store import SQLiteGraphStore  # noqa: E402

GOLD = SHARED / "scier_dev" / "dev_spans.jsonl"
ICLR = SHARED / "researchtown_agent_data" / "iclr2023_review_score_papers"
OPTIONS = AskOptions(mode="local", hops=2, top=20, use_llm=False)
PASSWORD = "kgweave-bench"


def build(store: GraphStore, documents: Sequence[Document], extractor: Extractor, batch: int = 500) -> float:
    """Extract and write ``documents`` in batches; returns seconds."""
    started = time.perf_counter()
    for i in range(0, len(documents), batch):
        result = extract_documents(documents[i:i + batch], extractor, run_id="bench", fingerprint="bench")
        store.upsert(result.delta)
    return round(time.perf_counter() - started, 2)


def question_of(head: str) -> str:
    return f"What is known about {head}?"


def retrievability(store: GraphStore, gold: Sequence[GoldDocument]) -> tuple[dict[str, object], list[list[str]]]:
    """The share of gold relations whose tail the question about their head retrieves, and each question's
    evidence (relation ids and chunk ids, for the parity check)."""
    facts = linked = chunk_hits = span_hits = 0
    seconds: list[float] = []
    evidence: list[list[str]] = []
    for doc in gold:
        for relation in doc.relations:
            head = doc.text[relation.head.start:relation.head.end]
            tail = doc.text[relation.tail.start:relation.tail.end].casefold()
            facts += 1
            started = time.perf_counter()
            try:
                result = ask(store, question_of(head), OPTIONS)
            except NoLinkError:
                seconds.append(time.perf_counter() - started)
                evidence.append([])
                continue
            seconds.append(time.perf_counter() - started)
            linked += 1
            texts = {c.id: c.text.casefold() for c in store.chunks({e.chunk_id for e in result.evidence if e.chunk_id})}
            chunk_hits += any(tail in text for text in texts.values())
            span_hits += any(tail in item.text.casefold() for item in result.evidence)
            evidence.append([f"{e.relation_id}@{e.chunk_id}" for e in result.evidence])
    return {
        "facts": facts,
        "linked": round(linked / facts, 4) if facts else 0.0,
        "retrieved": round(chunk_hits / facts, 4) if facts else 0.0,
        "retrieved_span": round(span_hits / facts, 4) if facts else 0.0,
        "median_s": round(statistics.median(seconds), 4) if seconds else None,
    }, evidence


def timing(store: GraphStore, questions: Sequence[str]) -> dict[str, object]:
    """Median and p90 seconds of retrieval for ``questions`` (entity names, so nearly all link)."""
    seconds = []
    evidence = unlinked = 0
    for question in questions:
        started = time.perf_counter()
        try:
            evidence += len(ask(store, question, OPTIONS).evidence)
        except NoLinkError:  # a name that is all function words, say: timed all the same (suggestions included)
            unlinked += 1
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return {"questions": len(questions), "unlinked": unlinked, "median_s": round(statistics.median(seconds), 4),
            "p90_s": round(seconds[int(0.9 * (len(seconds) - 1))], 4), "max_s": round(seconds[-1], 4),
            "mean_evidence": round(evidence / len(questions), 1)}


def hub_names(store: GraphStore, n: int) -> list[str]:
    """The names of the ``n`` entities with the most relations (the worst case for a neighbourhood)."""
    snapshot = store.snapshot()
    degree: dict[str, int] = {}
    for edge in snapshot.edges:
        degree[edge.source] = degree.get(edge.source, 0) + 1
        degree[edge.target] = degree.get(edge.target, 0) + 1
    names = {node.id: node.name for node in snapshot.nodes}
    return [names[i] for i in sorted(degree, key=lambda i: (-degree[i], i))[:n]]


def relation_observations(store: GraphStore) -> int:
    return sum(edge.support for edge in store.snapshot().edges)


def abstracts(size: int) -> list[Document]:
    base = []
    for file in sorted(ICLR.glob("*.json")):
        for title, value in json.loads(file.read_text(encoding="utf-8")).items():
            if value.get("abstract"):
                base.append((title, value["abstract"]))
    docs = []
    for i in range(size):
        title, text = base[i % len(base)]
        copy = i // len(base)
        docs.append(Document.from_text(text if copy == 0 else f"[{copy}] {text}", source=f"iclr#{i}", title=title))
    return docs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_neo4j(work: Callable[[GraphStore], dict[str, object]]) -> dict[str, object]:
    """Run ``work`` on a fresh Neo4j started in a temporary home (the shared jars)."""
    from kgweave.deploy.neo4j_server import Neo4jServer
    from kgweave.graph_store.neo4j_store import Neo4jGraphStore

    jars = Path(os.environ.get("KGWEAVE_NEO4J_HOME") or REPO / ".kgweave" / "neo4j")
    server = Neo4jServer(Path(tempfile.mkdtemp(prefix="kgweave-bench-neo4j-")), bolt_port=free_port(),
                         http_port=free_port(), password=PASSWORD, jars_home=jars)
    try:
        status = server.start(wait_s=240)
        with Neo4jGraphStore(status.bolt_url, password=PASSWORD) as store:
            store.ensure_schema()
            return work(store)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--big", type=int, default=10000, help="documents of the timing store (0: skip)")
    parser.add_argument("--questions", type=int, default=200, help="random entity names asked on the big store")
    parser.add_argument("--hubs", type=int, default=50, help="highest-degree entity names asked on the big store")
    parser.add_argument("--neo4j", action="store_true", help="also through a fresh Neo4j (parity and timing)")
    parser.add_argument("--llm-server", action="store_true", help="also build SciER with the LLM extractor "
                                                                  "against the test LLM server")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from kgweave.graph_store.transfer import push

    gold = parse_gold(args.gold.read_text(encoding="utf-8"), "dygie").documents
    documents = [Document.from_text(doc.text, source=f"scier#{doc.key}") for doc in gold]
    out: dict[str, object] = {
        "benchmark": "retrieval_quality",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "options": OPTIONS.model_dump(),
        "question": question_of("<head>"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        scier = SQLiteGraphStore(Path(tmp) / "scier.db")
        build_s = build(scier, documents, make_extractor("cooccurrence"))
        scores, sqlite_evidence = retrievability(scier, gold)
        out["scier_offline"] = {"documents": len(gold), "build_s": build_s, "entities": scier.counts().entities,
                                "relations": scier.counts().relations, "sqlite": scores}
        if args.neo4j:
            def scier_neo4j(store: GraphStore) -> dict[str, object]:
                push(scier, store)
                scores, evidence = retrievability(store, gold)
                same = sum(a == b for a, b in zip(sqlite_evidence, evidence, strict=True))
                return {**scores, "parity": round(same / len(evidence), 4)}

            out["scier_offline"]["neo4j"] = with_neo4j(scier_neo4j)  # type: ignore[index]
        if args.llm_server:
            from kgweave.agents.llm_client import LLMConfig
            from tests.llm_server import LLMTestServer

            with LLMTestServer() as server:
                config = LLMConfig(base_url=server.base_url, model="test-model", cache_dir=Path(tmp) / "llm-cache")
                llm_store = SQLiteGraphStore(Path(tmp) / "scier-llm.db")
                build_s = build(llm_store, documents, make_extractor("llm", llm_config=config, domain="papers"))
                scores, _ = retrievability(llm_store, gold)
                out["scier_llm_test_server"] = {"build_s": build_s, "entities": llm_store.counts().entities,
                                                "relations": llm_store.counts().relations, "sqlite": scores}
        if args.big:
            big = SQLiteGraphStore(Path(tmp) / "big.db")
            build_s = build(big, abstracts(args.big), make_extractor("cooccurrence"))
            names = sorted({e.name for e in big.entities()})
            questions = [question_of(name) for name in random.Random(args.seed).sample(names, args.questions)]
            hubs = [question_of(name) for name in hub_names(big, args.hubs)]
            counts = big.counts()
            out["big_store"] = {"documents": args.big, "build_s": build_s, "entities": counts.entities,
                                "relations": counts.relations, "relation_observations": relation_observations(big),
                                "sqlite": {"random": timing(big, questions), "hubs": timing(big, hubs)}}
            if args.neo4j:
                def big_neo4j(store: GraphStore) -> dict[str, object]:
                    started = time.perf_counter()
                    push(big, store)
                    return {"push_s": round(time.perf_counter() - started, 1), "random": timing(store, questions),
                            "hubs": timing(store, hubs)}

                out["big_store"]["neo4j"] = with_neo4j(big_neo4j)  # type: ignore[index]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
