"""One open store per URL per process, built from settings, shared by a flow's tasks.

Tasks receive the store URL (small, hashable) and look the store up here, so a Neo4j store keeps
one driver per process (as the driver's documentation asks) instead of one per task run.
"""

from __future__ import annotations

import logging
import os
import threading

from kgweave.flows.settings import Neo4jSettings, StoreSettings
from kgweave.graph_store.factory import open_store
from kgweave.graph_store.protocol import GraphStore
from kgweave.graph_store.runs import reap_dead_runs

__all__ = ["close_flow_stores", "open_flow_store"]

logger = logging.getLogger(__name__)
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
            _reap(store)
        return store


def _reap(store: GraphStore) -> None:
    """Mark runs whose process died as crashed; a store that cannot be read for it still opens."""
    try:
        reap_dead_runs(store)
    except Exception as exc:  # noqa: BLE001 (reaping is housekeeping: never the reason a command fails)
        logger.warning("could not check %s for dead runs: %s", store.url, exc)


def close_flow_stores() -> None:
    """Close every store this process opened (end of a CLI command or test)."""
    with _lock:
        for store in _open.values():
            store.close()
        _open.clear()
