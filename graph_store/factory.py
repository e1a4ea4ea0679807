"""Open a store from a URL: a path or ``sqlite:///path`` (embedded), ``bolt://``/``neo4j://`` (Neo4j)."""

from __future__ import annotations

from pathlib import Path

from kgweave.graph_store.errors import StoreURLError
from kgweave.graph_store.protocol import GraphStore

__all__ = ["DEFAULT_STORE_URL", "NEO4J_SCHEMES", "open_store", "store_exists", "store_kind"]

DEFAULT_STORE_URL = "kgweave.db"
NEO4J_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


def store_kind(url: str) -> str:
    """``"sqlite"`` or ``"neo4j"`` for a store URL; raises StoreURLError for anything else."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        return "sqlite"
    if scheme == "sqlite":
        return "sqlite"
    if scheme in NEO4J_SCHEMES:
        return "neo4j"
    raise StoreURLError(f"unknown store URL scheme {scheme!r} in {url!r}: use a path, sqlite:///PATH or bolt://HOST")


def _sqlite_path(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):] or ":memory:"
    if url.startswith("sqlite://"):
        raise StoreURLError(f"sqlite URL {url!r} needs three slashes: sqlite:///relative.db or sqlite:////abs.db")
    return str(Path(url).expanduser())


def store_exists(url: str) -> bool:
    """False for an embedded store whose file is not there yet (opening it would create it); True otherwise.

    A server store (Neo4j) exists as far as a URL can tell; opening it says whether it answers.
    """
    if store_kind(url) != "sqlite":
        return True
    path = _sqlite_path(url)
    return path == ":memory:" or Path(path).exists()


def open_store(
    url: str = DEFAULT_STORE_URL,
    *,
    neo4j_user: str = "neo4j",
    neo4j_password: str | None = None,
    neo4j_database: str | None = None,
    batch_size: int = 1000,
) -> GraphStore:
    """Open (creating if needed) the store at ``url`` with its schema in place."""
    if store_kind(url) == "sqlite":
        from kgweave.graph_store.sqlite_store import SQLiteGraphStore

        return SQLiteGraphStore(_sqlite_path(url))
    from kgweave.graph_store.neo4j_store import Neo4jGraphStore  # the neo4j driver is imported only here

    store = Neo4jGraphStore(
        url, user=neo4j_user, password=neo4j_password, database=neo4j_database, batch_size=batch_size
    )
    store.ensure_schema()
    return store
