"""The deploy files are valid (Docker does not run here: what can be checked without it is checked)."""

from __future__ import annotations

import inspect
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from kgweave.deploy.deployments import DEPLOY_FILE, _job_variables, load_deploy_file
from tests.conftest import REPO

FLOW_NAMES = {"kgweave.flows.build_graph.build_graph": "build-graph", "kgweave.flows.expand_graph.expand_graph":
              "expand-graph", "kgweave.flows.analyze_graph.analyze_graph": "analyze-graph",
              "kgweave.flows.train_gnn.train_gnn": "train-gnn"}
COMPOSE = REPO / "deploy" / "docker-compose.yml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"


def test_prefect_yaml_has_the_four_deployments_pools_and_cron_schedules() -> None:
    from prefect.schedules import Cron

    file = load_deploy_file(DEPLOY_FILE)
    assert {d.entrypoint for d in file.deployments} == set(FLOW_NAMES)
    assert {d.work_pool.name for d in file.deployments} == {"kgweave-cpu", "kgweave-gpu"}
    scheduled = [d for d in file.deployments if d.schedules]
    assert len(scheduled) >= 3
    for deployment in scheduled:
        for schedule in deployment.schedules:
            Cron(schedule.cron, timezone=schedule.timezone)  # raises on a bad expression or zone
    by_flow = {FLOW_NAMES[d.entrypoint]: d for d in file.deployments}
    # nightly: build first, then the analysis of what it built
    assert by_flow["build-graph"].schedules[0].cron == "0 2 * * *"
    assert by_flow["analyze-graph"].schedules[0].cron == "0 4 * * *"
    assert by_flow["train-gnn"].work_pool.name == "kgweave-gpu"
    assert file.tag_concurrency_limits == {"llm": 4}
    assert file.pull == [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}]
    raw = yaml.safe_load(DEPLOY_FILE.read_text())
    step = raw["pull"][0]["prefect.deployments.steps.set_working_directory"]
    assert step["directory"] == "{{ $KGWEAVE_PROJECT_DIR }}"


def test_every_entrypoint_imports_a_flow_taking_its_parameters() -> None:
    from prefect import Flow
    from prefect.flows import load_flow_from_entrypoint

    for deployment in load_deploy_file(DEPLOY_FILE).deployments:
        flow = load_flow_from_entrypoint(deployment.entrypoint)  # what a worker does with a module path
        assert isinstance(flow, Flow) and flow.name == FLOW_NAMES[deployment.entrypoint]
        assert deployment.load_flow() is flow
        assert set(deployment.parameters) <= set(inspect.signature(flow.fn).parameters), deployment.entrypoint


def test_the_deployments_file_is_package_data_of_kgweave() -> None:
    assert DEPLOY_FILE.resolve() == (REPO / "deploy" / "prefect.yaml").resolve()  # editable install: the checkout's


def test_secrets_are_block_references_and_missing_blocks_are_left_out() -> None:
    text = DEPLOY_FILE.read_text()
    assert "{{ prefect.blocks.secret.kgweave-neo4j-password }}" in text
    assert "{{ prefect.blocks.secret.kgweave-llm-api-key }}" in text
    build = next(d for d in load_deploy_file(DEPLOY_FILE).deployments if d.entrypoint.endswith(".build_graph"))
    env = _job_variables(build, secret_blocks=["kgweave-llm-api-key"])["env"]
    assert env["KGWEAVE_LLM_API_KEY"] == "{{ prefect.blocks.secret.kgweave-llm-api-key }}"
    assert "KGWEAVE_NEO4J_PASSWORD" not in env  # no block: the worker's own environment decides
    assert env["PREFECT_LOGGING_EXTRA_LOGGERS"] == "kgweave"


