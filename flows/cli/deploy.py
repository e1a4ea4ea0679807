"""``kgweave deploy`` (register the deployments of deploy/prefect.yaml) and ``kgweave serve`` (serve them)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kgweave.flows.cli._common import EXIT_OK, UsageError, json_arg, print_json, store_arg

__all__ = ["register"]


def _settings(args: argparse.Namespace) -> object:
    from kgweave.flows.settings import DeploySettings

    overrides = {k: v for k, v in (("prefect_file", args.file), ("project_dir", args.project_dir)) if v}
    for key, value in overrides.items():
        if not Path(value).exists():
            raise UsageError(f"no such {'file' if key == 'prefect_file' else 'folder'}: {value}")
    return DeploySettings(**overrides)


def cmd_deploy(args: argparse.Namespace) -> int:
    from kgweave.deploy.deployments import DeployError, register_deployments
    from kgweave.deploy.local_stack import prefect_ui_url

    settings = _settings(args)
    try:
        result = register_deployments(settings=settings, store=args.store)  # type: ignore[arg-type]
    except DeployError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print_json(result.model_dump())
        return EXIT_OK
    ephemeral = "(ephemeral: run `kgweave up` first, or set PREFECT_API_URL, to keep these)"
    print(f"Prefect API {result.api_url or ephemeral}; "
          f"work pools {', '.join(result.work_pools)}; tag limit llm={result.concurrency_limits['llm']}; "
          f"Secret blocks: {', '.join(result.secret_blocks) or 'none'}")
    for item in result.deployments:
        print(f"  {item.name:<28} pool {item.work_pool:<12} cron {', '.join(item.schedules) or '-'}")
    for entrypoint, why in result.skipped.items():
        print(f"  skipped {entrypoint}: {why}")
    ui = f"UI: {prefect_ui_url(result.api_url)}" if result.api_url else "no UI: the API is ephemeral"
    print(f"Start a worker: prefect worker start --pool kgweave-cpu   ({ui})")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from kgweave.deploy.deployments import DeployError, serve_deployments

    settings = _settings(args)
    try:
        serve_deployments(settings=settings, limit=args.limit, store=args.store)  # type: ignore[arg-type]
    except DeployError as exc:
        raise UsageError(str(exc)) from exc
    return EXIT_OK


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", default=None, help="deployments file (default deploy/prefect.yaml)")
    parser.add_argument("--project-dir", default=None,
                        help="folder workers run flows from (default: this project; env KGWEAVE_PROJECT_DIR)")
    store_arg(parser)  # the store the deployments write (fills {{ $KGWEAVE_STORE }} in prefect.yaml)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    deploy = sub.add_parser("deploy", help="register the Prefect deployments (schedules, work pools, llm limit)")
    _common(deploy)
    json_arg(deploy)
    deploy.set_defaults(func=cmd_deploy)

    serve = sub.add_parser("serve", help="serve every deployment from this process (small setups; Ctrl-C stops)")
    _common(serve)
    serve.add_argument("--limit", type=int, default=None, help="flow runs at once (default: no limit)")
    serve.set_defaults(func=cmd_serve)
