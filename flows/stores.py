"""One open store per URL per process, built from settings, shared by a flow's tasks.

Tasks receive the store URL (small, hashable) and look the store up here, so a Neo4j store keeps
one driver per process (as the driver's documentation asks) instead of one per task run.
"""

from __future__ import annotations

import os
import threading

from kgweave.flows.settings import Neo4jSettings, StoreSettings
from kgweave.graph_store.factory import open_store
from kgweave.graph_store.protocol import GraphStore

__all__ = ["close_flow_stores", "open_flow_store"]

_lock = threading.Lock()
_open: dict[tuple[int, str], GraphStore] = {}


def open_flow_store(url: str) -> GraphStore:
    """The store at ``url``, opened once per process with credentials from settings."""
    key = (os.getpid(), url)
    with _lock:
        store = _open.get(key)
        if store is None:
            neo4j = Neo4jSettings()
            store = open_store(
                url,
                neo4j_user=neo4j.user,
                neo4j_password=neo4j.password.get_secret_value(),
                neo4j_database=neo4j.database,
                batch_size=StoreSettings().write_batch_size,
            )
            _open[key] = store
        return store


def close_flow_stores() -> None:
    """Close every store this process opened (end of a CLI command or test)."""
    with _lock:
        for store in _open.values():
            store.close()
        _open.clear()
