"""Graph neural networks on the knowledge graph: PyTorch Geometric data, GCN/SAGE/GAT, two tasks.

- :func:`store_graph_data` turns a store's entity graph into a ``torch_geometric.data.Data``: nodes
  from the snapshot (merges collapsed), undirected edges, features = stored text embeddings (see
  :func:`agents.embeddings.embed_store`), TF-IDF of the node texts, and/or structural features.
- :func:`train_node_classifier`: accuracy and macro F1 on held-out nodes (fixed-seed splits),
  test metrics taken at the epoch of best validation accuracy.
- :func:`train_link_predictor`: GNN encoder + dot-product decoder, AUC and Hits@k on held-out edges.
- :func:`planetoid_data`: a Planetoid data set (Cora...) from local raw files, no download.

torch and torch_geometric are the ``ml`` extra; without them :func:`require_ml` raises
:class:`MLUnavailableError` whose message names the extra. Nothing here imports torch at import time.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from kgweave.graph_store.models import Entity, GraphSnapshot

if TYPE_CHECKING:
    from kgweave.graph_store.protocol import GraphStore

__all__ = [
    "ML_EXTRA_HINT",
    "FeatureKind",
    "GNNDataError",
    "GNNError",
    "GraphData",
    "MLUnavailableError",
    "ModelName",
    "Task",
    "TrainConfig",
    "TrainResult",
    "graph_data",
    "link_embeddings",
    "node_predictions",
    "planetoid_data",
    "require_ml",
    "resolve_device",
    "save_model",
    "store_graph_data",
    "structural_features",
    "tfidf_features",
    "train",
    "train_link_predictor",
    "train_node_classifier",
]

log = logging.getLogger(__name__)

ML_EXTRA_HINT = "GNN training needs the ml extra: pip install 'kgweave[ml]' (torch, torch_geometric)"
ModelName = Literal["gcn", "sage", "gat"]
Task = Literal["node-classification", "link-prediction"]
FeatureKind = Literal["text", "tfidf", "none"]


class GNNError(Exception):
    """Base class of the errors raised by GNN training."""


class MLUnavailableError(GNNError):
    """torch / torch_geometric (the ``ml`` extra) are not installed."""


class GNNDataError(GNNError, ValueError):
    """The graph cannot be trained on as asked (no labels, no embeddings, no edges, no CUDA...)."""


def require_ml() -> tuple[Any, Any]:
    """``(torch, torch_geometric)``, or MLUnavailableError naming the ``ml`` extra."""
    try:
        with warnings.catch_warnings():
            # torch_geometric 2.x scripts a few modules at import time; torch >= 2.9 warns about that on every import
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated", category=FutureWarning)
            import torch
            import torch_geometric
    except ImportError as exc:
        raise MLUnavailableError(f"{ML_EXTRA_HINT}; missing: {exc.name or exc}") from exc
    return torch, torch_geometric


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a CUDA device is present, else ``cpu``; ``cuda`` without one is an error."""
    torch, _ = require_ml()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GNNDataError("--device cuda: no CUDA device is available here (use --device auto or cpu)")
    if device != "cpu" and not device.startswith("cuda"):
        raise GNNDataError(f"unknown device {device!r}; choose auto, cpu or cuda")
    return device


