"""The ``kgweave`` command line: one module per command group (``flows/cli/<group>.py``, each with
``register(subparsers)``), the shared options and exit codes in ``_common.py``; this module assembles the
parser and runs the chosen command, turning errors into one line on stderr.

Exit codes: 0 success; 1 runtime failure; 2 bad usage or bad input (one line on stderr, no
traceback); 3 the job finished but some items (files, records, chunks) failed and were reported.
``--json`` prints exactly one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from kgweave.flows.cli._common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    Parser,
    UsageError,
    apply_llm_overrides,
    one_line_console,
    quiet_prefect_defaults,
)

__all__ = ["COMMAND_MODULES", "main"]

# One module per command group, each with ``register(subparsers)``; this order is the order of --help.
COMMAND_MODULES: tuple[str, ...] = tuple(f"kgweave.flows.cli.{name}" for name in (
    "build", "store", "runs", "analyze", "ask", "resolve", "expand", "consensus", "evaluate", "ml", "neo4j",
    "deploy", "stack"))

# -- parser -------------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="kgweave", description="Build, grow and analyse knowledge graphs from text.")
    parser.set_defaults(uses_prefect=True)  # commands that run no flow set False: they never look for an API
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kgweave`` console script."""
    quiet_prefect_defaults()
    args = _parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    from kgweave.deploy.local_stack import StackError, prefect_start_failure, use_prefect_api
    from kgweave.flows.monitoring import FailureRatioExceededError
    from kgweave.flows.settings import StackSettings
    from kgweave.graph_store.errors import StoreUnavailableError, UnsupportedCapabilityError

    apply_llm_overrides(args)
    if args.uses_prefect and not getattr(args, "dry_run", False):  # a dry run estimates and runs no flow
        use_prefect_api(StackSettings())  # before Prefect is imported: the server `kgweave up` started, if any
        one_line_console()
    try:
        return func(args)
    except (UsageError, UnsupportedCapabilityError) as exc:  # asking a store for what it cannot do is bad input
        print(f"kgweave: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreUnavailableError, StackError) as exc:
        print(f"kgweave: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except FailureRatioExceededError as exc:  # the run ended failed: its summary is shown, then the cause
        print(f"kgweave: failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("kgweave: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for people; KGWEAVE_DEBUG=1 shows the traceback
        if os.environ.get("KGWEAVE_DEBUG"):
            raise
        message = " ".join(str(exc).split())  # one line, whatever the message holds
        reason = prefect_start_failure(exc) or f"{type(exc).__name__}: {message} (KGWEAVE_DEBUG=1 for the traceback)"
        print(f"kgweave: failed: {reason}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        from kgweave.flows.stores import close_flow_stores

        close_flow_stores()
