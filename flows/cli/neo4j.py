"""``kgweave neo4j start|stop|status|install``: the local Neo4j 5 launcher (no Prefect)."""

from __future__ import annotations

import argparse
from typing import Any

from kgweave.flows.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    json_arg,
    print_json,
)

__all__ = ["cmd_neo4j", "register"]


def cmd_neo4j(args: argparse.Namespace) -> int:
    import logging

    from kgweave.deploy.neo4j_server import Neo4jServer

    logging.basicConfig(level=logging.INFO if not args.json else logging.WARNING, format="%(message)s")
    server = Neo4jServer(bolt_port=args.bolt_port, http_port=args.http_port)
    if args.action == "install":
        server.install()
    elif args.action == "start":
        server.start(wait_s=args.wait)
    elif args.action == "stop":
        server.stop()
    status = server.status()
    if args.json:
        print_json(status.to_dict())
    elif status.running:
        print(f"Neo4j {status.version} running (pid {status.pid}): {status.bolt_url}, "
              f"Browser {status.browser_url} (user {status.user}); data in {status.home}")
    else:
        print(f"Neo4j {status.version} not running (home {status.home})")
    return EXIT_OK if status.running or args.action in ("stop", "install") else EXIT_FAILURE


def register(sub: Any) -> None:
    """Add ``neo4j`` to the kgweave subcommands."""
    neo4j = sub.add_parser("neo4j", help="a local Neo4j 5 server from Maven Central jars (needs Java 17, Maven)")
    neo4j.add_argument("action", choices=("start", "stop", "status", "install"))
    neo4j.add_argument("--bolt-port", type=int, default=7687)
    neo4j.add_argument("--http-port", type=int, default=None,
                       help="HTTP / Browser port (default: $KGWEAVE_NEO4J_HTTP_PORT, else 7474)")
    neo4j.add_argument("--wait", type=float, default=180.0, help="seconds to wait for Bolt on start")
    json_arg(neo4j)
    neo4j.set_defaults(func=cmd_neo4j, uses_prefect=False)
