"""``--report DIR``: markdown, JSON and PNG plots written from a report."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx

from kgweave.analysis.graph_view import view_from_networkx
from kgweave.analysis.report import AnalysisOptions, AnalysisReport, analyze_graph
from kgweave.analysis.report_files import REPORT_FILES, report_markdown, write_report_dir

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _report() -> AnalysisReport:
    graph = nx.barabasi_albert_graph(3000, 2, seed=1)
    return analyze_graph(view_from_networkx(graph), AnalysisOptions(betweenness_sources=50, path_sources=20))


def test_report_dir_holds_markdown_json_and_real_pngs(tmp_path: Path) -> None:
    report = _report()
    paths = write_report_dir(report, tmp_path / "out")
    assert [p.name for p in paths] == list(REPORT_FILES) and all(p.is_file() for p in paths)
    assert AnalysisReport.model_validate(json.loads((tmp_path / "out" / "analysis.json").read_text())) == report
    for png in paths[2:]:
        data = png.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000
    text = (tmp_path / "out" / "analysis.md").read_text()
    assert "![degree distribution](degree_distribution.png)" in text


def test_markdown_states_counts_algorithm_and_samples() -> None:
    report = _report()
    text = report_markdown(report, title="t")
    assert text.startswith("# t\n") and "3000 nodes" in text
    assert f"modularity {report.modularity:.4f} (leiden, objective modularity, resolution 1.0" in text
    assert "20 sampled sources" in text and "50 sampled sources" in text
    assert report.power_law is not None and f"alpha = {report.power_law.alpha:.3f}" in text
    assert f"| {report.top_hubs[0].name} | {report.top_hubs[0].degree} |" in text
    empty = analyze_graph(view_from_networkx(nx.empty_graph(3)))
    assert "no connected pairs" in report_markdown(empty) and "too few distinct degrees" in report_markdown(empty)
