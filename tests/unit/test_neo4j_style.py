"""deploy/neo4j/style.grass against the labels kgweave writes, read the way Neo4j Browser 5 reads it."""

from __future__ import annotations

import pytest

from kgweave.agents.labels import entity_labels, written_labels
from kgweave.graph_store.cypher import HUB_LABEL, STRUCTURAL_LABELS
from tests.conftest import REPO
from tests.grass import fit_caption, parse_grass, resolve

STYLE = REPO / "deploy" / "neo4j" / "style.grass"
# Names from the sample corpus and the ResearchTown topics (two words, or one long hyphenated word).
TWO_WORD_NAMES = ("over-smoothing", "message passing", "node classification", "representation learning",
                  "graph neural network", "knowledge distillation", "contrastive learning", "heterophily")


@pytest.fixture(scope="module")
def rules() -> dict[str, dict[str, str]]:
    return parse_grass(STYLE.read_text(encoding="utf-8"))


def test_every_label_kgweave_writes_has_its_own_rule(rules: dict[str, dict[str, str]]) -> None:
    styled = {selector.split(".")[1] for selector in rules if selector.count(".") == 1 and selector.startswith("node.")}
    missing = [label for label in written_labels() if label not in styled]
    assert missing == [], f"style.grass has no node.<Label> rule for {missing}"
    assert {"Topic", "Review", "Concept", "Researcher", "Paper"} <= set(entity_labels())


def test_the_label_list_follows_the_domain_registry() -> None:
    from kgweave.agents.domains import get_domain

    assert set(get_domain("papers").entity_types) <= set(entity_labels())
    assert set(get_domain("profiles").entity_types) <= set(entity_labels())
    assert not set(entity_labels()) & set(STRUCTURAL_LABELS) and HUB_LABEL not in entity_labels()


@pytest.mark.parametrize("label", entity_labels())
def test_two_word_names_fit_in_their_node(rules: dict[str, dict[str, str]], label: str) -> None:
    style = resolve(rules, "node", ["Entity", label])
    assert style["caption"] == "{name}"
    for name in TWO_WORD_NAMES:
        lines, whole = fit_caption(name, float(style["diameter"].removesuffix("px")),
                                   float(style["font-size"].removesuffix("px")))
        assert whole, f"{label}: {name!r} is drawn as {lines}"


def test_the_old_size_cut_two_word_names() -> None:
    # What the issue saw ("over-smo…" at 55 px, 10 px): the port reproduces the cut.
    assert not fit_caption("over-smoothing", 55, 10)[1] and not fit_caption("graph neural network", 55, 10)[1]


def test_hubs_are_drawn_bigger_whatever_their_label(rules: dict[str, dict[str, str]]) -> None:
    for label in entity_labels():
        plain = resolve(rules, "node", ["Entity", label])
        hub = resolve(rules, "node", ["Entity", label, HUB_LABEL])
        assert float(hub["diameter"].removesuffix("px")) >= 1.4 * float(plain["diameter"].removesuffix("px"))
        assert hub["color"] == plain["color"] and hub["caption"] == "{name}"
        assert fit_caption("graph neural network", float(hub["diameter"].removesuffix("px")),
                           float(hub["font-size"].removesuffix("px")))[1]
