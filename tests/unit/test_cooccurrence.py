"""The offline co-occurrence extractor: known answers on small texts, invariants, hostile input, real data."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from kgweave.agents.cooccurrence import (
    CO_OCCURS_WITH,
    CONCEPT,
    INCLUDES,
    IS_A,
    MAX_EVIDENCE_CHARS,
    MAX_MENTIONS_PER_ENTITY,
    MAX_NAME_CHARS,
    NAMED_ENTITY,
    SAME_AS,
    USED_FOR,
    WINDOW_CHARS,
    CooccurrenceExtractor,
)
from kgweave.agents.extractor import ChunkExtraction, Extractor, extraction_fingerprint
from kgweave.graph_store.ids import LABEL_PATTERN, RELATION_TYPE_PATTERN, entity_id, relation_id
from kgweave.graph_store.models import Chunk, Document
from tests.conftest import SHARED_DATA, require

DATA = SHARED_DATA
PAPERS = DATA / "researchtown_agent_data" / "examples" / "papers" / "PaperDB.json"
ICLR = DATA / "researchtown_agent_data" / "iclr2023_review_score_papers"
REVIEWS = DATA / "teg_goodreads_sample" / "final_data.json"
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def make_chunk(text: str, prefix: str = "") -> Chunk:
    """A chunk of ``text`` inside a document that starts with ``prefix`` (so offsets are shifted)."""
    doc = Document.from_text(prefix + text, "test")
    return Chunk.of(doc, 0, len(prefix), len(prefix) + len(text))


def extract(text: str, **options: int) -> ChunkExtraction:
    result = CooccurrenceExtractor(**options).extract([make_chunk(text)])[0]
    assert result.error is None, result.error
    return result


def names(result: ChunkExtraction, label: str | None = None) -> set[str]:
    return {e.name for e in result.entities if label is None or e.label == label}


def triples(result: ChunkExtraction) -> set[tuple[str, str, str]]:
    by_id = {e.id: e.name for e in result.entities}
    return {(by_id[r.source_id], r.type, by_id[r.target_id]) for r in result.relations}


def assert_valid(chunk: Chunk, result: ChunkExtraction) -> None:
    """Every invariant a store relies on."""
    assert result.chunk_id == chunk.id and result.error is None
    entity_ids = [e.id for e in result.entities]
    assert len(entity_ids) == len(set(entity_ids))
    for entity in result.entities:
        assert HEX32.match(entity.id) and entity.id == entity_id(entity.name, entity.label)
        assert LABEL_PATTERN.match(entity.label) and 0 < len(entity.name) <= MAX_NAME_CHARS
    mentioned = set()
    for mention in result.mentions:
        assert mention.chunk_id == chunk.id and mention.entity_id in entity_ids
        assert chunk.text[mention.start - chunk.start : mention.end - chunk.start] == mention.text
        assert mention.text.strip() == mention.text and mention.text
        mentioned.add(mention.entity_id)
    assert mentioned == set(entity_ids)  # no entity without a mention
    starts = [m.start for m in result.mentions]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(result.mentions, result.mentions[1:], strict=False))
    relation_ids = [r.id for r in result.relations]
    assert len(relation_ids) == len(set(relation_ids))
    for relation in result.relations:
        assert RELATION_TYPE_PATTERN.match(relation.type)
        assert relation.id == relation_id(relation.source_id, relation.type, relation.target_id)
        assert relation.source_id in entity_ids and relation.target_id in entity_ids
        assert relation.source_id != relation.target_id and relation.chunk_id == chunk.id
        assert relation.evidence and len(relation.evidence) <= MAX_EVIDENCE_CHARS
        if relation.type == CO_OCCURS_WITH:
            assert relation.source_id < relation.target_id  # one id for either order


# --- the extractor as a component -------------------------------------------------------------


def test_satisfies_the_extractor_protocol() -> None:
    extractor = CooccurrenceExtractor()
    assert isinstance(extractor, Extractor)
    assert (extractor.name, extractor.version, extractor.model) == ("cooccurrence", "3", None)
    assert extractor.extract([]) == []


def test_settings_key_is_stable_and_tracks_every_option() -> None:
    default = CooccurrenceExtractor()
    assert default.settings_key() == CooccurrenceExtractor().settings_key()
    assert default.settings_key() == "min_count=3;max_ngram=3;window=1"
    variants = {
        CooccurrenceExtractor(min_count=4).settings_key(),
        CooccurrenceExtractor(max_ngram=4).settings_key(),
        CooccurrenceExtractor(window=5).settings_key(),
        default.settings_key(),
    }
    assert len(variants) == 4
    assert extraction_fingerprint(default, default.settings_key()) != extraction_fingerprint(
        default, CooccurrenceExtractor(min_count=4).settings_key()
    )
    assert hash(default) == hash(CooccurrenceExtractor())


@pytest.mark.parametrize("options", [{"min_count": 0}, {"max_ngram": 0}, {"max_ngram": 7}, {"window": 0}])
def test_rejects_bad_options(options: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        CooccurrenceExtractor(**options)


def test_one_result_per_chunk_in_order_and_a_bad_chunk_does_not_stop_the_others() -> None:
    good = make_chunk("BERT outperforms GPT-2 on GLUE.")
    bad = Chunk.model_construct(id="bad", document_id="d", index=0, start=0, end=3, text=None)
    other = make_chunk("Alice met Bob in Paris.")
    results = CooccurrenceExtractor().extract([good, bad, other])
    assert [r.chunk_id for r in results] == [good.id, "bad", other.id]
    assert results[1].error and not results[1].entities and not results[1].relations
    assert results[0].error is None and results[0].relations
    assert results[2].error is None and "Paris" in names(results[2])
    with pytest.raises(TypeError):
        CooccurrenceExtractor().extract_chunk(bad)


# --- known answers ------------------------------------------------------------------------------


def test_verb_between_two_names_types_the_relation() -> None:
    result = extract("BERT outperforms GPT-2 on GLUE.")
    assert names(result, NAMED_ENTITY) == {"BERT", "GPT-2", "GLUE"}
    found = triples(result)
    assert ("BERT", "OUTPERFORMS", "GPT-2") in found
    assert ("BERT", "OUTPERFORMS", "GLUE") in found
    gpt_glue = {t for t in found if {t[0], t[2]} == {"GPT-2", "GLUE"}}
    assert {t[1] for t in gpt_glue} == {CO_OCCURS_WITH}
    assert result.relations[0].evidence == "BERT outperforms GPT-2 on GLUE."


def test_inflections_share_one_type() -> None:
    found = triples(extract("ResNet used ImageNet. VGG is using CIFAR-10. AlexNet uses MNIST."))
    assert {("ResNet", "USES", "ImageNet"), ("VGG", "USES", "CIFAR-10"), ("AlexNet", "USES", "MNIST")} <= found


def test_passive_voice_is_reversed() -> None:
    assert ("BERT", "OUTPERFORMS", "GPT-2") in triples(extract("GPT-2 is outperformed by BERT."))


def test_phrasal_type() -> None:
    assert ("GraphSAGE", "BASED_ON", "GCN") in triples(extract("GraphSAGE is based on GCN."))


def test_no_verb_means_co_occurrence() -> None:
    found = triples(extract("Yesterday Alice met Bob near Paris."))
    assert ("Alice", "MEETS", "Bob") in found
    assert frozenset(("Bob", "Paris")) in {frozenset((t[0], t[2])) for t in found if t[1] == CO_OCCURS_WITH}


def test_coordinated_mentions_are_siblings_not_related() -> None:
    found = triples(extract("Yesterday Alice and Bob visited Paris and Rome."))
    pairs = {frozenset((t[0], t[2])) for t in found}
    assert ("Alice", "VISITS", "Paris") in found
    assert frozenset(("Alice", "Bob")) not in pairs and frozenset(("Paris", "Rome")) not in pairs


def test_patterns_without_a_verb() -> None:
    text = "BERT is a language model. A language model predicts words. Baselines such as ELMo exist."
    found = triples(extract(text, min_count=2))
    assert ("BERT", IS_A, "language model") in found
    text = "We compare pretrained encoders such as ELMo. The encoders are weak."
    assert ("pretrained encoders", INCLUDES, "ELMo") in triples(extract(text, min_count=2))


def test_acronym_definition_becomes_one_mention_and_the_acronym_an_alias() -> None:
    text = "Graph neural networks (GNNs) learn on graphs. We show that GNNs are expressive."
    result = extract(text)
    assert ("GNNs", SAME_AS, "graph neural networks") in triples(result)  # alias -> definition
    labels = {e.name: e.label for e in result.entities}
    assert labels["graph neural networks"] == CONCEPT and labels["GNNs"] == NAMED_ENTITY
    gnn = next(e for e in result.entities if e.name == "GNNs")
    assert sum(m.entity_id == gnn.id for m in result.mentions) == 2  # "GNNs" and "GNNs", one entity


def mention_texts(result: ChunkExtraction) -> list[str]:
    return [m.text for m in result.mentions]


def test_noun_phrases_keep_their_modifiers_even_when_seen_once() -> None:
    result = extract("Our model improves temporal action segmentation on long videos.")
    assert "temporal action segmentation" in mention_texts(result)
    assert "segmentation" not in mention_texts(result) and "action segmentation" not in mention_texts(result)
    assert "long videos" in mention_texts(result)


def test_noun_phrases_end_on_a_noun_and_skip_generic_only_phrases() -> None:
    texts = mention_texts(extract("The experimental results of the deep network were complex."))
    assert "deep network" in texts
    assert not any("results" in text for text in texts)  # generic words and adjectives only


def test_hyphenated_compounds_in_tokenised_and_plain_text() -> None:
    assert "multi - task network" in mention_texts(extract("We train a multi - task network here."))
    assert "multi-task network" in mention_texts(extract("We train a multi-task network here."))
    result = extract("It models video sequence - to - sequence modelling well.")
    assert "video sequence - to - sequence modelling" in mention_texts(result)


def test_names_join_spaced_hyphens_and_version_numbers() -> None:
    result = extract("Faster R - CNN beats ResNet - 101 and U - Net on UCF 101.")
    assert {"Faster R - CNN", "ResNet - 101", "U - Net", "UCF 101"} <= names(result, NAMED_ENTITY)


def test_a_digit_acronym_opens_the_phrase_it_modifies() -> None:
    texts = mention_texts(extract("Such 3D convolutions are costly."))
    assert "3D convolutions" in texts and "3D" not in texts


def test_word_after_a_subject_pronoun_is_its_verb() -> None:
    texts = mention_texts(extract("We study graph neural networks here."))
    assert "graph neural networks" in texts and not any(text.startswith("study") for text in texts)


def test_spaced_hyphen_acronym_definition_and_alias_edge() -> None:
    result = extract("We use long short - term memory ( LSTM ) units.")
    assert {"long short - term memory", "LSTM"} <= set(mention_texts(result))
    assert ("LSTM", SAME_AS, "long short - term memory") in triples(result)


def test_cited_authors_are_not_entities() -> None:
    result = extract("As Devlin et al. show, BERT helps. Devlin et al. agree.")
    assert "Devlin" not in names(result) and "BERT" in names(result, NAMED_ENTITY)


def test_only_names_and_repeated_phrases_are_relation_ends() -> None:
    assert triples(extract("BERT improves image captioning.")) == set()  # the phrase is seen once
    text = "BERT improves image captioning. Captioning is hard. Captioning matters."
    assert ("BERT", "IMPROVES", "image captioning") in triples(extract(text))  # "captioning" repeats
    text = "Graph networks improve image captioning. Captioning and networks are hard. Captioning uses networks."
    result = extract(text)
    assert {"Graph networks", "image captioning"} <= set(mention_texts(result))
    assert triples(result) == set()  # two repeated phrases but no name: not related


def test_relations_stay_within_a_window_of_mentions_the_first_name_one_further() -> None:
    text = "Then Alpha met Beta near Gamma beside Delta behind Epsilon."
    narrow = {frozenset((t[0], t[2])) for t in triples(extract(text, window=1))}
    wide = {frozenset((t[0], t[2])) for t in triples(extract(text, window=2))}
    pairs = {frozenset(p) for p in (("Alpha", "Beta"), ("Alpha", "Gamma"), ("Beta", "Gamma"), ("Gamma", "Delta"),
                                    ("Delta", "Epsilon"))}
    assert narrow == pairs  # the sentence's first name reaches two mentions, the others one
    assert wide == pairs | {frozenset(p) for p in (("Alpha", "Delta"), ("Beta", "Delta"), ("Gamma", "Epsilon"))}


def test_a_later_name_pairs_forward_only_with_a_name() -> None:
    masking = " Masking helps. Masking is cheap. Masking works."
    first = {frozenset((t[0], t[2])) for t in triples(extract("We train BERT with dynamic masking." + masking))}
    assert first == {frozenset(("BERT", "dynamic masking"))}  # the sentence's first name: any end
    later = {frozenset((t[0], t[2])) for t in triples(extract("Then Alpha met Beta with dynamic masking." + masking))}
    assert later == {frozenset(("Alpha", "Beta")), frozenset(("Alpha", "dynamic masking"))}  # not Beta's phrase


def test_no_untyped_pair_across_a_comma_unless_from_the_first_name() -> None:
    found = {frozenset((t[0], t[2])) for t in triples(extract("Then Alpha met Beta, near Gamma behind Delta."))}
    assert found == {frozenset(p) for p in (("Alpha", "Beta"), ("Alpha", "Gamma"), ("Gamma", "Delta"))}


def test_tight_patterns_pair_a_name_with_any_neighbour_mention() -> None:
    # "attention pooling" and "recurrent layers" are seen once: no relation ends, but next to a name
    found = triples(extract("Results improve with attention pooling for BERT. We add recurrent layers such as LSTM."))
    assert found == {("attention pooling", USED_FOR, "BERT"), ("recurrent layers", INCLUDES, "LSTM")}
    assert triples(extract("Results improve with attention pooling near BERT.")) == set()


def test_relations_do_not_cross_sentences() -> None:
    found = triples(extract("So Alice lives in Paris. And Bob lives in Rome."))
    pairs = {frozenset((t[0], t[2])) for t in found}
    assert pairs == {frozenset(("Alice", "Paris")), frozenset(("Bob", "Rome"))}


def test_multiword_names_connectors_and_initials() -> None:
    text = "She studied at the University of Chicago. The Lord of the Rings was written by J. R. R. Tolkien."
    result = extract(text)
    found = names(result, NAMED_ENTITY)
    assert {"University of Chicago", "J. R. R. Tolkien"} <= found
    assert "University" not in found and "Chicago" not in found and "Tolkien" not in found
    assert ("J. R. R. Tolkien", "WRITES", "Rings") in triples(result)  # passive "written by"


def test_sentence_initial_capitals() -> None:
    text = "Harriet spies on her friends. Spies are everywhere. In the end I liked Harriet. However, Sport wins."
    result = extract(text)
    found = names(result, NAMED_ENTITY)
    assert "Harriet" in found  # also capitalised alone mid-sentence
    assert "Spies" not in found and "In" not in found and "However" not in found
    harriet = next(e for e in result.entities if e.name == "Harriet")
    assert sum(m.entity_id == harriet.id for m in result.mentions) == 2
    assert "BERT" in names(extract("BERT is strong. It is big."), NAMED_ENTITY)  # acronyms always count


def test_capitalised_stopwords_are_not_names() -> None:
    found = names(extract("The model works. This is it. We like It. However, They ran."), NAMED_ENTITY)
    assert found == set()


def test_shouted_words_are_not_acronyms() -> None:
    found = names(extract("The art by Alison Jay is AMAZING and we LOVED it. The BOOK beat BERT."), NAMED_ENTITY)
    assert found == {"Alison Jay", "BERT"}


def test_concepts_count_singular_and_plural_together() -> None:
    text = "A neural network learns. Two neural networks learn more. A decision tree is simple."
    result = extract(text)
    concepts = names(result, CONCEPT)
    assert len([c for c in concepts if c.startswith("neural network")]) == 1
    assert "decision tree" in concepts  # seen once, but a phrase of two content words
    text = "A network learns. Two networks learn more. A tree is simple."
    assert "network" not in names(extract(text), CONCEPT)  # a single word seen twice: below min_count=3
    assert "network" in names(extract(text, min_count=2), CONCEPT)


def test_concepts_drop_generic_words_adjectives_and_subsumed_ngrams() -> None:
    text = (
        "Our method uses a language model. The method improves the language model. "
        "Deep reinforcement learning helps. Deep reinforcement learning is complex and complex."
    )
    concepts = names(extract(text), CONCEPT)
    assert "language model" in concepts
    assert "method" not in concepts and "model" not in concepts
    assert "deep reinforcement learning" in concepts
    assert "reinforcement learning" not in concepts and "reinforcement" not in concepts  # subsumed
    assert "complex" not in concepts


def test_names_win_over_concepts_on_the_same_words() -> None:
    text = "Graph Neural Networks are popular. We study graph neural networks here."
    result = extract(text)
    labels = Counter(e.label for e in result.entities)
    assert labels == Counter({NAMED_ENTITY: 1})
    assert len(result.mentions) == 2


def test_long_sentences_have_trimmed_evidence() -> None:
    filler = " ".join(["word"] * 200)
    result = extract(f"Alice met Bob {filler} in Paris.")
    assert result.relations
    assert all(len(r.evidence or "") <= MAX_EVIDENCE_CHARS for r in result.relations)
    assert any("Alice met Bob" in (r.evidence or "") for r in result.relations)


# --- invariants -----------------------------------------------------------------------------------


SAMPLE = (
    "Graph neural networks (GNNs) are widely used. GNNs rely on message passing, e.g. GCN and GAT. "
    "We propose FooNet, which outperforms GCN on Cora by 3.5 points. FooNet uses attention.\n\n"
    "Harriet spies on Sport and Janie in New York. Harriet writes in her notebook."
)


def test_offsets_are_document_offsets() -> None:
    chunk = make_chunk(SAMPLE, prefix="x" * 1234 + " ")
    result = CooccurrenceExtractor().extract([chunk])[0]
    assert_valid(chunk, result)
    assert result.mentions and min(m.start for m in result.mentions) >= 1235


def test_deterministic_and_independent_of_the_batch() -> None:
    chunk = make_chunk(SAMPLE)
    others = [make_chunk(f"Zed{i} met Yan{i} in Paris. Paris is nice.") for i in range(3)]
    alone = CooccurrenceExtractor().extract([chunk])[0]
    again = CooccurrenceExtractor().extract([chunk])[0]
    in_batch = CooccurrenceExtractor().extract([*others, chunk, *others])[3]
    assert alone.model_dump() == again.model_dump() == in_batch.model_dump()
    assert alone.entities and alone.relations and alone.mentions


def test_same_names_give_same_ids_across_chunks() -> None:
    first = extract("BERT outperforms GPT-2.")
    second = extract("Today GPT-2 is outperformed by BERT again.")
    assert {r.id for r in first.relations} == {r.id for r in second.relations}


HOSTILE = [
    "MATCH (n) DETACH DELETE n; // `Robert`); DROP TABLE Users;-- ' \" {a: $b} [*] :Label`X`",
    "Zoë Schröder met Jürgen 😀😀 at the Café 🚀 in Zürich! CAFÉ `back`tick`s",
    "שלום עולם. مرحبا بالعالم. Mixed RTL ‮reversed‬ text with BERT.",
    "NUL\x00bytes\x00 Alice\x00Bob \x00 and \x1f control \x07 chars. BERT\x00GPT",
    "A" * 5000 + " Alice " + "b" * 5000 + " Bob. " + "Xy" * 3000,
    "{{{{[[[[((((" * 500 + " Alice met Bob. " + "))))]]]]}}}}" * 500,
    "\\textit{BERT} uses \\cite{devlin} and Schr\\\"odinger equations. $x^2$ \\\\ \\n",
    "e.g. i.e. et al. Fig. 3. J. R. R. ... !!! ??? ... -- - ' ' \" \"",
    "Ｆｕｌｌｗｉｄｔｈ ＢＥＲＴ and ﬁne ligatures; Ǆ digraph; İstanbul; ß straße STRASSE.",
    "",
    "   \n\n\t  ",
    "\u200b\u200bZero\u200bWidth\u200b spaces. Alice\u00a0Smith met Bob\u2009Jones.",
    " ".join(f"Name{i} Word{i}" for i in range(400)),
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_never_breaks_it(text: str) -> None:
    chunk = make_chunk(text, prefix="p ")
    result = CooccurrenceExtractor().extract([chunk])[0]
    assert_valid(chunk, result)


def test_giant_chunk_is_linear_and_bounded() -> None:
    text = "BERT uses GPT-4 on GLUE with Alice. " * 12_000  # 430k characters: three windows
    assert len(text) > 2 * WINDOW_CHARS
    chunk = make_chunk(text)
    result = CooccurrenceExtractor().extract([chunk])[0]  # linear: ~1 s (quadratic would take hours)
    assert_valid(chunk, result)
    per_entity = Counter(m.entity_id for m in result.mentions)
    assert set(per_entity.values()) == {MAX_MENTIONS_PER_ENTITY}
    assert ("BERT", "USES", "GPT-4") in triples(result)


def test_giant_sentence_without_punctuation() -> None:
    text = " ".join(f"Alpha beta gamma{i % 7} Delta" for i in range(20_000))  # one 550 kB sentence
    chunk = make_chunk(text)
    result = CooccurrenceExtractor().extract([chunk])[0]
    assert_valid(chunk, result)
    assert result.entities


# --- real data ------------------------------------------------------------------------------------


def load_abstracts() -> list[str]:
    require(PAPERS.exists(), f"shared data not found at {DATA}")
    abstracts = [p["abstract"] for p in json.loads(PAPERS.read_text()).values() if p.get("abstract")]
    gnn = json.loads((ICLR / "paper_graph_neural_networks.json").read_text())
    abstracts += [p["abstract"] for p in gnn.values() if p.get("abstract")]
    return abstracts[:40]


def test_forty_real_abstracts_give_a_useful_graph() -> None:
    abstracts = load_abstracts()
    assert len(abstracts) == 40
    chunks = [make_chunk(text) for text in abstracts]
    results = CooccurrenceExtractor().extract(chunks)
    entities = {e.id: e for r in results for e in r.entities}
    relations = {r.id: r for res in results for r in res.relations}
    assert len(entities) >= 100
    assert len(relations) >= 100
    for chunk, result in zip(chunks, results, strict=True):
        assert_valid(chunk, result)
    mentions = Counter(m.entity_id for r in results for m in r.mentions)
    top = {entities[eid].name.lower() for eid, _ in mentions.most_common(15)}
    assert "gnns" in top
    assert top & {"graph neural networks", "graph neural network"}
    assert not top & {"method", "model", "paper", "approach", "results", "the", "we", "however"}
    typed = [r for r in relations.values() if r.type not in (CO_OCCURS_WITH,)]
    assert len(typed) >= 100
    assert ("gnns", SAME_AS, "graph neural networks") in {
        (entities[r.source_id].name.lower(), r.type, entities[r.target_id].name.lower()) for r in typed
    }


def test_review_characters_are_named_entities() -> None:
    require(REVIEWS.exists(), f"shared data not found at {DATA}")
    reviews = json.loads(REVIEWS.read_text())
    giver = next(r["review_text"] for r in reviews if "Jonas" in r["review_text"])
    harriet = next(r["review_text"] for r in reviews if "Harriet" in r["review_text"])
    assert {"Jonas", "Lowry", "Rifkin"} <= names(extract(giver), NAMED_ENTITY)
    assert {"Harriet", "Sport", "Janie"} <= names(extract(harriet), NAMED_ENTITY)
