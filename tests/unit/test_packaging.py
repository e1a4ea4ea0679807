"""kgweave installs one import name, ``kgweave``, and lives beside packages that own generic names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    had_build = (REPO / "build").exists()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(REPO)], check=True, capture_output=True, text=True, timeout=300)
    if not had_build:  # setuptools builds in the source tree; leave the checkout as it was
        shutil.rmtree(REPO / "build", ignore_errors=True)
    (found,) = out.glob("kgweave-*.whl")
    return found


def test_the_wheel_has_kgweave_as_its_only_top_level_name_and_every_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    packages = {f"kgweave/{init.relative_to(REPO).as_posix()}" for folder in ("flows", "agents", "graph_store",
                "analysis", "deploy") for init in (REPO / folder).rglob("__init__.py")}
    assert packages <= set(names), packages - set(names)  # a subpackage left out of pyproject's list
    top = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith((".dist-info", ".data"))}
    assert top == {"kgweave"}
    assert "kgweave/__init__.py" not in names  # a namespace package: the folders are mapped into it
    assert {"kgweave/flows/cli/__init__.py", "kgweave/agents/cooccurrence.py", "kgweave/graph_store/sqlite_store.py",
            "kgweave/analysis/metrics.py", "kgweave/deploy/prefect.yaml"} <= set(names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "kgweave = kgweave.flows.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_kgweave_imports_beside_a_package_that_owns_top_level_agents(wheel: Path, tmp_path: Path) -> None:
    """The OpenAI Agents SDK installs ``agents``; a stand-in owning that name is installed next to kgweave."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, text=True, timeout=300)
    (target / "agents").mkdir()
    (target / "agents" / "__init__.py").write_text("class Agent: ...\nclass Runner: ...\n")
    for generic in ("analysis", "flows", "graph_store"):  # the names PyPI's other distributions use
        (target / generic).mkdir()
        (target / generic / "__init__.py").write_text("OTHER = True\n")
    script = (
        # the editable install's finder would quietly fill in from the checkout what the wheel lacks
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in getattr(f, '__module__', '')]\n"
        "sys.path_hooks[:] = [h for h in sys.path_hooks if 'editable' not in getattr(h, '__module__', '')]\n"
        "sys.path_importer_cache.clear()\n"
        "import agents, analysis, flows, graph_store\n"
        "from agents import Agent, Runner\n"
        "import kgweave.agents.cooccurrence as c, kgweave.flows.cli as cli, kgweave.deploy.deployments as d\n"
        "assert analysis.OTHER and flows.OTHER and graph_store.OTHER\n"
        f"assert c.__file__.startswith({str(target)!r}), c.__file__\n"
        "assert d.DEPLOY_FILE.is_file(), d.DEPLOY_FILE\n"
        "assert len(d.load_deploy_file().deployments) == 4\n"
        "import kgweave.agents.domains, kgweave.agents.sources.records, kgweave.deploy.local_stack\n"
        "raise SystemExit(cli.main(['stats', '--store', 'x.db', '--json']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"entities": 0' in done.stdout
