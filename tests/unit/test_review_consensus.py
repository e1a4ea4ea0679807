"""Issue 19: review cleaning, the book's own names set aside, alias merging by support, typed edges and
strict gold matching."""

from __future__ import annotations

from kgweave.agents.actants import (
    Actant,
    ActantRelation,
    BookContext,
    ReviewGraph,
    alias_merges,
    consensus_graph,
    meta_reason,
    name_key,
    relation_category,
)
from kgweave.agents.review_text import clean_review_text
from kgweave.analysis.evaluation import ConsensusEdge, ConsensusNode, GoldRelation, match_gold, score_relations

GREEN_RIDER = BookContext(title="Green Rider", authors=("Kristen Britain",),
                          other_titles=("The House of the Scorpion", "Heralds of Valdemar"),
                          other_authors=("Nancy Farmer",))


def test_goodreads_markup_urls_spoilers_and_truncation_are_cleaned() -> None:
    raw = ('Karigan <b>rides</b>!<br /><img class="gr-hostedUserImg" src="https://images.gr-assets.com/1.jpg" />'
           ' (view spoiler)[Amilton plots (hide spoiler)] see <a href="https://x.org" rel="nofollow">here</a>'
           ' &amp; www.example.com/a Zachary...more')
    clean = clean_review_text(raw)
    assert clean == "Karigan rides!\nAmilton plots see here & Zachary"
    for debris in ("gr-hostedUserImg", "https", "class", "href", "nofollow", "spoiler", "more", "<", "["):
        assert debris not in clean
    assert clean_review_text('I loved it <img class="gr-hostedUserImg" src="https://images.gr') == "I loved it"
    assert clean_review_text("Plain text stays.") == "Plain text stays."


def test_one_review_noise_cannot_block_a_merge_and_canonical_is_the_best_supported_full_name() -> None:
    support = {"Karigan": 39, "Karigan G'ladheon": 12, "Karigan Smith": 1, "D. KARIGAN": 1, "Karigan flees": 1,
               "Britain": 8, "Kristen Britain": 10, "Kristin Britain": 1}
    mapping, merges = alias_merges(support, support)
    for name in ("Karigan", "D. KARIGAN", "Karigan flees"):
        assert mapping[name] == "Karigan G'ladheon"
    assert mapping["Karigan Smith"] == "Karigan Smith"
    assert mapping["Britain"] == "Kristen Britain"  # 10 reviews outweigh the one misspelling
    rules = {m.alias: m for m in merges}
    assert rules["Karigan"].rule == "subset-dominant" and rules["Karigan"].alias_support == 39
    assert rules["Karigan"].canonical_support == 12 and rules["D. KARIGAN"].rule == "subset-dominant"


def test_a_one_review_misspelling_joins_the_full_name_one_typo_away() -> None:
    support = {"Karigan G'ladheon": 12, "Karrigan G'ladheon": 1, "Jon Snow": 3, "Jan": 1, "Bilbo Baggins": 5,
               "Bilbo Bagins": 2, "Frodo Baggins": 4}
    mapping, merges = alias_merges(support, support)
    assert mapping["Karrigan G'ladheon"] == "Karigan G'ladheon"
    assert mapping["Bilbo Bagins"] == "Bilbo Baggins" and mapping["Frodo Baggins"] == "Frodo Baggins"
    assert {m.alias: m.rule for m in merges}["Karrigan G'ladheon"] == "spelling-variant"


def test_two_comparable_full_names_keep_a_shared_short_name_apart() -> None:
    support = {"Bilbo Baggins": 10, "Frodo Baggins": 6, "Baggins": 5}
    assert alias_merges(support, support)[0]["Baggins"] == "Baggins"
    support["Bilbo Baggins"] = 18  # three times Frodo's support: Baggins is Bilbo
    assert alias_merges(support, support)[0]["Baggins"] == "Bilbo Baggins"


def test_generic_words_never_merge_on_their_own() -> None:
    mapping, _ = alias_merges(["Elf-lord Glorfindel", "Lord", "Elf", "Glorfindel"])
    assert mapping["Lord"] == "Lord" and mapping["Elf"] == "Elf"
    assert mapping["Elf-lord Glorfindel"] == mapping["Glorfindel"] == "Glorfindel"  # the name without its kind


def test_nickname_prefix_and_longer_forms_join_the_full_name() -> None:
    support = {"Matt": 20, "Matteo Alacran": 5, "Maria befriends": 3, "Maria": 2,
               "R.I.P. Sirius Black": 1, "Sirius Black": 20}
    mapping, merges = alias_merges(support, support)
    assert mapping["Matt"] == "Matteo Alacran"
    assert mapping["Maria befriends"] == "Maria"  # a lower-case word glued on by the extractor is not a name
    assert mapping["R.I.P. Sirius Black"] == "Sirius Black"
    assert {m.alias: m.rule for m in merges}["Matt"] == "nickname-prefix"


