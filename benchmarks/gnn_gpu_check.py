"""GPU check: GCN on Cora (Planetoid public split) on CPU and on CUDA, side by side. Prints one JSON object.

Run on a machine with a CUDA device (a kgweave-gpu worker):

    python benchmarks/gnn_gpu_check.py [--shared-data ../shared/data] [--epochs 200] [--seeds 0 1 2]

Reports, per device, test accuracy (mean over seeds) and seconds per epoch (median over seeds; one
warm-up run per device first, so CUDA start-up is not counted), the CPU/CUDA time ratio, and the
card's name. Without CUDA it reports the CPU side and ``"cuda": null`` (and exits 0), so the script
itself can be checked anywhere. The same code path as ``kgweave train --device auto`` is timed
(``analysis.gnn.train_node_classifier``, evaluation each epoch included).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def measure(graph: object, device: str, epochs: int, seeds: list[int], model: str) -> dict[str, object]:
    from kgweave.analysis.gnn import TrainConfig, train_node_classifier

    train_node_classifier(graph, TrainConfig(model=model, device=device, epochs=5, seed=0))  # type: ignore[arg-type]
    runs = [train_node_classifier(graph, TrainConfig(model=model, device=device, epochs=epochs,  # type: ignore[arg-type]
                                                     seed=seed)) for seed in seeds]
    return {
        "device": runs[0].device,
        "test_accuracy_mean": round(statistics.mean(r.metrics["test_accuracy"] for r in runs), 4),
        "test_accuracy_per_seed": [round(r.metrics["test_accuracy"], 4) for r in runs],
        "seconds_per_epoch": round(statistics.median(r.seconds_per_epoch for r in runs), 6),
        "seconds_total_median": round(statistics.median(r.seconds for r in runs), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--model", choices=("gcn", "sage", "gat"), default="gcn")
    args = parser.parse_args()

    import torch

    from kgweave.analysis.gnn import planetoid_data

    graph = planetoid_data(Path(args.shared_data) / "planetoid_cora" / "Cora_raw",
                           root=tempfile.mkdtemp(prefix="gpu-check-cora-"))
    result: dict[str, object] = {
        "benchmark": "gnn_gpu_check", "data": "Cora public split (140/500/1000)", "model": args.model,
        "epochs": args.epochs, "seeds": args.seeds, "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(), "cpu_threads": torch.get_num_threads(),
        "published_gcn_test_accuracy": 0.815,
    }
    result["cpu_run"] = measure(graph, "cpu", args.epochs, args.seeds, args.model)
    if torch.cuda.is_available():
        result["gpu"] = torch.cuda.get_device_name(0)
        result["cuda"] = torch.version.cuda
        result["cuda_run"] = measure(graph, "cuda", args.epochs, args.seeds, args.model)
        cpu_s = result["cpu_run"]["seconds_per_epoch"]  # type: ignore[index]
        gpu_s = result["cuda_run"]["seconds_per_epoch"]  # type: ignore[index]
        result["cpu_over_cuda_seconds_per_epoch"] = round(float(cpu_s) / float(gpu_s), 3)
    else:
        result["gpu"] = None
        result["cuda"] = None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
