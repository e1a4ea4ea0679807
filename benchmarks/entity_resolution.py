"""Entity resolution at 10k and 100k names: seconds per layer, and precision/recall of the merges.

Names are real concept names (the node ids of BioGraph.graphml in the shared data; for sizes beyond
its ~12k concepts, two-concept compositions such as "bone regeneration of calcium ions") with planted
variant groups: case, plural, hyphen/space, typo, acronym, word order and a leading "the". Precision
and recall are over pairs: a pair of names is a true merge when both come from one planted group.

Usage: ``python benchmarks/entity_resolution.py [--sizes 10000 100000] [--index auto|exact|hnsw]
[--no-embeddings] [--device cpu|cuda]``; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kgweave.agents.resolution import ResolutionConfig, initials_of, loose_key, resolve_report  # noqa: E402

VARIANTS = ("case", "plural", "hyphen", "typo", "acronym", "word_order", "article")


def shared_data() -> Path:
    """As tests/conftest.py: $KGWEAVE_SHARED_DATA, ../shared/data beside the checkout, /work/shared/data."""
    for candidate in (os.environ.get("KGWEAVE_SHARED_DATA"), REPO.parent / "shared" / "data", "/work/shared/data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise SystemExit("shared data folder not found (set KGWEAVE_SHARED_DATA)")


def concept_names() -> list[str]:
    text = (shared_data() / "graphreasoning_biograph" / "BioGraph.graphml").read_text(encoding="utf-8")
    names = [re.sub(r"&amp;", "&", m) for m in re.findall(r'<node id="([^"]+)"', text)]
    seen: set[str] = set()
    kept = []
    for name in names:
        key = loose_key(name)
        if 3 <= len(name) <= 60 and key and key not in seen and not re.search(r"\d", name):
            seen.add(key)
            kept.append(name)
    return kept


def variant(name: str, kind: str, rng: random.Random) -> str | None:
    words = name.split()
    if kind == "case":
        return name.title() if name != name.title() else name.upper()
    if kind == "plural":
        return name[:-1] if name.endswith("s") and not name.endswith("ss") else name + "s"
    if kind == "hyphen":
        return "-".join(words) if len(words) > 1 else None
    if kind == "typo":
        if len(name) < 7:
            return None
        i = rng.randrange(2, len(name) - 2)
        if not name[i].isalpha() or not name[i + 1].isalpha():
            return None
        return name[:i] + name[i + 1] + name[i] + name[i + 2:] if rng.random() < 0.5 else name[:i] + name[i + 1:]
    if kind == "acronym":
        initials = initials_of(name)
        return initials + "s" if initials and 3 <= len(initials) <= 5 else None
    if kind == "word_order":
        return f"{words[1]} of {words[0]}" if len(words) == 2 else None
    if kind == "article":
        return "the " + name
    raise ValueError(kind)


def make_names(size: int, seed: int = 0) -> tuple[list[tuple[str, str, str, int]], list[int], dict[int, str]]:
    """``size`` entity rows, the planted group of each (a base's group is its row index), variant kinds."""
    rng = random.Random(seed)
    real = concept_names()
    rng.shuffle(real)
    distinct_needed = int(size * 0.65)
    bases = list(real[:distinct_needed])
    keys = {loose_key(b) for b in bases}
    while len(bases) < distinct_needed:
        a, b = rng.sample(real, 2)
        composed = f"{a} {b}" if rng.random() < 0.5 else f"{a} of {b}"
        if loose_key(composed) not in keys and len(composed) <= 60:
            keys.add(loose_key(composed))
            bases.append(composed)
    rows: list[tuple[str, str, str, int]] = []
    groups: list[int] = []
    kinds: dict[int, str] = {}
    for g, base in enumerate(bases):
        rows.append((f"e{len(rows)}", base, "Concept", rng.randint(1, 20)))
        groups.append(g)
    while len(rows) < size:
        g = rng.randrange(len(bases))
        kind = rng.choice(VARIANTS)
        name = variant(bases[g], kind, rng)
        if not name or name == bases[g]:
            continue
        rows.append((f"e{len(rows)}", name, rng.choice(("Concept", "NamedEntity")), rng.randint(1, 5)))
        groups.append(g)
        kinds[len(rows) - 1] = kind
    return rows, groups, kinds


def pair_scores(rows: list[tuple[str, str, str, int]], groups: list[int], merges: list) -> dict[str, float]:
    index = {r[0]: i for i, r in enumerate(rows)}
    predicted = list(range(len(rows)))
    for m in merges:
        predicted[index[m.alias_id]] = index[m.canonical_id]

    def pairs(counter: Counter) -> int:
        return sum(k * (k - 1) // 2 for k in counter.values())

    true_pairs = pairs(Counter(groups))
    found_pairs = pairs(Counter(predicted))
    correct = pairs(Counter(zip(predicted, groups, strict=True)))
    return {
        "true_pairs": true_pairs, "predicted_pairs": found_pairs, "correct_pairs": correct,
        "precision": round(correct / found_pairs, 4) if found_pairs else 1.0,
        "recall": round(correct / true_pairs, 4) if true_pairs else 1.0,
    }


def recall_by_kind(rows: list[tuple[str, str, str, int]], groups: list[int], kind_of: dict[int, str],
                   merges: list) -> dict[str, float]:
    """Share of the planted variants of each kind that ended up with their base name."""
    index = {r[0]: i for i, r in enumerate(rows)}
    predicted = list(range(len(rows)))
    for m in merges:
        predicted[index[m.alias_id]] = index[m.canonical_id]
    hits: Counter[str] = Counter()
    for i, kind in kind_of.items():
        hits[kind] += predicted[i] == predicted[groups[i]]
    totals = Counter(kind_of.values())
    return {k: round(hits[k] / totals[k], 3) for k in sorted(totals)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--index", choices=("auto", "exact", "hnsw"), default="auto")
    parser.add_argument("--no-embeddings", action="store_true")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    embedder = None
    if not args.no_embeddings:
        from kgweave.agents.embeddings import MiniLMEmbedder

        embedder = MiniLMEmbedder(device=args.device)
    import torch

    result: dict[str, object] = {
        "benchmark": "entity_resolution", "python": platform.python_version(), "cpus": os.cpu_count(),
        "device": (torch.cuda.get_device_name(0) if torch.cuda.is_available() and args.device != "cpu" else "cpu"),
        "torch_threads": torch.get_num_threads(), "embedding_model": embedder.name if embedder else None,
        "index": args.index, "runs": [],
    }
    for size in args.sizes:
        rows, groups, kinds = make_names(size)
        config = ResolutionConfig(index=args.index)
        started = time.perf_counter()
        report = resolve_report(rows, embedder, config, run_id=f"bench-{size}")
        total = time.perf_counter() - started
        methods = Counter(m.method for m in report.merges)
        result["runs"].append({  # type: ignore[union-attr]
            "names": size, "planted_variants": dict(sorted(Counter(kinds.values()).items())),
            "seconds_total": round(total, 2),
            "seconds": {k: round(v, 2) for k, v in report.seconds.items()}, "pairs": report.pairs,
            "merges": len(report.merges), "merges_by_method": dict(sorted(methods.items())),
            **pair_scores(rows, groups, report.merges),
            "recall_by_variant": recall_by_kind(rows, groups, kinds, report.merges),
        })
        print(json.dumps(result["runs"][-1]), file=sys.stderr)  # type: ignore[index]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