def test_meta_names_of_the_book_are_recognised_with_why() -> None:
    why = {n: meta_reason(n, GREEN_RIDER) for n in (
        "ARC of Green Rider", "Green Rider", "Rider", "Kristen Britain", "Kristin Britain", "Britain",
        "Heralds of Valdemar", "Nancy Farmer", "fantasy", "audiobook", "series", "Karigan", "King Zachary")}
    assert why == {"ARC of Green Rider": "book title", "Green Rider": "book title", "Rider": "part of the book title",
                   "Kristen Britain": "author of the book", "Kristin Britain": "author of the book",
                   "Britain": "author of the book",
                   "Heralds of Valdemar": "title of another book (Heralds of Valdemar)",
                   "Nancy Farmer": "author of another book", "fantasy": "reviewing word",
                   "audiobook": "reviewing word", "series": "reviewing word", "Karigan": None, "King Zachary": None}


def test_a_title_that_is_a_character_stays_when_the_description_names_the_character() -> None:
    matilda = BookContext(title="Matilda", description="Matilda is a genius. Matilda reads every book.")
    assert meta_reason("Matilda", matilda) is None
    scorpion = BookContext(title="The House of the Scorpion", description="Matteo Alacran was not born.")
    assert meta_reason("House", scorpion) == "part of the book title"


def _review(rid: str, names: list[str], rels: list[tuple[str, str, str]] = ()) -> ReviewGraph:  # type: ignore[assignment]
    return ReviewGraph(review_id=rid, actants=tuple(Actant(name=n) for n in names),
                       relations=tuple(ActantRelation(source=a, type=t, target=b) for a, t, b in rels))


def test_consensus_sets_aside_meta_names_before_merging_and_types_edges_by_majority() -> None:
    reviews = [
        _review("r1", ["ARC of Green Rider", "Karigan", "Zachary"], [("Karigan", "LOVES", "Zachary")]),
        _review("r2", ["Green Rider", "Karigan G'ladheon", "King Zachary"],
                [("Karigan G'ladheon", "CO_OCCURS_WITH", "King Zachary")]),
        _review("r3", ["Karigan", "Zachary", "fantasy"], [("Zachary", "MARRIED_TO", "Karigan")]),
        _review("r4", ["Karigan", "Kristen Britain"], [("Karigan", "HATES", "Kristen Britain")]),
    ]
    graph = consensus_graph(reviews, book=GREEN_RIDER)
    assert [(a.name, a.support) for a in graph.actants] == [("Karigan G'ladheon", 4), ("Zachary", 3)]
    assert {f.name: (f.why, f.support) for f in graph.filtered} == {
        "ARC of Green Rider": ("book title", 1), "Green Rider": ("book title", 1), "fantasy": ("reviewing word", 1),
        "Kristen Britain": ("author of the book", 1)}
    (edge,) = graph.relations
    assert (edge.type, edge.type_support, edge.support) == ("romantic", 2, 3)
    unfiltered = consensus_graph(reviews)  # without the book's context the title and the author stay actants
    assert {"ARC of Green Rider", "Kristen Britain"} <= {a.name for a in unfiltered.actants}


def test_relation_categories_of_types_and_gold_labels() -> None:
    assert [relation_category(t) for t in ("LOVES", "MARRIED_TO", "friend of", "Sister", "MENTOR_OF", "KILLS",
                                           "master servant", "CO_OCCURS_WITH")] == [
        "romantic", "romantic", "friend", "family", "mentor", "enemy", "master-servant", "CO_OCCURS_WITH"]


LITTLE_WOMEN = [ConsensusNode(name=n, support=s) for n, s in (
    ("March", 9), ("Jo", 8), ("Stephen King", 3), ("Winds of Winter", 2), ("New York Comic Con", 2))]


def test_gold_matching_is_one_to_one_and_explained() -> None:
    gold = ["Amy March", "Beth March", "Meg March", "Mr. March", "Jo March", "Stephen Dedalus", "Lady de Winter",
            "York"]
    matched, evidence = match_gold(gold, LITTLE_WOMEN, name_key)
    assert matched == {"Mr. March": "March", "Jo March": "Jo"}  # the month matches no daughter
    assert evidence == {"Mr. March": "exact alias 'March'", "Jo March": "token subset 'Jo'"}
    declared, why = match_gold(["Laurie"], [ConsensusNode(name="Theodore Laurence")], name_key,
                               {"Laurie": ("Theodore Laurence",)})
    assert declared == {"Laurie": "Theodore Laurence"} and why["Laurie"] == "declared alias 'Theodore Laurence'"


def test_precision_counts_unmatched_edges_and_a_wrong_book_scores_zero() -> None:
    nodes = [ConsensusNode(name="Jo March", aliases=("Jo",)), ConsensusNode(name="Laurie"),
             ConsensusNode(name="Europe")]
    edges = [ConsensusEdge(source="Jo March", target="Laurie", types=("FRIEND_OF",)),
             ConsensusEdge(source="Europe", target="Laurie", types=("CO_OCCURS_WITH",))]
    gold = [GoldRelation(actant_1="Jo March", actant_2="Laurie", relation="friend")]
    s = score_relations(nodes, edges, gold, key=name_key, category=relation_category)
    assert (s.relationship_recall, s.precision, s.unmatched_edges, s.label_agreement) == (1.0, 1.0, 1, 1.0)
    control = score_relations(nodes, edges, [GoldRelation(actant_1="Karigan G'ladheon", actant_2="King Zachary")],
                              key=name_key)
    assert (control.actant_coverage, control.relationship_recall) == (0.0, 0.0)
