"""GNN training on small graphs with known answers (CPU), and the message when the ml extra is missing."""

from __future__ import annotations

import builtins
import subprocess
import sys

import numpy as np
import pytest

from kgweave.analysis import gnn
from kgweave.analysis.gnn import GNNDataError, TrainConfig, graph_data
from kgweave.graph_store.ids import relation_id
from kgweave.graph_store.models import Entity, GraphSnapshot, SnapshotEdge, SnapshotNode


def two_communities(size: int = 12, bridges: int = 1) -> tuple[GraphSnapshot, dict[str, Entity]]:
    """Two cliques joined by ``bridges`` edges; each node's ``side`` property says its clique."""
    entities = {}
    for side in ("left", "right"):
        for i in range(size):
            e = Entity.named(f"{side} {i}", "Concept", properties={"side": side})
            entities[e.id] = e
    ids = {side: [e.id for e in entities.values() if e.properties["side"] == side] for side in ("left", "right")}
    pairs = [(a, b) for side in ids.values() for i, a in enumerate(side) for b in side[i + 1:]]
    pairs += [(ids["left"][k], ids["right"][k]) for k in range(bridges)]
    nodes = tuple(SnapshotNode(id=i, name=e.name, label=e.label) for i, e in entities.items())
    edges = tuple(SnapshotEdge(id=relation_id(a, "RELATED_TO", b), source=a, target=b, type="RELATED_TO")
                  for a, b in pairs)
    return GraphSnapshot(nodes=nodes, edges=edges), entities


def test_graph_data_is_undirected_with_classes() -> None:
    snapshot, entities = two_communities(size=4)
    graph = graph_data(snapshot, entities, None, label_property="side", structural=True)
    data = graph.data
    assert data.num_nodes == 8 and data.edge_index.size(1) == 2 * (2 * 6 + 1)
    assert graph.class_names == ["left", "right"] and sorted(set(data.y.tolist())) == [0, 1]
    assert graph.feature_names == ["log_degree", "pagerank", "clustering", "log_core"]
    assert data.x.shape == (8, 4)


def test_nodes_without_the_label_are_not_split() -> None:
    snapshot, entities = two_communities(size=6)
    first = next(iter(entities))
    entities[first] = entities[first].model_copy(update={"properties": {}})
    graph = graph_data(snapshot, entities, np.eye(12, dtype=np.float32), label_property="side")
    assert int((graph.data.y == -1).sum()) == 1
    train, val, test = gnn._split_masks(graph.data.y, TrainConfig())
    unlabelled = graph.data.y == -1
    assert not (train | val | test)[unlabelled].any()
    again = gnn._split_masks(graph.data.y, TrainConfig())
    assert all(bool((a == b).all()) for a, b in zip((train, val, test), again, strict=True))  # fixed seed


@pytest.mark.parametrize("model", ["gcn", "sage", "gat"])
def test_node_classifier_separates_two_cliques(model: str) -> None:
    snapshot, entities = two_communities()
    # one-hot ids: the class is only learnable through the structure (neighbours' labels)
    graph = graph_data(snapshot, entities, np.eye(24, dtype=np.float32), label_property="side")
    result = gnn.train_node_classifier(graph, TrainConfig(model=model, epochs=60, device="cpu", hidden=16,
                                                          val_fraction=0.25, test_fraction=0.25))
    assert result.metrics["test_accuracy"] >= 0.8
    assert 0.0 <= result.metrics["test_macro_f1"] <= 1.0
    assert len(result.curve["loss"]) == 60 and result.curve["loss"][-1] < result.curve["loss"][0]
    predictions = gnn.node_predictions(graph, result, prefix="gnn_side")
    assert set(predictions) == set(entities)
    assert all(0.0 <= p["gnn_side_confidence"] <= 1.0 for p in predictions.values())


def test_link_predictor_ranks_held_out_edges() -> None:
    snapshot, entities = two_communities(size=14, bridges=1)
    graph = graph_data(snapshot, entities, np.eye(28, dtype=np.float32))
    result = gnn.train_link_predictor(graph, TrainConfig(task="link-prediction", epochs=100, device="cpu",
                                                         hidden=16, hits_k=5, dropout=0.0))
    assert result.metrics["test_auc"] > 0.6
    assert 0.0 <= result.metrics["test_hits_at_5"] <= 1.0
    vectors = gnn.link_embeddings(graph, result)
    assert len(vectors) == 28 and all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in vectors.values())


def test_auc_and_hits_known_answers() -> None:
    assert gnn._auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert gnn._auc(np.array([0.1]), np.array([0.9])) == 0.0
    assert gnn._auc(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.5  # ties count a half
    assert gnn._auc(np.array([0.9, 0.3]), np.array([0.5, 0.1])) == 0.75
    assert gnn._hits_at_k(np.array([0.9, 0.4]), np.array([0.5, 0.3, 0.2]), k=1) == 0.5
    assert gnn._macro_f1(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1])) == 1.0


def test_node_classification_needs_labels() -> None:
    snapshot, entities = two_communities(size=3)
    graph = graph_data(snapshot, entities, None)
    with pytest.raises(GNNDataError, match="--label"):
        gnn.train_node_classifier(graph, TrainConfig(device="cpu"))


def test_device_resolution() -> None:
    import torch

    assert gnn.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert gnn.resolve_device("cpu") == "cpu"
    with pytest.raises(GNNDataError):
        gnn.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(GNNDataError, match="no CUDA"):
            gnn.resolve_device("cuda")


def test_missing_ml_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_torch(name: str, *args: object, **kwargs: object) -> object:
        if name == "torch" or name.startswith(("torch.", "torch_geometric")):
            raise ImportError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(gnn.MLUnavailableError, match=r"pip install 'kgweave\[ml\]'"):
        gnn.require_ml()


def test_cli_without_torch_says_which_extra(tmp_path: object) -> None:
    # A real process where importing torch fails, as on an install without the ml extra.
    code = ("import sys; sys.modules['torch'] = None; sys.modules['torch_geometric'] = None; "
            "from flows.cli import main; raise SystemExit(main(['train', '--planetoid', '.', '--json']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'kgweave[ml]'" in lines[0] and "Traceback" not in done.stderr
    assert done.stdout == ""
