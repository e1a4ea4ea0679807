"""Declared store capabilities: the table per store, the refusal, and the CLI's one-line usage error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kgweave.flows.cli import main
from kgweave.graph_store.capabilities import Capability
from kgweave.graph_store.errors import GraphStoreError, UnsupportedCapabilityError
from kgweave.graph_store.models import Entity, GraphDelta
from kgweave.graph_store.neo4j_store import Neo4jGraphStore
from kgweave.graph_store.protocol import push_source, require, vector_search
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from tests.conftest import REPO

TABLE = {SQLiteGraphStore: {Capability.PUSH_SOURCE}, Neo4jGraphStore: {Capability.VECTOR_SEARCH}}


def test_each_store_declares_its_capabilities() -> None:
    for store_class, expected in TABLE.items():
        assert store_class.capabilities == frozenset(expected), store_class.__name__
    assert all(capability.task for capability in Capability)  # every refusal can say what was asked


def test_readme_capability_table_matches_the_declarations() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \|(.*)\|\s*$", readme, re.M)}
    for capability in Capability:
        cells = [c.strip() for c in rows[capability.value].split("|")]
        # columns: what it does, SQLite, Neo4j
        assert cells[1:] == ["yes" if capability in cls.capabilities else "no" for cls in TABLE], capability


def test_an_undeclared_capability_is_refused_with_a_typed_error(tmp_path: Path) -> None:
    with SQLiteGraphStore(tmp_path / "s.db") as store:
        assert push_source(store) is store
        with pytest.raises(UnsupportedCapabilityError, match=r"cannot search nearest neighbours.*'vector_search'"):
            vector_search(store)
        with pytest.raises(GraphStoreError):  # one base class for every store error
            require(store, Capability.VECTOR_SEARCH)
        require(store, Capability.PUSH_SOURCE)


def test_push_from_a_store_that_is_not_a_push_source_is_one_usage_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = tmp_path / "source.db", tmp_path / "target.db"
    with SQLiteGraphStore(source) as store:
        store.upsert(GraphDelta(run_id="r", extractor="t", entities=(Entity.named("Alice", "Person"),)))
    monkeypatch.setattr(SQLiteGraphStore, "capabilities", frozenset())
    assert main(["push", "--from", str(source), "--to", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "push_source" in err[0], err
    with SQLiteGraphStore(target) as written:
        assert written.counts().entities == 0


def test_push_from_a_push_source_still_copies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = tmp_path / "source.db", tmp_path / "target.db"
    with SQLiteGraphStore(source) as store:
        store.upsert(GraphDelta(run_id="r", extractor="t", entities=(Entity.named("Alice", "Person"),)))
    assert main(["push", "--from", str(source), "--to", str(target), "--json"]) == 0
    with SQLiteGraphStore(target) as written:
        assert [e.name for e in written.entities()] == ["Alice"]
