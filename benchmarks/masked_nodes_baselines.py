"""What a masked paper's neighbourhood says about it, on the ICLR-2023 set, without any LLM.

Builds the research graph of ResearchTown's ICLR-2023 review set (``--domain papers``, offline
co-occurrence concepts) in a temporary SQLite store, masks ``--nodes`` papers chosen as
``kgweave eval masked-nodes`` chooses them, and scores against each real abstract (all-MiniLM-L6-v2
cosine):

- ``neighbourhood_text``: the TextGNN messages themselves, concatenated (authors' bios or other
  papers, cited papers, topics): what the LLM is given, used verbatim;
- ``nearest_neighbour``: the abstract of the visible paper sharing most authors (the eval's baseline);
- ``random_paper``: a random visible paper's abstract (chance level).

An LLM's regenerated abstracts (``kgweave eval masked-nodes``) should be read against these three.
Usage: ``python benchmarks/masked_nodes_baselines.py [--nodes 100] [--seed 0]``; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kgweave.agents.cooccurrence import CooccurrenceExtractor  # noqa: E402
from kgweave.agents.embeddings import MiniLMEmbedder  # noqa: E402
from kgweave.agents.pipeline import extract_documents  # noqa: E402
from kgweave.agents.sources.records import load_domain_source  # noqa: E402
from kgweave.agents.text_gnn import (  # noqa: E402
    nearest_neighbour_paper,
    paper_neighbourhood,
    papers_with_text,
    select_masked,
)
from kgweave.analysis.evaluation import distribution  # noqa: E402
from kgweave.graph_store.sqlite_store import SQLiteGraphStore  # noqa: E402


def shared_data() -> Path:
    """As tests/conftest.py: $KGWEAVE_SHARED_DATA, ../shared/data beside the checkout, /work/shared/data."""
    for candidate in (os.environ.get("KGWEAVE_SHARED_DATA"), REPO.parent / "shared" / "data", "/work/shared/data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise SystemExit("shared data folder not found (set KGWEAVE_SHARED_DATA)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    source = load_domain_source([shared_data() / "researchtown_agent_data" / "iclr2023_review_score_papers"], "papers")
    with tempfile.TemporaryDirectory() as tmp, SQLiteGraphStore(Path(tmp) / "iclr.db") as store:
        store.upsert(source.graph.delta("bench"))
        store.upsert(source.graph.link(extract_documents(source.documents, CooccurrenceExtractor(), run_id="bench",
                                                         fingerprint="bench")).delta)
        build_s = time.perf_counter() - started
        papers = papers_with_text(store)
        chosen = select_masked(papers, store, args.nodes, args.seed)
        hidden = {p.id for p in chosen}
        visible = [p for p in papers if p.id not in hidden]
        rng = random.Random(args.seed + 1)
        rows: dict[str, list[tuple[str, str]]] = {"neighbourhood_text": [], "nearest_neighbour": [], "random_paper": []}
        for paper in chosen:
            hood = paper_neighbourhood(store, paper.id, hidden)
            rows["neighbourhood_text"].append((" ".join(f"{m.name}: {m.text or ''}" for m in hood.neighbours),
                                               paper.description or ""))
            near = nearest_neighbour_paper(store, paper.id, hidden)
            if near is not None:
                rows["nearest_neighbour"].append((near.description or "", paper.description or ""))
            rows["random_paper"].append((rng.choice(visible).description or "", paper.description or ""))
        select_s = time.perf_counter() - started - build_s
        embedder = MiniLMEmbedder()
        scores = {}
        for name, pairs in rows.items():
            left, right = embedder.embed([a for a, _ in pairs]), embedder.embed([b for _, b in pairs])
            scores[name] = distribution(float(x) for x in (left * right).sum(axis=1)).model_dump()
    chance = scores["random_paper"]["mean"] or 1.0
    print(json.dumps({
        "benchmark": "masked_nodes_baselines", "papers": len(papers), "masked": len(chosen), "seed": args.seed,
        "embedding_model": embedder.name, "cosine": scores,
        "ratio_to_random": {k: round((v["mean"] or 0.0) / chance, 3) for k, v in scores.items()},
        "build_seconds": round(build_s, 2), "select_seconds": round(select_s, 2),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }))


if __name__ == "__main__":
    main()
