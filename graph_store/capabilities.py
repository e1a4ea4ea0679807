"""What a store can do beyond the :class:`~graph_store.protocol.GraphStore` every store implements.

Each store declares its capabilities once, as its ``capabilities`` attribute; callers branch on
them (``Capability.VECTOR_SEARCH in store.capabilities``) or ask for the role with
:func:`graph_store.protocol.vector_search` / :func:`graph_store.protocol.push_source`, which refuse
a store that does not declare it with :class:`~graph_store.errors.UnsupportedCapabilityError`.
Nothing outside a store tests which class it is.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Capability"]


class Capability(StrEnum):
    """An optional role a store may declare (its role protocol is in :mod:`graph_store.protocol`)."""

    VECTOR_SEARCH = "vector_search"  # protocol.VectorSearch: nearest(model, vector, k) on a vector index
    PUSH_SOURCE = "push_source"  # protocol.PushSource: export_deltas() and all_node_metrics() for kgweave push

    @property
    def task(self) -> str:
        """What the capability lets a caller do, for error messages."""
        return _TASKS[self]


_TASKS = {
    Capability.VECTOR_SEARCH: "search nearest neighbours on a vector index",
    Capability.PUSH_SOURCE: "be the source of kgweave push (an embedded store file)",
}
