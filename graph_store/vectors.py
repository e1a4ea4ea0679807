"""Node embeddings in a store: model names, float32 packing, and the rows stores read and write.

A store keeps at most one vector per (entity, model), with the hash of the text it was computed
from, so an embedding run re-embeds only entities whose text changed (:func:`text_hash`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:  # numpy is imported where vectors are packed: every kgweave command imports this module
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "MODEL_NAME_PATTERN",
    "EmbeddingRows",
    "Vector",
    "check_model_name",
    "from_blob",
    "model_property",
    "text_hash",
    "to_blob",
    "validated_rows",
]

MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
Vector: TypeAlias = "npt.NDArray[np.float32]"
# {entity id: (text hash, vector)}
EmbeddingRows: TypeAlias = "Mapping[str, tuple[str, Sequence[float] | npt.NDArray[np.floating]]]"


def check_model_name(model: str) -> str:
    """Return ``model`` if it is a valid embedding model name, else raise ValueError."""
    if not isinstance(model, str) or not MODEL_NAME_PATTERN.fullmatch(model):
        raise ValueError(f"embedding model name {model!r} must match {MODEL_NAME_PATTERN.pattern}")
    return model


def model_property(model: str) -> str:
    """The node property (Neo4j) that holds ``model``'s vector: ``embedding_`` + a lower_snake slug.

    The slug is built from ``[a-z0-9_]`` only, so it may enter Cypher text.
    """
    slug = re.sub(r"[^a-z0-9]+", "_", check_model_name(model).lower()).strip("_")
    return f"embedding_{slug}"


def text_hash(text: str) -> str:
    """A 32-hex-digit hash of the text an embedding was computed from."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def to_blob(vector: Sequence[float] | npt.NDArray[np.floating]) -> bytes:
    """Little-endian float32 bytes of a 1-d vector."""
    import numpy as np

    return np.asarray(vector, dtype="<f4").reshape(-1).tobytes()


def from_blob(blob: bytes) -> Vector:
    """The float32 vector packed by :func:`to_blob`."""
    import numpy as np

    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def validated_rows(model: str, rows: EmbeddingRows) -> list[tuple[str, str, Vector]]:
    """``(entity id, text hash, vector)`` rows, checked: one dimension, finite, non-empty."""
    import numpy as np

    check_model_name(model)
    out: list[tuple[str, str, Vector]] = []
    dims: set[int] = set()
    for entity_id, (digest, vector) in rows.items():
        array = np.asarray(vector, dtype=np.float32).reshape(-1)
        if array.size == 0 or not np.isfinite(array).all():
            raise ValueError(f"embedding of {entity_id} is empty or not finite")
        dims.add(array.size)
        out.append((entity_id, str(digest), array))
    if len(dims) > 1:
        raise ValueError(f"embeddings of one model must share one dimension, got {sorted(dims)}")
    return out