class TrainConfig(BaseModel):
    """What to train and how. Defaults follow Kipf & Welling's GCN (2 layers, dropout 0.5, Adam 0.01, 5e-4)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: Task = "node-classification"
    model: ModelName = "gcn"
    epochs: int = Field(default=200, ge=1, le=100_000)
    seed: int = 0
    hidden: int = Field(default=64, ge=1, description="Hidden units (GAT: per head, 8 heads).")
    dropout: float = Field(default=0.5, ge=0.0, lt=1.0)
    lr: float = Field(default=0.01, gt=0.0)
    weight_decay: float = Field(default=5e-4, ge=0.0)
    device: str = "auto"
    threads: int | None = Field(default=None, ge=1, description="CPU threads for torch (None: torch's default). "
                                "On a busy machine 1 thread can beat several (less OpenMP contention).")
    train_per_class: int | None = Field(
        default=None, ge=1, description="Node classification: this many training nodes per class, 500 "
        "validation, 1,000 test (Planetoid style); None: a random 60/20/20 split of the labelled nodes.")
    val_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    test_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    hits_k: int = Field(default=20, ge=1, description="Link prediction: Hits@k against the test negatives.")


@dataclass
class GraphData:
    """A ``torch_geometric.data.Data`` with the store ids of its rows and the class names of ``y``."""

    data: Any
    node_ids: list[str]
    class_names: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)


class TrainResult(BaseModel):
    """Metrics and curve of one training run (``state`` holds the trained torch module, not serialised)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    task: Task
    model: ModelName
    device: str
    epochs: int
    best_epoch: int
    seconds: float
    seconds_per_epoch: float
    nodes: int
    edges: int
    features: int
    metrics: dict[str, float] = Field(
        description="test_accuracy, test_macro_f1, val_accuracy... or test_auc, test_hits_at_<k>, val_auc")
    curve: dict[str, list[float]] = Field(description="Per epoch: loss, and train/val accuracy or val AUC.")
    state: Any = Field(default=None, exclude=True)
    outputs: Any = Field(default=None, exclude=True, description="Class probabilities or node embeddings (numpy).")


# -- features -----------------------------------------------------------------------------------


