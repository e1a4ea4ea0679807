"""Errors raised by graph stores; vendor errors are translated to these at the boundary."""

from __future__ import annotations

__all__ = [
    "GraphStoreError",
    "SchemaVersionError",
    "StoreURLError",
    "StoreUnavailableError",
    "UnsupportedCapabilityError",
]


class GraphStoreError(Exception):
    """Base class of every graph_store error."""


class StoreURLError(GraphStoreError, ValueError):
    """The store URL is not one this package can open."""


class SchemaVersionError(GraphStoreError):
    """The store was written by a newer kgweave (its schema version is unknown here)."""


class StoreUnavailableError(GraphStoreError):
    """The store cannot be reached or opened (missing server, locked or unreadable file)."""


class UnsupportedCapabilityError(GraphStoreError):
    """The store was asked for a capability it does not declare (see :mod:`graph_store.capabilities`)."""
