"""Which node(s) an expansion iteration focuses on: frontier, bridge, hub, path or random.

Every policy reads an :class:`analysis.evolution.EvolvingGraph` and returns vertex indices; random
choices come from a generator seeded by (seed, iteration), so the choice at an iteration does not
depend on how many iterations ran in this process (a resumed run chooses what an uninterrupted one
would). Nothing here is quadratic: the path policy uses two BFS (double sweep), the bridge policy
sampled betweenness.
"""

from __future__ import annotations

import random

import numpy as np

from kgweave.analysis.evolution import EvolvingGraph, step_seed

__all__ = ["POLICIES", "check_policy", "choose_focus"]

POLICIES: tuple[str, ...] = ("frontier", "bridge", "hub", "path", "random")


def check_policy(policy: str) -> str:
    """``policy`` if it is one of :data:`POLICIES`; raises ValueError naming the choices otherwise."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose one of: {', '.join(POLICIES)}")
    return policy


def choose_focus(graph: EvolvingGraph, policy: str, iteration: int, seed: int = 0,
                 betweenness_sources: int = 8) -> list[int]:
    """The focus vertices of one iteration.

    Parameters
    ----------
    graph : EvolvingGraph
        The graph as the previous iteration left it (not empty).
    policy : {"frontier", "bridge", "hub", "path", "random"}
        frontier: the least-explored node, newest first among equals. hub: the node with the
        highest degree / (1 + times focused), so hubs are revisited but not forever. bridge: the
        node with the highest sampled betweenness / (1 + times focused) among those whose
        neighbours span two or more communities (falls back to hub when none does). path: the two
        ends of a long shortest path (double-sweep BFS from a seeded random start). random: a
        uniformly chosen node.
    iteration, seed : int
        Seed the random choices of this iteration.
    betweenness_sources : int
        Sampled sources for the bridge policy (exact when >= n).

    Returns
    -------
    list of int
        One vertex (two for path, one when the path has a single node).

    Raises
    ------
    ValueError
        For an empty graph or an unknown policy.

    Notes
    -----
    frontier O(log n) amortised (a heap); hub O(n) in numpy; bridge O(k m) for k sampled sources;
    path O(n + m) twice; random O(1).
    """
    n = graph.nodes
    if n == 0:
        raise ValueError("cannot choose a focus in an empty graph")
    rng = random.Random(step_seed(seed, iteration, "policy"))
    if policy == "frontier":
        return [graph.least_explored()]
    if policy == "hub":
        return [_hub(graph)]
    if policy == "bridge":
        return [_bridge(graph, iteration, seed, betweenness_sources)]
    if policy == "path":
        return _path_ends(graph, rng.randrange(n))
    if policy == "random":
        return [rng.randrange(n)]
    check_policy(policy)
    raise AssertionError(f"policy {policy!r} has no focus rule")  # a name in POLICIES without a branch above


def _damped(scores: np.ndarray, graph: EvolvingGraph) -> np.ndarray:
    return scores / (1.0 + np.asarray(graph.focus_count, dtype=float))


def _argmax(scores: np.ndarray) -> int:
    return int(np.argmax(scores))  # first maximum: the oldest vertex wins ties


def _hub(graph: EvolvingGraph) -> int:
    return _argmax(_damped(np.asarray(graph.graph.degree(), dtype=float), graph))


def _bridge(graph: EvolvingGraph, iteration: int, seed: int, sources: int) -> int:
    # the sample the previous iteration's metrics drew on this same graph: cached, computed once
    between = graph.betweenness(sources, step_seed(seed, iteration - 1, "betweenness"))
    scores = _damped(between, graph)
    order = np.argsort(-scores, kind="stable")
    for v in order[: 64]:
        if scores[v] <= 0:
            break
        if graph.touched_communities(int(v)) > 1:
            return int(v)
    return _hub(graph)


def _path_ends(graph: EvolvingGraph, start: int) -> list[int]:
    """Two BFS: the farthest vertex u from ``start``, then the farthest v from u; returns [u, v]."""
    u = _farthest(graph, start)
    v = _farthest(graph, u)
    return [u] if u == v else [u, v]


def _farthest(graph: EvolvingGraph, root: int) -> int:
    """The last vertex BFS reaches from ``root`` (one at the greatest distance). O(n + m) in C."""
    order, _, _ = graph.graph.bfs(root)
    return int(order[-1])