def tfidf_features(texts: Sequence[str], max_features: int = 3000) -> np.ndarray:
    """L2-normalised TF-IDF rows of ``texts`` (English stop words removed; terms in >= 2 texts).

    Notes
    -----
    scikit-learn's ``TfidfVectorizer``; O(total text length).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(max_features=max_features, stop_words="english", min_df=2, sublinear_tf=True)
    return np.asarray(vectorizer.fit_transform(list(texts)).todense(), dtype=np.float32)


def structural_features(n: int, edges: Sequence[tuple[int, int]]) -> tuple[np.ndarray, list[str]]:
    """Per node: log(1 + degree), PageRank x n, local clustering, log(1 + k-core), standardised.

    Notes
    -----
    igraph over the undirected simple graph; O(n + m) except clustering, O(m d_max).
    """
    import igraph as ig

    graph = ig.Graph(n=n, edges=list(edges), directed=False).simplify()
    degree = np.asarray(graph.degree(), dtype=np.float64)
    columns = [
        np.log1p(degree),
        np.asarray(graph.pagerank(), dtype=np.float64) * max(n, 1),
        np.nan_to_num(np.asarray(graph.transitivity_local_undirected(mode="zero"), dtype=np.float64)),
        np.log1p(np.asarray(graph.coreness(), dtype=np.float64)),
    ]
    matrix = np.stack(columns, axis=1)
    std = matrix.std(axis=0)
    matrix = (matrix - matrix.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return matrix.astype(np.float32), ["log_degree", "pagerank", "clustering", "log_core"]


def graph_data(
    snapshot: GraphSnapshot,
    entities: Mapping[str, Entity],
    features: np.ndarray | None,
    feature_names: Sequence[str] = (),
    label_property: str | None = None,
    structural: bool = False,
) -> GraphData:
    """A PyG ``Data`` over ``snapshot``'s nodes (in its order) with undirected edges.

    Parameters
    ----------
    snapshot
        Nodes and edges (already restricted to the nodes wanted).
    entities
        Entity per node id, for the class property.
    features
        One row per snapshot node, or None (structural features only; a constant column if not
        ``structural`` either).
    label_property
        Entity property holding the class; nodes without it get ``y = -1`` and are never split.
    structural
        Append :func:`structural_features`.

    Returns
    -------
    GraphData
        ``data.x`` float32, ``data.edge_index`` (both directions), ``data.y`` (classes sorted by name).
    """
    torch, _ = require_ml()
    from torch_geometric.data import Data
    from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

    ids = [node.id for node in snapshot.nodes]
    index = {node_id: i for i, node_id in enumerate(ids)}
    pairs = [(index[e.source], index[e.target]) for e in snapshot.edges if e.source in index and e.target in index]
    edge_index = torch.tensor(pairs, dtype=torch.long).t().reshape(2, -1)
    edge_index, _ = remove_self_loops(edge_index)
    edge_index = coalesce(to_undirected(edge_index, num_nodes=len(ids)), num_nodes=len(ids))
    blocks: list[np.ndarray] = []
    names = list(feature_names)
    if features is not None:
        if features.shape[0] != len(ids):
            raise GNNDataError(f"{features.shape[0]} feature rows for {len(ids)} nodes")
        blocks.append(np.asarray(features, dtype=np.float32))
    if structural:
        matrix, structural_names = structural_features(len(ids), pairs)
        blocks.append(matrix)
        names += structural_names
    if not blocks:
        blocks.append(np.ones((len(ids), 1), dtype=np.float32))
        names.append("constant")
    data = Data(x=torch.from_numpy(np.concatenate(blocks, axis=1)), edge_index=edge_index, num_nodes=len(ids))
    class_names: list[str] = []
    if label_property is not None:
        raw = [entities[i].properties.get(label_property) if i in entities else None for i in ids]
        class_names = sorted({str(v) for v in raw if v is not None and str(v) != ""})
        lookup = {name: c for c, name in enumerate(class_names)}
        data.y = torch.tensor([lookup.get(str(v), -1) if v is not None else -1 for v in raw], dtype=torch.long)
    return GraphData(data=data, node_ids=ids, class_names=class_names, feature_names=names)


def store_graph_data(
    store: GraphStore,
    features: FeatureKind = "text",
    embedding_model: str = "all-MiniLM-L6-v2",
    label_property: str | None = None,
    entity_label: str | None = None,
    structural: bool = False,
    extra_embeddings: Sequence[str] = (),
) -> GraphData:
    """:func:`graph_data` of a store's graph (optionally only the entities of ``entity_label``).

    ``features="text"`` reads the vectors stored for ``embedding_model`` (GNNDataError naming
    ``kgweave embed`` if some node has none); ``"tfidf"`` computes TF-IDF of the node texts.
    ``extra_embeddings`` are more stored vector models appended as columns (TAPE explanations,
    :mod:`agents.explanations`); a node without one gets zeros there (its LLM call failed).
    """
    from kgweave.agents.embeddings import node_text

    entities = {e.id: e for e in store.entities(label=entity_label)}
    snapshot = store.snapshot()
    nodes = tuple(n for n in snapshot.nodes if n.id in entities)
    keep = {n.id for n in nodes}
    view = GraphSnapshot(nodes=nodes, edges=tuple(e for e in snapshot.edges if e.source in keep and e.target in keep))
    if not nodes:
        raise GNNDataError(f"the store has no {entity_label or 'entity'} nodes to train on")
    matrix: np.ndarray | None = None
    names: list[str] = []
    if features == "text":
        vectors = store.embeddings(embedding_model)
        missing = [n.id for n in nodes if n.id not in vectors]
        if missing:
            raise GNNDataError(f"{len(missing)} of {len(nodes)} nodes have no {embedding_model} embedding: "
                               "run `kgweave embed` first")
        matrix = np.stack([vectors[n.id] for n in nodes])
        names = [f"{embedding_model}[{i}]" for i in range(matrix.shape[1])]
    elif features == "tfidf":
        matrix = tfidf_features([node_text(entities[n.id]) for n in nodes])
        names = [f"tfidf[{i}]" for i in range(matrix.shape[1])]
    for model in extra_embeddings:
        extra, missing_rows = _stored_or_zeros(store, model, [n.id for n in nodes])
        if missing_rows:
            log.warning("%d of %d nodes have no %s vector: zeros", missing_rows, len(nodes), model)
        matrix = extra if matrix is None else np.concatenate([matrix, extra], axis=1)
        names += [f"{model}[{i}]" for i in range(extra.shape[1])]
    log.info("graph for training: %d nodes, %d edges, features %s%s%s", len(nodes), len(view.edges), features,
             "".join(f" + {m}" for m in extra_embeddings), " + structural" if structural else "")
    return graph_data(view, entities, matrix, names, label_property, structural)


def _stored_or_zeros(store: GraphStore, model: str, ids: Sequence[str]) -> tuple[np.ndarray, int]:
    """The stored vectors of ``model`` for ``ids`` (zeros where a node has none) and how many were missing."""
    vectors = store.embeddings(model)
    if not vectors:
        raise GNNDataError(f"the store has no {model} vectors")
    dimension = len(next(iter(vectors.values())))
    zeros = np.zeros(dimension, dtype=np.float32)
    rows = [vectors.get(node_id) for node_id in ids]
    return np.stack([zeros if r is None else r for r in rows]).astype(np.float32), sum(r is None for r in rows)


def planetoid_data(folder: str | Path, name: str = "Cora", root: str | Path | None = None) -> GraphData:
    """A Planetoid data set from its raw files (``ind.<name>.*``) in ``folder`` or ``folder/<name>/raw``.

    The files are copied to ``<root>/<name>/raw`` (a temporary folder by default) and read with
    ``torch_geometric.datasets.Planetoid(root, name)`` and row-normalised features; nothing is
    downloaded. The public split (20 per class / 500 / 1,000) comes as ``train/val/test_mask``.
    """
    require_ml()
    from torch_geometric.datasets import Planetoid
    from torch_geometric.transforms import NormalizeFeatures

    source = Path(folder)
    prefix = f"ind.{name.lower()}."
    for candidate in (source, source / name / "raw", source / "raw"):
        files = sorted(p for p in candidate.glob(f"{prefix}*") if p.is_file()) if candidate.is_dir() else []
        if files:
            break
    else:
        raise GNNDataError(f"no Planetoid raw files {prefix}* in {source} (or {source / name / 'raw'})")
    base = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="kgweave-planetoid-"))
    raw = base / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for path in files:
        if not (raw / path.name).is_file():
            shutil.copyfile(path, raw / path.name)
    dataset = Planetoid(str(base), name, transform=NormalizeFeatures())
    data = dataset[0]
    return GraphData(data=data, node_ids=[str(i) for i in range(data.num_nodes)],
                     class_names=[str(c) for c in range(int(dataset.num_classes))],
                     feature_names=[f"word[{i}]" for i in range(data.num_features)])


# -- models -------------------------------------------------------------------------------------


def _model(kind: ModelName, in_dim: int, hidden: int, out_dim: int, dropout: float) -> Any:
    torch, _ = require_ml()
    from torch_geometric.nn import GATConv, GCNConv, SAGEConv

    class TwoLayer(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            if kind == "gcn":
                self.conv1, self.conv2 = GCNConv(in_dim, hidden), GCNConv(hidden, out_dim)
            elif kind == "sage":
                self.conv1, self.conv2 = SAGEConv(in_dim, hidden), SAGEConv(hidden, out_dim)
            elif kind == "gat":
                heads = 8
                self.conv1 = GATConv(in_dim, hidden, heads=heads, dropout=dropout)
                self.conv2 = GATConv(hidden * heads, out_dim, heads=1, concat=False, dropout=dropout)
            else:
                raise GNNDataError(f"unknown model {kind!r}; choose gcn, sage or gat")

        def forward(self, x: Any, edge_index: Any) -> Any:
            func = torch.nn.functional
            x = func.dropout(x, p=dropout, training=self.training)
            x = self.conv1(x, edge_index)
            x = func.elu(x) if kind == "gat" else func.relu(x)
            x = func.dropout(x, p=dropout, training=self.training)
            return self.conv2(x, edge_index)

    return TwoLayer()


def _prepare(config: TrainConfig) -> str:
    """Seed every generator, apply ``threads``; the resolved device."""
    torch, _ = require_ml()
    from torch_geometric import seed_everything

    seed_everything(config.seed)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    return resolve_device(config.device)


# -- node classification ------------------------------------------------------------------------


def _split_masks(y: Any, config: TrainConfig) -> tuple[Any, Any, Any]:
    """Fixed-seed masks over labelled nodes (``y >= 0``): per class (Planetoid) or fractions."""
    torch, _ = require_ml()
    generator = torch.Generator().manual_seed(config.seed)
    labelled = torch.nonzero(y >= 0).flatten()
    if labelled.numel() < 3:
        raise GNNDataError("fewer than 3 labelled nodes: nothing to train and test on")
    order = labelled[torch.randperm(labelled.numel(), generator=generator)]
    n = y.numel()
    train, val, test = (torch.zeros(n, dtype=torch.bool) for _ in range(3))
    if config.train_per_class is not None:
        for c in torch.unique(y[order]).tolist():
            train[order[y[order] == c][: config.train_per_class]] = True
        rest = order[~train[order]]
        val[rest[:500]] = True
        test[rest[500:1500]] = True
    else:
        n_test = max(1, round(labelled.numel() * config.test_fraction))
        n_val = max(1, round(labelled.numel() * config.val_fraction))
        test[order[:n_test]] = True
        val[order[n_test:n_test + n_val]] = True
        train[order[n_test + n_val:]] = True
    if not train.any() or not test.any():
        raise GNNDataError("the split left no training or no test node")
    return train, val, test


def _macro_f1(pred: np.ndarray, true: np.ndarray) -> float:
    scores = []
    for c in np.unique(true):
        tp = float(np.sum((pred == c) & (true == c)))
        fp, fn = float(np.sum((pred == c) & (true != c))), float(np.sum((pred != c) & (true == c)))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


def train_node_classifier(
    graph: GraphData, config: TrainConfig, masks: tuple[Any, Any, Any] | None = None
) -> TrainResult:
    """Train ``config.model`` to predict ``graph.data.y``; test metrics at the best validation epoch.

    Parameters
    ----------
    graph
        Data with ``y`` (``-1`` = unlabelled).
    config
        Model, epochs, seed, device, split.
    masks
        (train, val, test) boolean masks; default: ``data.train_mask``... if present (Planetoid's
        public split), else a fixed-seed split (:class:`TrainConfig`).

    Returns
    -------
    TrainResult
        ``metrics``: test_accuracy, test_macro_f1, val_accuracy, train_accuracy; ``outputs``: class
        probabilities of every node (numpy, rows as ``graph.node_ids``).

    Notes
    -----
    Full-batch training, O(epochs (m h + n d h)).
    """
    torch, _ = require_ml()
    data = graph.data
    if getattr(data, "y", None) is None:
        raise GNNDataError("node classification needs a class property (--label PROPERTY)")
    device = _prepare(config)
    if masks is None:
        if getattr(data, "train_mask", None) is not None:
            masks = (data.train_mask, data.val_mask, data.test_mask)
        else:
            masks = _split_masks(data.y, config)
    classes = max(int(data.y.max()) + 1, 2)
    model = _model(config.model, data.num_features, config.hidden, classes, config.dropout).to(device)
    x, edge_index, y = data.x.to(device), data.edge_index.to(device), data.y.to(device)
    train_mask, val_mask, test_mask = (m.to(device) for m in masks)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    curve: dict[str, list[float]] = {"loss": [], "train_accuracy": [], "val_accuracy": []}
    best: tuple[float, int, dict[str, Any] | None] = (-1.0, 0, None)
    clock = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        optimizer.zero_grad()
        out = model(x, edge_index)
        loss = torch.nn.functional.cross_entropy(out[train_mask], y[train_mask])
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            pred = model(x, edge_index).argmax(dim=1)
            train_acc = float((pred[train_mask] == y[train_mask]).float().mean())
            val_acc = float((pred[val_mask] == y[val_mask]).float().mean()) if val_mask.any() else train_acc
        curve["loss"].append(float(loss.detach()))
        curve["train_accuracy"].append(train_acc)
        curve["val_accuracy"].append(val_acc)
        if val_acc > best[0]:
            best = (val_acc, epoch, {k: v.detach().clone() for k, v in model.state_dict().items()})
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - clock
    model.load_state_dict(best[2])
    model.eval()
    with torch.no_grad():
        probabilities = torch.softmax(model(x, edge_index), dim=1)
    pred = probabilities.argmax(dim=1)
    true_test, pred_test = y[test_mask].cpu().numpy(), pred[test_mask].cpu().numpy()
    metrics = {
        "test_accuracy": float(np.mean(true_test == pred_test)),
        "test_macro_f1": _macro_f1(pred_test, true_test),
        "val_accuracy": best[0],
        "train_accuracy": float((pred[train_mask] == y[train_mask]).float().mean()),
        "train_nodes": float(train_mask.sum()), "val_nodes": float(val_mask.sum()),
        "test_nodes": float(test_mask.sum()),
    }
    log.info("%s node classification on %s: test accuracy %.3f (best epoch %d, %.2fs)", config.model, device,
             metrics["test_accuracy"], best[1], seconds)
    return TrainResult(
        task="node-classification", model=config.model, device=device, epochs=config.epochs, best_epoch=best[1],
        seconds=round(seconds, 4), seconds_per_epoch=round(seconds / config.epochs, 6), nodes=int(data.num_nodes),
        edges=int(data.edge_index.size(1) // 2), features=int(data.num_features), metrics=metrics, curve=curve,
        state=model.cpu(), outputs=probabilities.cpu().numpy(),
    )


# -- link prediction ----------------------------------------------------------------------------


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney U statistic (tied scores share their average rank)."""
    scores = np.concatenate([positive, negative])
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = average_rank[inverse]
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _hits_at_k(positive: np.ndarray, negative: np.ndarray, k: int) -> float:
    """Share of positive edges scored above the k-th best negative (OGB's Hits@k)."""
    if len(negative) < k:
        return 1.0
    threshold = np.sort(negative)[-k]
    return float(np.mean(positive > threshold))


