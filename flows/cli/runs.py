"""``kgweave runs``: the store's runs; ``--reap`` also marks their Prefect flow runs crashed.

Opening a store already marks ``crashed`` every run left ``running`` by a process that died
(``graph_store/runs.py``); ``--reap`` does the same for the flow runs Prefect still shows Running.
"""

from __future__ import annotations

import argparse
from typing import Any

from kgweave.flows.cli._common import EXIT_OK, json_arg, open_or_usage, print_json, store_arg, store_url
from kgweave.graph_store.models import Run

__all__ = ["cmd_runs", "register"]


def cmd_runs(args: argparse.Namespace) -> int:
    from kgweave.graph_store.runs import CRASHED

    store = open_or_usage(store_url(args))  # opening reaps the store's dead runs
    runs: list[Run] = sorted(store.runs(), key=lambda r: r.started_at, reverse=True)  # type: ignore[attr-defined]
    prefect = _crash_prefect_runs([r.id for r in runs if r.status == CRASHED]) if args.reap else None
    if args.json:
        print_json({"runs": [_row(r) for r in runs], "prefect_flow_runs_marked_crashed": prefect})
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"runs in {store.url}")  # type: ignore[attr-defined]
    for column in ("id", "kind", "status", "started", "finished", "error"):
        table.add_column(column)
    for row in (_row(r) for r in runs):
        table.add_row(*(str(row[c] or "") for c in ("id", "kind", "status", "started_at", "finished_at", "error")))
    Console().print(table)
    if prefect is not None:
        print(f"Prefect: {prefect} flow runs of crashed runs marked Crashed")
    return EXIT_OK


def _row(run: Run) -> dict[str, Any]:
    return {"id": run.id, "kind": run.kind, "status": run.status,
            "started_at": run.started_at.isoformat(timespec="seconds"),
            "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
            "error": run.summary.get("error")}


def _crash_prefect_runs(run_ids: list[str]) -> int:
    """Set Crashed on every Prefect flow run still Running for one of ``run_ids`` (named ``<flow>-<run id>``)."""
    if not run_ids:
        return 0
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    marked = 0
    with get_client(sync_client=True) as client:
        running = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING]))))
        for flow_run in running:
            if any(flow_run.name.endswith(f"-{run_id}") for run_id in run_ids):
                client.set_flow_run_state(flow_run.id, Crashed(message="its process died (kgweave runs --reap)"),
                                          force=True)
                marked += 1
    return marked


def register(sub: Any) -> None:
    """Add ``runs`` to the kgweave subcommands."""
    runs = sub.add_parser("runs", help="the store's runs (dead ones marked crashed); --reap: in Prefect too")
    runs.add_argument("--reap", action="store_true",
                      help="also mark Crashed the Prefect flow runs of runs whose process died")
    store_arg(runs)
    json_arg(runs)
    runs.set_defaults(func=cmd_runs)
