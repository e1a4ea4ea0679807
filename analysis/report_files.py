"""An analysis report as files people read: markdown summary, JSON, and PNG plots (``kgweave analyze --report DIR``)."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from kgweave.analysis.evolution import IterationMetrics
from kgweave.analysis.report import AnalysisReport

__all__ = [
    "EVOLUTION_FILES",
    "REPORT_FILES",
    "plot_degree_distributions",
    "plot_hub_emergence",
    "plot_modularity",
    "plot_scores",
    "plot_size",
    "report_markdown",
    "write_evolution_report",
    "write_report_dir",
]

# an expansion run's plots (kgweave expand --report, kgweave report), then its records as iterations.json
EVOLUTION_FILES = ("nodes_edges.png", "modularity.png", "degree_distribution.png", "hub_emergence.png")
REPORT_FILES = ("analysis.md", "analysis.json", "degree_distribution.png", "community_sizes.png", "top_hubs.png")


def report_markdown(report: AnalysisReport, title: str = "Graph structure") -> str:
    """The report as a short markdown page: counts, communities, power law, paths, hubs and bridges.

    Notes
    -----
    O(top) - reads only the report's summaries.
    """
    community = report.community_detection
    paths = report.average_shortest_path
    law = report.power_law
    if law is None:
        law_text = "too few distinct degrees for a power-law fit"
    else:
        law_text = (f"alpha = {law.alpha:.3f} +/- {law.sigma:.3f} for degree >= {law.xmin} "
                    f"({law.tail_nodes} nodes, KS D = {law.ks:.3f})")
        for comparison in (law.vs_exponential, law.vs_lognormal):
            if comparison is not None:
                law_text += (f"; vs {comparison.alternative} R = {comparison.loglikelihood_ratio:.2f}, "
                             f"p = {comparison.p_value:.2g}")
    if paths.value is None:
        path_text = "no connected pairs"
    elif paths.exact:
        path_text = f"{paths.value:.2f} (exact)"
    else:
        spread = "" if paths.standard_error is None else f", standard error {paths.standard_error:.2f}"
        path_text = f"{paths.value:.2f} ({paths.sources} sampled sources{spread})"
    between = "exact" if report.betweenness.exact else (
        f"{report.betweenness.sources} sampled sources, +/- {report.betweenness.error_bound_95:.3f} per node (95 %)")
    assortativity = "undefined" if report.assortativity is None else f"{report.assortativity:.4f}"
    hubs = "\n".join(f"| {h.name} | {h.degree} | {h.pagerank:.5f} | {h.community} |" for h in report.top_hubs)
    bridges = "\n".join(f"| {b.name} | {b.betweenness:.4f} | {b.community_count} |" for b in report.top_bridges)
    return (
        f"# {title}\n\n`{report.source}`: {report.nodes} nodes, {report.edges} edges "
        f"({report.self_loops} self-loops), {report.components} components (the largest holds "
        f"{100 * report.largest_component_share:.1f} % of the nodes).\n\n"
        f"- communities: {report.communities}, modularity {report.modularity:.4f} ({community.algorithm}, "
        f"objective {community.objective}, resolution {community.resolution}, iterations "
        f"{community.n_iterations}, seed {community.seed})\n"
        f"- power law: {law_text}\n"
        f"- average shortest path: {path_text}\n"
        f"- clustering: transitivity {report.clustering.transitivity:.4f}, average "
        f"{report.clustering.average_clustering:.4f}; degree assortativity {assortativity}\n"
        f"- bridges: {report.bridges.count}; articulation points: {report.articulation_points.count}\n"
        f"- betweenness: {between}\n"
        f"- time: {report.seconds.get('total', 0.0):.2f} s\n\n"
        f"| hub | degree | pagerank | community |\n|---|---|---|---|\n{hubs}\n\n"
        f"| bridge | betweenness | communities touched |\n|---|---|---|\n{bridges}\n"
    )


def write_report_dir(report: AnalysisReport, folder: str | Path) -> list[Path]:
    """Write ``REPORT_FILES`` into ``folder`` (created if missing) and return their paths.

    The plots: the degree distribution as a complementary CDF on log-log axes with the fitted power
    law over its tail; community sizes (largest 20); top hubs by degree.

    Notes
    -----
    O(distinct degrees + top). matplotlib's object API (no pyplot), so no global backend state.
    """
    from matplotlib.figure import Figure

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in REPORT_FILES]
    paths[0].write_text(report_markdown(report) + "\n![degree distribution](degree_distribution.png)\n"
                        "![community sizes](community_sizes.png)\n![top hubs](top_hubs.png)\n", encoding="utf-8")
    paths[1].write_text(json.dumps(report.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")

    fig = Figure(figsize=(6, 4.5))
    ax = fig.add_subplot()
    counts = [(d, c) for d, c in report.degree_histogram if d > 0]
    total = sum(c for _, c in counts)
    if total:
        degrees = [d for d, _ in counts]
        remaining, ccdf = total, []
        for _, c in counts:
            ccdf.append(remaining / total)
            remaining -= c
        ax.loglog(degrees, ccdf, "o", markersize=3, label="P(degree >= k)")
        law = report.power_law
        if law is not None:
            tail = [d for d in degrees if d >= law.xmin]
            share = law.tail_nodes / law.fitted_nodes
            ax.loglog(tail, [share * (d / law.xmin) ** (1 - law.alpha) for d in tail], "-",
                      label=f"power law, alpha = {law.alpha:.2f} (k >= {law.xmin})")
        ax.legend()
    ax.set_xlabel("degree k")
    ax.set_ylabel("fraction of nodes")
    ax.set_title("Degree distribution")
    fig.savefig(paths[2], dpi=120, bbox_inches="tight")

    fig = Figure(figsize=(6, 4.5))
    ax = fig.add_subplot()
    sizes = report.community_detection.largest_sizes
    ax.bar(range(len(sizes)), sizes)
    ax.set_xlabel("community (0 = largest)")
    ax.set_ylabel("nodes")
    ax.set_title(f"{report.communities} communities, modularity {report.modularity:.3f}")
    fig.savefig(paths[3], dpi=120, bbox_inches="tight")

    fig = Figure(figsize=(6, 4.5))
    ax = fig.add_subplot()
    hubs = list(reversed(report.top_hubs))
    ax.barh([h.name[:40] for h in hubs], [h.degree for h in hubs])
    ax.set_xlabel("degree")
    ax.set_title("Top hubs")
    fig.savefig(paths[4], dpi=120, bbox_inches="tight")
    return paths


# -- the evolution of an expansion run (kgweave expand --report, kgweave report) ----------------------------

def _figure(width: float = 6.4, height: float = 4.0):  # type: ignore[no-untyped-def]
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def plot_size(iterations: Sequence[int], nodes: Sequence[int], edges: Sequence[int], path: str | Path) -> Path:
    """Nodes and edges against the iteration (PNG)."""
    fig = _figure()
    ax = fig.subplots()
    ax.plot(iterations, nodes, label="nodes")
    ax.plot(iterations, edges, label="edges")
    ax.set_xlabel("iteration")
    ax.set_ylabel("count")
    ax.set_title("Graph size")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def plot_modularity(iterations: Sequence[int], modularity: Sequence[float | None], communities: Sequence[int],
                    path: str | Path) -> Path:
    """Modularity (left axis) and number of communities (right axis) against the iteration (PNG)."""
    fig = _figure()
    ax = fig.subplots()
    ax.plot(iterations, [math.nan if q is None else q for q in modularity], color="tab:blue")
    ax.set_xlabel("iteration")
    ax.set_ylabel("modularity", color="tab:blue")
    right = ax.twinx()
    right.plot(iterations, communities, color="tab:orange", alpha=0.6)
    right.set_ylabel("communities", color="tab:orange")
    ax.set_title("Modularity (Leiden)")
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def plot_degree_distributions(distributions: Mapping[int, Sequence[int]], path: str | Path) -> Path:
    """Degree distributions (fraction of nodes with each degree) on log-log axes, one per iteration (PNG)."""
    fig = _figure()
    ax = fig.subplots()
    for iteration, degrees in sorted(distributions.items()):
        counts = Counter(d for d in degrees if d > 0)
        if not counts:
            continue
        xs = sorted(counts)
        total = sum(counts.values())
        ax.loglog(xs, [counts[x] / total for x in xs], marker="o", linestyle="none", markersize=3,
                  label=f"iteration {iteration}")
    ax.set_xlabel("degree")
    ax.set_ylabel("fraction of nodes")
    ax.set_title("Degree distribution")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def plot_scores(scores: Mapping[str, float], path: str | Path, title: str) -> Path:
    """Scores between 0 and 1 as horizontal bars, in the order given (PNG, small: an evaluation's artifact)."""
    fig = _figure(6.4, 1.2 + 0.28 * len(scores))
    ax = fig.subplots()
    names = list(scores)
    ax.barh(range(len(names)), [scores[n] for n in names])
    ax.set_yticks(range(len(names)), [n[:40] for n in names], fontsize="small")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return Path(path)


def plot_hub_emergence(iterations: Sequence[int], hub_degrees: Mapping[str, Sequence[int]], path: str | Path) -> Path:
    """Degree of each final top hub against the iteration (PNG)."""
    fig = _figure()
    ax = fig.subplots()
    for name, series in hub_degrees.items():
        ax.plot(iterations, series, label=name[:30])
    ax.set_xlabel("iteration")
    ax.set_ylabel("degree")
    ax.set_title("Hub emergence")
    if hub_degrees:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


def write_evolution_report(
    iterations: Sequence[int], records: Sequence[IterationMetrics], distributions: Mapping[int, Sequence[int]],
    hub_degrees: Mapping[str, Sequence[int]], out: str | Path,
) -> list[Path]:
    """Write an expansion run's plots (``EVOLUTION_FILES``) and its records as ``iterations.json`` into ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [
        plot_size(iterations, [r.nodes for r in records], [r.edges for r in records], folder / EVOLUTION_FILES[0]),
        plot_modularity(iterations, [r.modularity for r in records], [r.communities for r in records],
                        folder / EVOLUTION_FILES[1]),
        plot_degree_distributions(distributions, folder / EVOLUTION_FILES[2]),
        plot_hub_emergence(iterations, hub_degrees, folder / EVOLUTION_FILES[3]),
    ]
    data = folder / "iterations.json"
    data.write_text(json.dumps([r.model_dump(mode="json") for r in records], ensure_ascii=False, indent=1), "utf-8")
    return [*paths, data]
