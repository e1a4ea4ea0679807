"""What flows put in their Prefect artifacts, as plain strings (no Prefect API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgweave.flows import monitoring
from kgweave.flows.monitoring import plots_markdown, png_markdown
from tests.artifacts import PNG_SIGNATURE, embedded_pngs


def _png(path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3, 2))
    figure.add_subplot().plot([1, 2, 3], [1, 4, 9])
    figure.savefig(path, dpi=80)
    return path


def test_a_png_is_embedded_as_a_data_uri_that_decodes_to_the_file(tmp_path: Path) -> None:
    path = _png(tmp_path / "curve.png")
    markdown = png_markdown(path, "training curve")
    assert markdown.startswith("![training curve](data:image/png;base64,")
    assert embedded_pngs(markdown) == [path.read_bytes()] and path.read_bytes().startswith(PNG_SIGNATURE)
    assert "file://" not in markdown


def test_a_png_over_the_cap_is_named_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _png(tmp_path / "big.png")
    monkeypatch.setattr(monitoring, "MAX_EMBEDDED_PNG_BYTES", 100)
    markdown = png_markdown(path, "degree distribution")
    assert "data:image" not in markdown and str(path) in markdown and "not embedded" in markdown


def test_plots_markdown_embeds_only_the_pngs_of_a_report_folder(tmp_path: Path) -> None:
    paths = [_png(tmp_path / "nodes_edges.png"), tmp_path / "iterations.json", _png(tmp_path / "modularity.png")]
    markdown = plots_markdown(paths)
    assert len(embedded_pngs(markdown)) == 2 and "![nodes edges](" in markdown and "json" not in markdown