def train_link_predictor(graph: GraphData, config: TrainConfig) -> TrainResult:
    """Train a GNN encoder with a dot-product decoder to predict held-out edges.

    Edges are split 85/5/10 (train/val/test) with a fixed seed (``RandomLinkSplit``, undirected);
    each epoch samples one negative per training edge. Test AUC and Hits@k are taken at the best
    validation AUC. ``outputs`` are the learned node embeddings (numpy, rows as ``graph.node_ids``).

    Notes
    -----
    O(epochs (m h + n d h)); AUC O(t log t) over the t test pairs.
    """
    torch, _ = require_ml()
    from torch_geometric.transforms import RandomLinkSplit
    from torch_geometric.utils import negative_sampling

    data = graph.data
    if data.edge_index.size(1) < 20:
        raise GNNDataError("link prediction needs at least 10 edges")
    device = _prepare(config)
    plain = data.clone()
    for key in ("y", "train_mask", "val_mask", "test_mask"):
        if key in plain:
            del plain[key]
    train_data, val_data, test_data = RandomLinkSplit(
        num_val=0.05, num_test=0.10, is_undirected=True, add_negative_train_samples=False)(plain)
    model = _model(config.model, data.num_features, config.hidden, config.hidden, config.dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    train_data, val_data, test_data = (d.to(device) for d in (train_data, val_data, test_data))

    def scores(z: Any, pairs: Any) -> Any:
        return (z[pairs[0]] * z[pairs[1]]).sum(dim=-1)

    def evaluate(split: Any) -> tuple[float, float]:
        model.eval()
        with torch.no_grad():
            z = model(split.x, split.edge_index)
            s = scores(z, split.edge_label_index).sigmoid().cpu().numpy()
        label = split.edge_label.cpu().numpy() > 0.5
        return _auc(s[label], s[~label]), _hits_at_k(s[label], s[~label], config.hits_k)

    curve: dict[str, list[float]] = {"loss": [], "val_auc": []}
    best: tuple[float, int, dict[str, Any] | None] = (-1.0, 0, None)
    clock = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        optimizer.zero_grad()
        z = model(train_data.x, train_data.edge_index)
        positive = train_data.edge_label_index
        negative = negative_sampling(train_data.edge_index, num_nodes=train_data.num_nodes,
                                     num_neg_samples=positive.size(1))
        logits = torch.cat([scores(z, positive), scores(z, negative)])
        labels = torch.cat([torch.ones(positive.size(1)), torch.zeros(negative.size(1))]).to(device)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
        loss.backward()
        optimizer.step()
        val_auc, _ = evaluate(val_data)
        curve["loss"].append(float(loss.detach()))
        curve["val_auc"].append(val_auc)
        if val_auc > best[0]:
            best = (val_auc, epoch, {k: v.detach().clone() for k, v in model.state_dict().items()})
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - clock
    model.load_state_dict(best[2])
    test_auc, test_hits = evaluate(test_data)
    model.eval()
    with torch.no_grad():
        embeddings = model(test_data.x, test_data.edge_index).cpu().numpy()
    metrics = {"test_auc": test_auc, f"test_hits_at_{config.hits_k}": test_hits, "val_auc": best[0],
               "test_edges": float(test_data.edge_label.sum())}
    log.info("%s link prediction on %s: test AUC %.3f, Hits@%d %.3f", config.model, device, test_auc,
             config.hits_k, test_hits)
    return TrainResult(
        task="link-prediction", model=config.model, device=device, epochs=config.epochs, best_epoch=best[1],
        seconds=round(seconds, 4), seconds_per_epoch=round(seconds / config.epochs, 6), nodes=int(data.num_nodes),
        edges=int(data.edge_index.size(1) // 2), features=int(data.num_features), metrics=metrics, curve=curve,
        state=model.cpu(), outputs=embeddings,
    )


def train(graph: GraphData, config: TrainConfig) -> TrainResult:
    """:func:`train_node_classifier` or :func:`train_link_predictor`, as ``config.task`` says."""
    if config.task == "node-classification":
        return train_node_classifier(graph, config)
    return train_link_predictor(graph, config)


# -- results ------------------------------------------------------------------------------------


def node_predictions(graph: GraphData, result: TrainResult, prefix: str = "gnn") -> dict[str, dict[str, float]]:
    """Node metrics for write-back: ``<prefix>_class`` (index into ``graph.class_names``) and
    ``<prefix>_confidence`` (its probability), per node id."""
    probabilities = np.asarray(result.outputs)
    best = probabilities.argmax(axis=1)
    return {node_id: {f"{prefix}_class": float(best[i]), f"{prefix}_confidence": float(probabilities[i, best[i]])}
            for i, node_id in enumerate(graph.node_ids)}


def link_embeddings(graph: GraphData, result: TrainResult) -> dict[str, np.ndarray]:
    """Learned node embeddings (L2-normalised float32) per node id, for the store's embeddings."""
    matrix = np.asarray(result.outputs, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return {node_id: matrix[i] for i, node_id in enumerate(graph.node_ids)}


def save_model(result: TrainResult, graph: GraphData, config: TrainConfig, path: str | Path) -> Path:
    """Save the trained module's weights with its config, class names and metrics (``torch.save``)."""
    torch, _ = require_ml()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": result.state.state_dict(), "config": config.model_dump(),
                "class_names": graph.class_names, "metrics": result.metrics,
                "in_features": int(graph.data.num_features)}, target)
    return target
