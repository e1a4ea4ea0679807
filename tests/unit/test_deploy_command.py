"""``kgweave deploy``'s printed addresses come from the API it registered with (no Prefect server here)."""

from __future__ import annotations

import argparse

import pytest

from kgweave.deploy import deployments
from kgweave.deploy.deployments import DeployResult
from kgweave.deploy.local_stack import prefect_ui_url
from kgweave.flows.cli.deploy import cmd_deploy


@pytest.mark.parametrize(("api_url", "ui_url"), [
    ("http://127.0.0.1:4200/api", "http://127.0.0.1:4200"),
    ("http://prefect.internal:4310/api/", "http://prefect.internal:4310"),
    ("https://example.org/prefect/api", "https://example.org/prefect"),
])
def test_ui_url_is_the_api_url_without_api(api_url: str, ui_url: str) -> None:
    assert prefect_ui_url(api_url) == ui_url


def _deploy(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], api_url: str | None) -> str:
    result = DeployResult(api_url=api_url, project_dir=".", deployments=[], skipped={}, work_pools=["kgweave-cpu"],
                          concurrency_limits={"llm": 4}, secret_blocks=[], seconds=0.1)
    monkeypatch.setattr(deployments, "register_deployments", lambda **_: result)
    args = argparse.Namespace(file=None, project_dir=None, store=None, json=False)
    assert cmd_deploy(args) == 0
    return capsys.readouterr().out


def test_deploy_prints_the_ui_of_the_actual_api(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = _deploy(monkeypatch, capsys, "http://10.1.2.3:4310/api")
    assert "UI: http://10.1.2.3:4310" in out and ":4200" not in out


def test_deploy_on_an_ephemeral_api_prints_no_ui(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = _deploy(monkeypatch, capsys, None)
    assert "no UI" in out and ":4200" not in out
