"""What every ``kgweave`` subcommand module shares: exit codes, the usage error, common arguments.

A command group lives in its own module (``flows/cli/<group>.py``) with a ``register(sub)`` function
that adds its parsers; :mod:`kgweave.flows.cli` lists the modules and runs the chosen command. A command that
runs no flow sets ``uses_prefect=False`` in its defaults: it then neither looks for a Prefect API nor
imports Prefect (``kgweave up``'s server is found only for the commands that need one).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

if TYPE_CHECKING:
    from pydantic import ValidationError

T = TypeVar("T")

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "Parser",
    "UsageError",
    "bad_option",
    "failure_ratio_arg",
    "gleaning_arg",
    "json_arg",
    "one_line_console",
    "open_or_usage",
    "graph_source",
    "print_json",
    "quiet_prefect_defaults",
    "run_summarised",
    "store_arg",
    "store_url",
]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


class UsageError(Exception):
    """Bad usage or bad input: reported as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"kgweave: error: {message} (see kgweave {self.prog.split()[-1]} --help)\n"
                  if " " in self.prog else f"kgweave: error: {message} (see kgweave --help)\n")


def quiet_prefect_defaults() -> None:
    """Prefect settings for a CLI process, applied before prefect is imported (user env wins)."""
    # INFO goes to the API (the run's logs in the UI); only the console handler is quiet
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    # library loggers reach the run's logs in the Prefect UI (at PREFECT_LOGGING_LEVEL and above)
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "kgweave")


class _OneLineConsole(logging.Filter):
    """Console records as one line each, without tracebacks (the Prefect API still gets them whole)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.name.startswith(("prefect.flow_runs", "prefect.task_runs")):
            return False  # a run's exception: the CLI prints it as its one line (`main`)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        message = record.getMessage()
        if "\n" in message:
            record.msg, record.args = message.splitlines()[0] + " ...", ()
        return True


def one_line_console() -> None:
    """Prefect's console output (its own errors included) as one line per record; KGWEAVE_DEBUG=1 keeps all.

    Imports Prefect (its logging is configured on import); call it only for commands that run flows.
    """
    if os.environ.get("KGWEAVE_DEBUG"):
        return
    import prefect.main  # noqa: F401 (configures Prefect's logging handlers, once per process)

    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler) \
                    and not any(isinstance(f, _OneLineConsole) for f in handler.filters):
                handler.addFilter(_OneLineConsole())


def store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None,
                        help="store URL: PATH or sqlite:///PATH (default ./kgweave.db, env KGWEAVE_STORE), "
                             "bolt://HOST:7687 for Neo4j")


def llm_args(parser: argparse.ArgumentParser, used_for: str = "") -> None:
    """``--llm-base-url``, ``--llm-model`` and ``--max-tokens-per-call`` (else their ``KGWEAVE_LLM_*`` settings).

    ``--max-tokens-per-call`` is applied as its setting (:func:`apply_llm_overrides`), so every LLM call
    of the command (extraction, expansion, judging) and the flow's own process read it in one place.
    """
    parser.add_argument("--llm-base-url", default=None,
                        help=f"{used_for}OpenAI-compatible API root (env KGWEAVE_LLM_BASE_URL)")
    parser.add_argument("--llm-model", default=None, help=f"{used_for}model name (env KGWEAVE_LLM_MODEL)")
    parser.add_argument("--max-tokens-per-call", type=positive_int, default=None, metavar="N",
                        help="completion token cap of one LLM request, sent as max_tokens and max_completion_tokens "
                             "(env KGWEAVE_LLM_MAX_TOKENS_PER_CALL; default: what is asked decides, e.g. the "
                             "domain's extraction cap)")


_LLM_OVERRIDES = {"max_tokens_per_call": "KGWEAVE_LLM_MAX_TOKENS_PER_CALL"}


def apply_llm_overrides(args: argparse.Namespace) -> None:
    """Export the LLM options given on the command line as their settings (a flag wins over the environment)."""
    for name, variable in _LLM_OVERRIDES.items():
        value = getattr(args, name, None)
        if value is not None:
            os.environ[variable] = str(value)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value:g}")
    return value


def failure_ratio_arg(parser: argparse.ArgumentParser) -> None:
    """``--max-failure-ratio R``: the run ends failed (exit 1) when more than this share of its items fail."""
    parser.add_argument("--max-failure-ratio", type=_ratio, default=None, metavar="R",
                        help="end failed (exit 1) when more than this share of items fail (env "
                             "KGWEAVE_MAX_FAILURE_RATIO, default 1.0: only when no item succeeds)")


def run_summarised(run: Callable[[], T]) -> tuple[T, Exception | None]:
    """A flow's summary and, for a run that ended failed, its error (raised once the summary is shown)."""
    from kgweave.flows.monitoring import FailureRatioExceededError

    try:
        return run(), None
    except FailureRatioExceededError as exc:
        if exc.summary is None:
            raise
        return exc.summary, exc  # type: ignore[return-value]


def gleaning_arg(parser: argparse.ArgumentParser) -> None:
    """``--gleaning N``: the LLM extractor's extra passes per chunk (setting ``KGWEAVE_LLM_GLEANING`` otherwise)."""
    parser.add_argument("--gleaning", type=int, default=None, metavar="N",
                        help="LLM extractor: up to N extra 'what did you miss?' passes per chunk "
                             "(env KGWEAVE_LLM_GLEANING, default 0)")


def bad_option(exc: ValidationError) -> UsageError:
    """The usage error for options a parameter model rejected: its first error, in one line."""
    err = exc.errors()[0]
    return UsageError(f"bad option {'.'.join(str(p) for p in err['loc'])}: {err['msg']}")


def json_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def graph_source(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """``(store URL, None)`` or ``(None, GraphML file)`` from ``--store``/``--graphml`` (not both; file exists)."""
    if args.graphml and args.store:
        raise UsageError("give --store or --graphml, not both")
    if args.graphml and not Path(args.graphml).is_file():
        raise UsageError(f"no such file: {args.graphml}")
    return (None, args.graphml) if args.graphml else (store_url(args), None)


def store_url(args: argparse.Namespace) -> str:
    from kgweave.flows.settings import StoreSettings

    return str(args.store or StoreSettings().store)


def print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def open_or_usage(url: str) -> object:
    from kgweave.flows.stores import open_flow_store
    from kgweave.graph_store.errors import StoreURLError

    try:
        return open_flow_store(url)
    except StoreURLError as exc:
        raise UsageError(str(exc)) from exc
