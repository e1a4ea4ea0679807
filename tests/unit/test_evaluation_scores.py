"""analysis.evaluation: relation scores, distributions and graph overlap on known answers."""

from __future__ import annotations

import pytest

from kgweave.agents.actants import name_key
from kgweave.analysis.evaluation import (
    ConsensusEdge,
    ConsensusNode,
    GoldFormatError,
    GoldRelation,
    distribution,
    graph_overlap,
    parse_gold_csv,
    score_relations,
)

GOLD = [
    GoldRelation(actant_1="Bilbo Baggins", actant_2="Gandalf", relation="befriends"),
    GoldRelation(actant_1="Smaug", actant_2="Bilbo Baggins", relation="steals from"),
    GoldRelation(actant_1="Thorin Oakenshield", actant_2="Smaug", relation="hates"),
    GoldRelation(actant_1="Gandalf", actant_2="Thorin Oakenshield", relation="advises"),
    GoldRelation(actant_1="Bilbo Baggins", actant_2="Gollum", relation="outwits"),
    GoldRelation(actant_1="Gandalf", actant_2="Bilbo Baggins", relation="duplicate pair, counted once"),
]
NODES = [
    ConsensusNode(name="Bilbo Baggins", aliases=("Bilbo", "Mr. Baggins")),
    ConsensusNode(name="Gandalf"),
    ConsensusNode(name="Smaug"),
    ConsensusNode(name="Thorin", aliases=("Thorin",)),
    ConsensusNode(name="Elrond"),
]
EDGES = [
    ConsensusEdge(source="Bilbo Baggins", target="Gandalf", types=("BEFRIENDS",)),
    ConsensusEdge(source="Smaug", target="Bilbo Baggins", types=("CO_OCCURS_WITH",)),
    ConsensusEdge(source="Smaug", target="Thorin", types=("HATES",)),
    ConsensusEdge(source="Gandalf", target="Smaug", types=("FIGHTS",)),  # not a gold pair
    ConsensusEdge(source="Elrond", target="Gandalf", types=("MEETS",)),  # Elrond is not a gold actant
]


def test_relation_scores_known_answer() -> None:
    s = score_relations(NODES, EDGES, GOLD, key=name_key)
    assert s.gold_actants == 5 and s.found_actants == 4  # Gollum is missing
    assert s.matched["Thorin Oakenshield"] == "Thorin"  # subset rule
    assert s.actant_coverage == 0.8
    assert s.gold_pairs == 5  # the duplicate Gandalf-Bilbo row counts once
    assert s.found_pairs == 3 and s.relationship_recall == 0.6
    assert s.detectable_pairs == 4 and s.edge_detection_rate == 0.75  # Gandalf-Thorin detectable, not found
    assert s.consensus_edges == 5 and s.evaluable_edges == 4  # Elrond-Gandalf is not evaluable
    assert s.precision == 0.75 and s.precision_all == 0.6
    assert s.label_agreement == pytest.approx(2 / 3, abs=1e-4)  # befriends, hates match; steals from does not
    assert s.missing_actants == ["Gollum"]
    assert sorted(s.missing_pairs) == [("Bilbo Baggins", "Gollum"), ("Gandalf", "Thorin Oakenshield")]


def test_ambiguous_subset_match_is_not_a_match() -> None:
    nodes = [ConsensusNode(name="Bilbo Baggins"), ConsensusNode(name="Frodo Baggins")]
    s = score_relations(nodes, [], [GoldRelation(actant_1="Baggins", actant_2="Frodo Baggins")], key=name_key)
    assert s.matched == {"Frodo Baggins": "Frodo Baggins"}
    assert s.relationship_recall == 0.0 and s.edge_detection_rate == 0.0 and s.precision == 0.0


def test_parse_gold_csv() -> None:
    rows = parse_gold_csv("\ufeffActant_1,actant_2,relation,notes\nA, B ,loves,x\nC,D,,\n")
    assert rows == [GoldRelation(actant_1="A", actant_2="B", relation="loves"),
                    GoldRelation(actant_1="C", actant_2="D", relation="")]
    with pytest.raises(GoldFormatError, match="actant_2"):
        parse_gold_csv("actant_1,relation\nA,loves\n")
    with pytest.raises(GoldFormatError, match="line 3"):
        parse_gold_csv("actant_1,actant_2,relation\nA,B,x\n,B,y\n")
    with pytest.raises(GoldFormatError, match="no relationship"):
        parse_gold_csv("actant_1,actant_2,relation\n")


def test_distribution_known_answer() -> None:
    d = distribution([0.4, 0.1, 0.3, 0.2])
    assert (d.n, d.mean, d.min, d.max, d.median) == (4, 0.25, 0.1, 0.4, 0.25)
    assert d.p25 == 0.175 and d.p75 == 0.325
    assert d.std == pytest.approx(0.1118, abs=1e-4)
    assert distribution([]).n == 0 and distribution([]).mean is None


def test_graph_overlap_known_answer() -> None:
    o = graph_overlap(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "c")], ["b", "c", "d", "e"], [("c", "b")])
    assert (o.a_entities, o.b_entities, o.shared_entities, o.entity_jaccard) == (3, 4, 2, 0.4)
    assert (o.a_relations, o.b_relations, o.shared_relations, o.relation_jaccard) == (2, 1, 1, 0.5)
    assert o.b_entities_found_by_a == 0.5 and o.a_entities_found_by_b == pytest.approx(0.6667)
