"""`kgweave push` (embedded -> any store) and `kgweave store clear`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgweave.graph_store.exchange import export_graph
from kgweave.graph_store.models import GraphDelta, WriteStats
from kgweave.graph_store.sqlite_store import SQLiteGraphStore
from kgweave.graph_store.transfer import push
from tests.conftest import SAMPLE_CORPUS
from tests.flows.test_cli import kgweave_env, run_kgweave

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture(scope="module")
def source_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus built, plus an imported GraphML, resolved and analysed (write-back)."""
    folder = tmp_path_factory.mktemp("push")
    db = folder / "source.db"
    graphml = folder / "extra.graphml"
    graphml.write_text(
        "<graphml xmlns='http://graphml.graphdrawing.org/xmlns'><key id='t' for='edge' attr.name='title' "
        "attr.type='string'/><graph edgedefault='undirected'><node id='silk'/><node id='graph neural networks'/>"
        "<edge source='silk' target='graph neural networks'><data key='t'>inspires</data></edge></graph></graphml>")
    for args in (["build", str(SAMPLE_CORPUS)], ["import", str(graphml)], ["resolve", "--no-embeddings"],
                 ["analyze", "--write-back"]):
        done = run_kgweave(*args, "--store", str(db))
        assert done.returncode == 0, done.stderr
    return db


def _state(url: str) -> dict[str, object]:
    return json.loads(run_kgweave("stats", "--store", url, "--json").stdout)


def test_push_into_a_fresh_store_copies_everything_and_twice_changes_nothing(source_db: Path, tmp_path: Path) -> None:
    target = str(tmp_path / "target.db")
    done = run_kgweave("push", "--from", str(source_db), "--to", target, "--json")
    assert done.returncode == 0, done.stderr
    assert _state(target) == _state(str(source_db))
    with SQLiteGraphStore(source_db) as a, SQLiteGraphStore(target) as b:
        assert a.snapshot() == b.snapshot()
        assert a.merges() == b.merges() and a.all_node_metrics() == b.all_node_metrics()
        assert [r.id for r in a.runs()] == [r.id for r in b.runs()]
        query = "SELECT id, first_run, support FROM entities ORDER BY id"
        assert a._query(query) == b._query(query)
    again = json.loads(run_kgweave("push", "--from", str(source_db), "--to", target, "--json").stdout)
    assert all(again[k] == 0 for k in again if k.startswith("new_"))
    # a build against the target skips what the source had already done
    rebuilt = json.loads(run_kgweave("build", str(SAMPLE_CORPUS), "--store", target, "--json").stdout)
    assert rebuilt["skipped_documents"] == 40


def test_push_into_neo4j(source_db: Path, neo4j_store: object, neo4j_server: object) -> None:
    env = {**kgweave_env(), "KGWEAVE_NEO4J_PASSWORD": neo4j_server.password}  # type: ignore[attr-defined]
    url = neo4j_server.url  # type: ignore[attr-defined]
    done = run_kgweave("push", "--from", str(source_db), "--to", url, "--json", env=env)
    assert done.returncode == 0, done.stderr
    neo4j_stats = json.loads(run_kgweave("stats", "--store", url, "--json", env=env).stdout)
    assert neo4j_stats == _state(str(source_db))
    with SQLiteGraphStore(source_db) as source:
        assert neo4j_store.snapshot() == source.snapshot()  # type: ignore[attr-defined]
    again = json.loads(run_kgweave("push", "--from", str(source_db), "--to", url, "--json", env=env).stdout)
    assert all(again[k] == 0 for k in again if k.startswith("new_"))


def test_store_clear_needs_yes(tmp_path: Path, source_db: Path) -> None:
    db = tmp_path / "copy.db"
    assert run_kgweave("push", "--from", str(source_db), "--to", str(db)).returncode == 0
    refused = run_kgweave("store", "clear", "--store", str(db))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert _state(str(db))["entities"] > 0
    done = run_kgweave("store", "clear", "--yes", "--store", str(db), "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["deleted_entities"] > 0
    state = _state(str(db))
    assert (state["documents"], state["entities"], state["relations"], state["runs"]) == (0, 0, 0, 0)


def test_push_from_a_missing_file_is_bad_usage(tmp_path: Path) -> None:
    done = run_kgweave("push", "--from", str(tmp_path / "nope.db"), "--to", str(tmp_path / "t.db"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


class _KilledAfter:
    """A target store whose process "dies" (KeyboardInterrupt) once it has committed ``batches`` upserts."""

    def __init__(self, store: SQLiteGraphStore, batches: int) -> None:
        self._store, self._left = store, batches
        self.committed: list[GraphDelta] = []

    def upsert(self, delta: GraphDelta) -> WriteStats:
        if self._left == 0:
            raise KeyboardInterrupt
        self._left -= 1
        stats = self._store.upsert(delta)
        self.committed.append(delta)
        return stats

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def _sorted_export(store: SQLiteGraphStore, out: Path) -> dict[str, list[str]]:
    export_graph(store, "json", out)
    return {key: sorted(json.dumps(item, sort_keys=True) for item in items)
            for key, items in json.loads(out.read_text(encoding="utf-8")).items()}


def test_a_killed_push_keeps_its_batches_and_a_rerun_completes_it(source_db: Path, tmp_path: Path) -> None:
    with SQLiteGraphStore(source_db) as source, SQLiteGraphStore(tmp_path / "whole.db") as whole, \
            SQLiteGraphStore(tmp_path / "killed.db") as killed:
        uninterrupted = push(source, whole, batch_rows=300)  # type: ignore[arg-type]
        assert uninterrupted["batches"] > 3  # the sample is split, so the kill below is mid-push
        dying = _KilledAfter(killed, batches=1)
        with pytest.raises(KeyboardInterrupt):
            push(source, dying, batch_rows=300)  # type: ignore[arg-type]
        (first,) = dying.committed
        assert 0 < len(first.documents) < 40 and len(first.documents) + len(first.mentions) <= 300
        assert killed.counts().documents == len(first.documents)  # the committed batch is kept, done marks too
        assert killed.documents_done([d.id for d in first.documents], str(first.fingerprint)) == {
            d.id for d in first.documents}
        resumed = push(source, killed, batch_rows=300)  # type: ignore[arg-type]
        assert resumed["skipped_documents"] == len(first.documents)
        assert resumed["batches"] < uninterrupted["batches"]
        assert killed.counts() == whole.counts() == source.counts()
        assert _sorted_export(killed, tmp_path / "killed.json") == _sorted_export(whole, tmp_path / "whole.json")
        assert killed.merges() == whole.merges() and killed.all_node_metrics() == whole.all_node_metrics()


def test_a_document_bigger_than_a_batch_is_split_and_still_copied_whole(source_db: Path, tmp_path: Path) -> None:
    with SQLiteGraphStore(source_db) as source, SQLiteGraphStore(tmp_path / "small.db") as small:
        deltas = list(source.export_deltas(batch_rows=20))
        assert any(not d.documents and d.mentions for d in deltas)  # a document's mentions in a later batch
        assert all(len(d.documents) <= 1 for d in deltas)
        assert all(len(d.documents) + len(d.chunks) + len(d.mentions) + len(d.relations) <= 20 for d in deltas)
        push(source, small, batch_rows=20)  # type: ignore[arg-type]
        assert small.counts() == source.counts() and small.snapshot() == source.snapshot()
        assert small.provenance() == source.provenance()
        done = source.done_fingerprints()
        assert done and all(small.documents_done(ids, fp) == set(ids) for fp, ids in done.items())
