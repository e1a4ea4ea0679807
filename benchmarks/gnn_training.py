"""GNN training on CPU: Cora (Planetoid public split) per model, and CiteSeer with MiniLM vs TF-IDF features.

Prints one JSON object. Cora: test accuracy and seconds per epoch of GCN, GraphSAGE and GAT (200
epochs, seed 0) with torch's default thread count and with one thread. CiteSeer (TAPE text):
the same 2-layer GCN on frozen all-MiniLM-L6-v2 embeddings of title + abstract vs TF-IDF of the
same text, at 20 labels per class and on a random 60/20/20 split, mean over seeds; the ratio
MiniLM / TF-IDF is the comparison. Embeddings are read from (or written once to) the store given
by ``--citeseer-store`` (default .kgweave/bench-citeseer.db), so a second run does not re-embed.

    python benchmarks/gnn_training.py [--shared-data ../shared/data] [--seeds 0 1 2] [--skip-citeseer]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def cora(shared: Path, seeds: list[int]) -> dict[str, object]:
    import torch

    from kgweave.analysis.gnn import TrainConfig, planetoid_data, train

    graph = planetoid_data(shared / "planetoid_cora" / "Cora_raw", root=tempfile.mkdtemp(prefix="bench-cora-"))
    default_threads = torch.get_num_threads()
    out: dict[str, object] = {"default_threads": default_threads}
    for model in ("gcn", "sage", "gat"):
        hidden = 8 if model == "gat" else 64
        accuracies, per_epoch = [], {}
        for seed in seeds:
            result = train(graph, TrainConfig(model=model, hidden=hidden, seed=seed, device="cpu", threads=1))
            accuracies.append(result.metrics["test_accuracy"])
            per_epoch.setdefault("threads_1", []).append(result.seconds_per_epoch)
        result = train(graph, TrainConfig(model=model, hidden=hidden, seed=seeds[0], device="cpu",
                                          threads=default_threads))
        per_epoch["threads_default"] = [result.seconds_per_epoch]
        out[model] = {
            "test_accuracy_mean": round(statistics.mean(accuracies), 4),
            "test_accuracy_per_seed": [round(a, 4) for a in accuracies],
            "seconds_per_epoch_1_thread": round(statistics.median(per_epoch["threads_1"]), 5),
            f"seconds_per_epoch_{default_threads}_threads": per_epoch["threads_default"][0],
        }
    torch.set_num_threads(default_threads)
    return out


def citeseer(shared: Path, store_path: Path, seeds: list[int]) -> dict[str, object]:
    from kgweave.agents.embeddings import MiniLMEmbedder, embed_store
    from kgweave.agents.sources.citeseer import citeseer_delta
    from kgweave.analysis.gnn import TrainConfig, store_graph_data, train
    from kgweave.graph_store.sqlite_store import SQLiteGraphStore

    store_path.parent.mkdir(parents=True, exist_ok=True)
    with SQLiteGraphStore(store_path) as store:
        delta, failures = citeseer_delta(shared / "citeseer_tape_text", run_id="bench-citeseer")
        store.upsert(delta)
        embedded = embed_store(store, MiniLMEmbedder())
        graphs = {kind: store_graph_data(store, features=kind, label_property="category", entity_label="Paper")
                  for kind in ("text", "tfidf")}
    out: dict[str, object] = {"papers": len(delta.entities), "citations": len(delta.relations),
                              "load_failures": len(failures), "embedding_seconds": embedded.seconds,
                              "embedded_now": embedded.embedded}
    for split, per_class in (("20_per_class", 20), ("60_20_20", None)):
        row: dict[str, object] = {}
        for kind, graph in graphs.items():
            accs = [train(graph, TrainConfig(model="gcn", seed=s, device="cpu", threads=1,
                                             train_per_class=per_class)).metrics["test_accuracy"] for s in seeds]
            row[f"{'minilm' if kind == 'text' else 'tfidf'}_test_accuracy"] = round(statistics.mean(accs), 4)
        row["ratio_minilm_over_tfidf"] = round(float(row["minilm_test_accuracy"])  # type: ignore[arg-type]
                                               / float(row["tfidf_test_accuracy"]), 4)  # type: ignore[arg-type]
        out[split] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--citeseer-store", default=str(REPO / ".kgweave" / "bench-citeseer.db"))
    parser.add_argument("--skip-citeseer", action="store_true")
    args = parser.parse_args()
    shared = Path(args.shared_data)
    import platform

    import torch

    result: dict[str, object] = {"benchmark": "gnn_training", "device": "cpu", "torch": torch.__version__,
                                 "cpu": platform.processor() or platform.machine(), "seeds": args.seeds,
                                 "cora_public_split": cora(shared, args.seeds)}
    if not args.skip_citeseer:
        result["citeseer_text"] = citeseer(shared, Path(args.citeseer_store), args.seeds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