def test_compose_file_has_the_stack_with_health_checks_and_volumes() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert {"neo4j", "postgres", "prefect-server", "vllm", "deploy", "worker-cpu", "worker-gpu"} <= set(services)
    for name, service in services.items():
        if name != "deploy":  # the one-shot registration exits when done
            assert service["healthcheck"]["test"], name
    assert services["neo4j"]["image"].startswith("neo4j:5.26")
    assert "apoc" in services["neo4j"]["environment"]["NEO4J_PLUGINS"]
    assert "127.0.0.1:7474:7474" in services["neo4j"]["ports"]
    assert services["prefect-server"]["image"].startswith("prefecthq/prefect:3")
    assert "postgresql+asyncpg://" in services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert services["prefect-server"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "vllm/vllm-openai" in services["vllm"]["image"]
    for gpu_service in ("vllm", "worker-gpu"):
        devices = services[gpu_service]["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["capabilities"] == ["gpu"]
    for worker, pool in (("worker-cpu", "kgweave-cpu"), ("worker-gpu", "kgweave-gpu")):
        assert services[worker]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert pool in services[worker]["command"]
        assert services[worker]["environment"]["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert services["deploy"]["command"] == ["kgweave", "deploy"]
    named = {"neo4j-data", "postgres-data", "hf-cache", "kgweave-data"}
    assert named <= set(compose["volumes"])
    mounted = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])}
    assert named <= mounted


def _pip_installs(text: str) -> list[str]:
    """``pip install`` commands, normalised: comments, interpreter paths, --quiet and line continuations dropped."""
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    text = text.replace("\\\n", " ")
    found = []
    for match in re.finditer(r"(?:\S*python\S*\s+-m\s+)?pip install([^\n&;]*)", text):
        args = [a for a in match.group(1).split() if a not in ("--quiet", "-q", "--upgrade", "-U")]
        if args and args != ["pip"]:
            found.append("pip install " + " ".join(args))
    return found


def test_dockerfile_installs_kgweave_as_the_readme_does() -> None:
    # README's Quick start installs through the Makefile: `make install` / `make demo` run pip install -e .
    makefile = (REPO / "Makefile").read_text()
    base = re.search(r"^\$\(VENV\)/\.base:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert base, "the Makefile's base install target moved"
    readme_install = _pip_installs(base.group(1))
    assert readme_install == ["pip install -e ."]
    docker_install = _pip_installs(DOCKERFILE.read_text())
    assert docker_install[0] == readme_install[0]
    assert set(docker_install) <= {"pip install -e .", 'pip install -e ".[ml]"'}
    readme_lines = _pip_installs((REPO / "README.md").read_text())
    assert all(line in docker_install or "[" in line for line in readme_lines if "-e ." in line)
    assert "FROM python:3.11" in DOCKERFILE.read_text()  # README: Python >= 3.11
    for folder in ("flows", "agents", "graph_store", "analysis"):
        assert f"COPY {folder} ./{folder}" in DOCKERFILE.read_text()


def test_env_example_lists_every_setting_and_no_secret() -> None:
    from pydantic_settings import BaseSettings

    import kgweave.flows.settings as settings_module
    text = (REPO / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.M))
    for _, cls in inspect.getmembers(settings_module, inspect.isclass):
        if issubclass(cls, BaseSettings) and cls.__module__ == settings_module.__name__:
            prefix = cls.model_config.get("env_prefix", "")
            for field in cls.model_fields:
                assert f"{prefix}{field}".upper() in listed, f"{cls.__name__}.{field} missing from .env.example"
    for line in re.findall(r"^#? ?[A-Z0-9_]*(?:PASSWORD|API_KEY|TOKEN)=(.*)$", text, re.M):
        assert line == "", "a secret value in .env.example"
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO)
    assert ignored.returncode == 0, ".env must be git-ignored"


def test_deploy_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kgweave.flows.cli import main

    assert main(["deploy", "--file", str(tmp_path / "missing.yaml")]) == 2
    assert capsys.readouterr().err.strip() == f"kgweave: error: no such file: {tmp_path / 'missing.yaml'}"
    needs_env = tmp_path / "prefect.yaml"
    needs_env.write_text(DEPLOY_FILE.read_text().replace("{{ $KGWEAVE_STORE }}", "{{ $KGWEAVE_NOT_SET_ANYWHERE }}"))
    assert main(["deploy", "--file", str(needs_env), "--json"]) == 2  # fails before any API call
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs environment variable KGWEAVE_NOT_SET_ANYWHERE" in err


def test_store_option_and_setting_fill_the_store_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGWEAVE_STORE", "bolt://neo4j:7687")
    stores = {d.parameters.get("store") for d in load_deploy_file(DEPLOY_FILE).deployments} - {None}
    assert stores == {"bolt://neo4j:7687"}
    stores = {d.parameters.get("store") for d in load_deploy_file(DEPLOY_FILE, store="other.db").deployments} - {None}
    assert stores == {"other.db"}
