"""``kgweave up`` / ``down`` / ``status``: the local stack (a Prefect server, optionally Neo4j) in the background."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from kgweave.flows.cli._common import EXIT_FAILURE, EXIT_OK, json_arg, print_json

if TYPE_CHECKING:
    from kgweave.deploy.local_stack import ServiceStatus

__all__ = ["register"]


def cmd_up(args: argparse.Namespace) -> int:
    from kgweave.deploy.local_stack import up
    from kgweave.flows.settings import StackSettings

    services = up(StackSettings(), neo4j=args.neo4j)
    return _report(args, services, wanted={"prefect", "neo4j"} if args.neo4j else {"prefect"})


def cmd_down(args: argparse.Namespace) -> int:
    from kgweave.deploy.local_stack import down
    from kgweave.flows.settings import StackSettings

    stopped = down(StackSettings())
    if args.json:
        print_json({"stopped": [s.to_dict() for s in stopped]})
    elif stopped:
        for service in stopped:
            print(f"stopped {service.name} (pid {service.pid})")
    else:
        print("nothing to stop: kgweave up started no service that is still running")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from kgweave.deploy.local_stack import stack_status
    from kgweave.flows.settings import StackSettings

    return _report(args, stack_status(StackSettings()), wanted=set())


def _report(args: argparse.Namespace, services: list[ServiceStatus], wanted: set[str]) -> int:
    """Print the services (table or JSON); exit 1 if a wanted one does not answer."""
    from kgweave.deploy.local_stack import use_prefect_api
    from kgweave.flows.settings import StackSettings

    api = use_prefect_api(StackSettings(), environ=dict(os.environ))  # what a command started now would use
    down_ = [s.name for s in services if s.name in wanted and not s.healthy]
    if args.json:
        print_json({"services": [s.to_dict() for s in services],
                    "prefect_api": {"source": api.source, "url": api.url}})
        return EXIT_FAILURE if down_ else EXIT_OK
    for s in services:
        health = "answers" if s.healthy else "running, not answering" if s.running else "not running"
        pid = f"pid {s.pid}" if s.pid else "no pid"
        origin = "started by kgweave up" if s.started_by_up else "not started by kgweave up"
        print(f"{s.name:<8} {health:<11} {pid:<10} {s.ui_url or s.url} ({s.url}); {origin}")
    if api.source == "ephemeral":
        print("commands here start a temporary Prefect API each time (slow); `kgweave up` starts one to keep")
    else:
        print(f"commands here use the Prefect API {api.url} ({api.source}); a worker (prefect worker start) "
              f"needs PREFECT_API_URL={api.url}")
    return EXIT_FAILURE if down_ else EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    up = sub.add_parser("up", help="start a local Prefect server (and Neo4j with --neo4j) in the background; "
                                   "later commands use it")
    up.add_argument("--neo4j", action="store_true", help="also start the local Neo4j (kgweave neo4j start)")
    json_arg(up)
    up.set_defaults(func=cmd_up, uses_prefect=False)

    down = sub.add_parser("down", help="stop what kgweave up started (by its recorded pids)")
    json_arg(down)
    down.set_defaults(func=cmd_down, uses_prefect=False)

    status = sub.add_parser("status", help="the local stack's services: URL, pid, health, and the API commands use")
    json_arg(status)
    status.set_defaults(func=cmd_status, uses_prefect=False)
