"""The graph at a point in a store's history: run references and the keep rule."""

from __future__ import annotations

import pytest

from kgweave.graph_store.history import UnknownRunError, as_of, parse_run_ref
from kgweave.graph_store.models import Run


def test_parse_run_ref() -> None:
    assert parse_run_ref("build-20261126T140203-3f9a") == ("build-20261126T140203-3f9a", None)
    assert parse_run_ref("expand-1:12") == ("expand-1", 12)
    assert parse_run_ref("odd:name") == ("odd:name", None)
    assert parse_run_ref(":3") == (":3", None)


def test_as_of_keeps_earlier_runs_and_iterations_up_to_the_point() -> None:
    runs = [Run(id=name, kind="build") for name in ("a", "b", "c")]
    point = as_of(runs, "b", iteration=2)
    assert point.earlier_runs == {"a"}
    assert point.keeps("a", None) and point.keeps(None, None)
    assert point.keeps("b", 2) and point.keeps("b", None) and not point.keeps("b", 3)
    assert not point.keeps("c", 0)
    assert point.includes_run("a") and point.includes_run("b") and not point.includes_run("c")
    with pytest.raises(UnknownRunError):
        as_of(runs, "z")
