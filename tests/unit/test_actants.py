"""Actant alias merging and per-book consensus graphs: known answers."""

from __future__ import annotations

from kgweave.agents.actants import Actant, ActantRelation, ReviewGraph, alias_map, consensus_graph, name_key


def test_name_key_drops_honorifics_articles_and_possessives() -> None:
    assert name_key("Mr. Baggins") == ("baggins",)
    assert name_key("Bilbo Baggins's") == ("bilbo", "baggins")
    assert name_key("Gandalf the Grey") == ("gandalf", "grey")
    assert name_key("King") == ("king",)  # a lone honorific is the name itself
    assert name_key("...") == ()


def test_bilbo_aliases_join_the_full_name() -> None:
    aliases = alias_map(["Bilbo", "Mr. Baggins", "Bilbo Baggins", "Gandalf", "Gandalf the Grey"])
    assert aliases == {
        "Bilbo": "Bilbo Baggins", "Mr. Baggins": "Bilbo Baggins", "Bilbo Baggins": "Bilbo Baggins",
        "Gandalf": "Gandalf the Grey", "Gandalf the Grey": "Gandalf the Grey",
    }


def test_a_name_shared_by_two_full_names_stays_alone() -> None:
    aliases = alias_map(["Bilbo Baggins", "Frodo Baggins", "Mr. Baggins", "Bilbo"])
    assert aliases["Mr. Baggins"] == "Mr. Baggins"  # ambiguous: Bilbo or Frodo
    assert aliases["Bilbo"] == "Bilbo Baggins"
    assert aliases["Frodo Baggins"] == "Frodo Baggins"


def test_lower_case_words_do_not_join_a_proper_name() -> None:
    assert alias_map(["dragon", "Smaug the Dragon"])["dragon"] == "dragon"


def test_canonical_name_is_independent_of_input_order_and_prefers_support() -> None:
    names = ["Harry Potter", "harry potter", "Harry"]
    assert alias_map(names) == alias_map(list(reversed(names)))
    assert set(alias_map(names, {"harry potter": 5}).values()) == {"harry potter"}


def _review(rid: str, names: list[str], relations: list[tuple[str, str, str]] = ()) -> ReviewGraph:  # type: ignore[assignment]
    return ReviewGraph(review_id=rid, actants=tuple(Actant(name=n) for n in names),
                       relations=tuple(ActantRelation(source=a, type=t, target=b) for a, t, b in relations))


def test_consensus_counts_reviews_not_mentions_and_merges_aliases() -> None:
    reviews = [
        _review("r1", ["Bilbo", "Bilbo Baggins", "Gandalf"], [("Bilbo", "BEFRIENDS", "Gandalf")]),
        _review("r2", ["Mr. Baggins", "Smaug"], [("Mr. Baggins", "STEALS_FROM", "Smaug")]),
        _review("r3", ["Bilbo Baggins", "Gandalf"], [("Gandalf", "HELPS", "Bilbo Baggins")]),
        _review("r4", ["Thorin"]),
    ]
    graph = consensus_graph(reviews)
    support = {a.name: a.support for a in graph.actants}
    assert support == {"Bilbo Baggins": 3, "Gandalf": 2, "Smaug": 1, "Thorin": 1}
    bilbo = next(a for a in graph.actants if a.name == "Bilbo Baggins")
    assert bilbo.aliases == ("Bilbo", "Bilbo Baggins", "Mr. Baggins")
    pairs = {(r.source, r.target): (r.support, r.types) for r in graph.relations}
    assert pairs == {("Bilbo Baggins", "Gandalf"): (2, ("BEFRIENDS", "HELPS")),
                     ("Bilbo Baggins", "Smaug"): (1, ("STEALS_FROM",))}
    assert graph.actants[0].name == "Bilbo Baggins"  # most supported first


def test_thresholds_keep_the_core() -> None:
    reviews = [
        _review("r1", ["Bilbo", "Gandalf"], [("Bilbo", "MEETS", "Gandalf")]),
        _review("r2", ["Bilbo", "Gandalf", "Smaug"], [("Bilbo", "MEETS", "Gandalf"), ("Bilbo", "FIGHTS", "Smaug")]),
        _review("r3", ["Bilbo"]),
    ]
    graph = consensus_graph(reviews, min_actant_support=2, min_relation_support=2)
    assert [a.name for a in graph.actants] == ["Bilbo", "Gandalf"]
    assert [(r.source, r.target, r.support) for r in graph.relations] == [("Bilbo", "Gandalf", 2)]
    assert graph.reviews == 3


def test_a_relation_merged_onto_itself_is_dropped() -> None:
    graph = consensus_graph([_review("r1", ["Bilbo", "Bilbo Baggins"], [("Bilbo", "IS", "Bilbo Baggins")])])
    assert graph.relations == () and len(graph.actants) == 1
