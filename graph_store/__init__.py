"""kgweave's graph: data model, store protocol, embedded SQLite and Neo4j stores."""

from kgweave.graph_store.capabilities import Capability
from kgweave.graph_store.errors import (
    GraphStoreError,
    SchemaVersionError,
    StoreUnavailableError,
    StoreURLError,
    UnsupportedCapabilityError,
)
from kgweave.graph_store.factory import DEFAULT_STORE_URL, open_store
from kgweave.graph_store.models import (
    Chunk,
    Document,
    Entity,
    GraphDelta,
    GraphSnapshot,
    Iteration,
    Mention,
    Relation,
    Run,
    StoreCounts,
    WriteStats,
)
from kgweave.graph_store.protocol import GraphStore

__all__ = [
    "DEFAULT_STORE_URL",
    "Capability",
    "Chunk",
    "Document",
    "Entity",
    "GraphDelta",
    "GraphSnapshot",
    "GraphStore",
    "GraphStoreError",
    "Iteration",
    "Mention",
    "Relation",
    "Run",
    "SchemaVersionError",
    "StoreCounts",
    "StoreURLError",
    "StoreUnavailableError",
    "UnsupportedCapabilityError",
    "WriteStats",
    "open_store",
]
