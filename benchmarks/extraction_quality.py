"""Quick extraction quality of the offline extractor against SciER dev gold spans (DyGIE format).

Conventions (a quick benchmark; the official harness is ``kgweave eval extraction``):
- Text: each document's tokens joined by single spaces, sentences joined by one space. Gold token
  spans (document-level, inclusive) map to character spans ``[start, end)`` of that text.
- Extraction: the documents run through ``agents.pipeline.extract_documents`` with the default
  chunk size; predicted mentions carry document offsets. Entity types are ignored.
- Entities: micro P/R/F1 over distinct (document, span) pairs; ``exact`` needs identical character
  spans; ``overlap`` counts a prediction correct when it overlaps any gold span, and a gold span
  found when any prediction overlaps it.
- Relations: untyped and undirected. A predicted relation observation's ends are the mentions of
  its two entities inside its evidence sentence (located in its chunk; all the chunk's mentions
  of the entity when not found). It is correct when some pair of those ends matches a gold
  relation's two arguments (``overlap``: each end overlaps its argument; ``exact``: identical
  spans), in either order; a gold relation is found when some prediction matches it. Precision
  is over predicted observations (one per relation per chunk), recall over gold relations.
- SciER is GPL-3.0: it is read from ../shared/data/scier_dev, never copied into the project.

Prints one JSON object (scores as fractions 0-1). Usage:
    python benchmarks/extraction_quality.py [--gold FILE] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from _shared import SHARED  # noqa: E402 (benchmarks/_shared.py beside this script)

from kgweave.agents.cooccurrence import CooccurrenceExtractor
from kgweave.agents.pipeline import extract_documents
from kgweave.graph_store.models import Document, GraphDelta

REPO = Path(__file__).resolve().parents[1]
GOLD = SHARED / "scier_dev" / "dev_spans.jsonl"

Span = tuple[int, int]


class GoldDocument:
    """One DyGIE document: its text, gold entity spans and gold relation argument pairs (characters)."""

    def __init__(self, record: dict[str, object]) -> None:
        sentences: list[list[str]] = record["sentences"]  # type: ignore[assignment]
        starts: list[int] = []
        ends: list[int] = []
        position = 0
        for token in (t for sentence in sentences for t in sentence):
            starts.append(position)
            ends.append(position + len(token))
            position += len(token) + 1
        self.text = " ".join(" ".join(sentence) for sentence in sentences)
        ner: list[list[list[object]]] = record["ner"]  # type: ignore[assignment]
        relations: list[list[list[object]]] = record["relations"]  # type: ignore[assignment]
        self.entities = {(starts[int(a)], ends[int(b)]) for sentence in ner for a, b, *_ in sentence}
        self.relations = {
            ((starts[int(a)], ends[int(b)]), (starts[int(c)], ends[int(d)]))
            for sentence in relations for a, b, c, d, *_ in sentence
        }


def overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def prf(correct: int, predicted: int, found: int, gold: int) -> dict[str, float]:
    precision = correct / predicted if predicted else 0.0
    recall = found / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def relation_ends(delta: GraphDelta) -> list[tuple[list[Span], list[Span]]]:
    """The candidate spans of each relation observation's two ends (see the module's conventions)."""
    chunks = {chunk.id: chunk for chunk in delta.chunks}
    by_entity: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for mention in delta.mentions:
        by_entity[(mention.chunk_id, mention.entity_id)].append((mention.start, mention.end))
    ends = []
    for relation in delta.relations:
        chunk = chunks[relation.chunk_id or ""]
        sources = by_entity[(chunk.id, relation.source_id)]
        targets = by_entity[(chunk.id, relation.target_id)]
        at = chunk.text.find(relation.evidence or "\0")
        if at >= 0:
            low = chunk.start + at
            high = low + len(relation.evidence or "")
            inside_sources = [s for s in sources if low <= s[0] and s[1] <= high]
            inside_targets = [t for t in targets if low <= t[0] and t[1] <= high]
            if inside_sources and inside_targets:
                sources, targets = inside_sources, inside_targets
        ends.append((sources, targets))
    return ends


def score_relations(
    predicted: Sequence[tuple[list[Span], list[Span]]], gold: set[tuple[Span, Span]], exact: bool
) -> tuple[int, set[tuple[Span, Span]]]:
    """Correct predictions and the gold relations they find."""
    def match(span: Span, argument: Span) -> bool:
        return span == argument if exact else overlaps(span, argument)

    correct = 0
    found: set[tuple[Span, Span]] = set()
    for sources, targets in predicted:
        hit = False
        for pair in gold:
            first, second = pair
            if (any(match(s, first) for s in sources) and any(match(t, second) for t in targets)) or (
                any(match(s, second) for s in sources) and any(match(t, first) for t in targets)
            ):
                hit = True
                found.add(pair)
        correct += hit
    return correct, found


def evaluate(documents: Iterable[GoldDocument]) -> dict[str, object]:
    extractor = CooccurrenceExtractor()
    totals: dict[str, int] = defaultdict(int)
    one_word = 0
    seconds = 0.0
    for index, gold in enumerate(documents):
        document = Document.from_text(gold.text, f"scier-dev#{index}")
        started = time.perf_counter()
        delta = extract_documents([document], extractor, run_id="bench", fingerprint="bench").delta
        seconds += time.perf_counter() - started
        predicted = {(m.start, m.end) for m in delta.mentions}
        one_word += sum(" " not in gold.text[a:b] for a, b in predicted)
        totals["documents"] += 1
        totals["gold_entities"] += len(gold.entities)
        totals["predicted_entities"] += len(predicted)
        totals["entities_exact"] += len(predicted & gold.entities)
        totals["entities_overlap_correct"] += sum(any(overlaps(p, g) for g in gold.entities) for p in predicted)
        totals["entities_overlap_found"] += sum(any(overlaps(p, g) for p in predicted) for g in gold.entities)
        ends = relation_ends(delta)
        totals["gold_relations"] += len(gold.relations)
        totals["predicted_relations"] += len(ends)
        for kind, exact in (("exact", True), ("overlap", False)):
            correct, found = score_relations(ends, gold.relations, exact)
            totals[f"relations_{kind}_correct"] += correct
            totals[f"relations_{kind}_found"] += len(found)
    t = totals
    return {
        "benchmark": "extraction_quality",
        "gold": "scier_dev",
        "extractor": f"{extractor.name} v{extractor.version} ({extractor.settings_key()})",
        "documents": t["documents"],
        "gold_entities": t["gold_entities"],
        "predicted_mentions": t["predicted_entities"],
        "one_word_share": round(one_word / t["predicted_entities"], 3) if t["predicted_entities"] else 0.0,
        "gold_relations": t["gold_relations"],
        "predicted_relation_observations": t["predicted_relations"],
        "entities": {
            "exact": prf(t["entities_exact"], t["predicted_entities"], t["entities_exact"], t["gold_entities"]),
            "overlap": prf(t["entities_overlap_correct"], t["predicted_entities"],
                           t["entities_overlap_found"], t["gold_entities"]),
        },
        "relations": {
            kind: prf(t[f"relations_{kind}_correct"], t["predicted_relations"],
                      t[f"relations_{kind}_found"], t["gold_relations"])
            for kind in ("exact", "overlap")
        },
        "extract_seconds": round(seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=GOLD, help="DyGIE JSONL file")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N documents")
    args = parser.parse_args()
    with args.gold.open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    print(json.dumps(evaluate(GoldDocument(r) for r in records[: args.limit])))


if __name__ == "__main__":
    main()
