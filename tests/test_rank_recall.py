"""Recall mechanisms of the ranker: each one shown on a small hand-made corpus."""

from __future__ import annotations

import pytest

from agent.models import Rating, Track
from agent.rank import Ranker, Tuning
from agent.rank.acronyms import long_forms, written_acronyms
from agent.rank.facets import attach_keywords, facet_coverage, grounded_facets, name_facets
from agent.rank.index import Index, tokenize_papers
from agent.rank.query import phrase_keys, reversed_pairs
from agent.rank.score import build_stats
from tests.corpus import BACKGROUND, paper


def scores_of(matches) -> dict[str, float]:
    return {m.paper_id: m.score for m in matches}


def test_a_derived_keyword_word_joins_its_root_facet_not_the_facet_its_papers_mention():
    # "agentic" papers here talk about tools and never say "agent" or "LLM": by co-occurrence
    # alone the keyword would show the "tool" aspect, and an agentic paper without any tool
    # would then look like it covers both aspects of the track.
    papers = [
        paper(f"a{i}", "Agentic workflows with tools", "Agentic systems call tools and APIs.")
        for i in range(5)
    ] + [
        paper(f"b{i}", "LLM agent memory", "An LLM agent remembers past dialogue.")
        for i in range(5)
    ] + [paper(f"c{i}", "Speech enhancement", "Noise removal for speech.") for i in range(10)]
    index = Index.of_papers(papers)
    keywords = ("LLM agent", "tool use", "agentic")
    facets = grounded_facets(name_facets("LLM agents that use tools"), keywords)
    facets = attach_keywords(facets, keywords, index, build_stats([(index, None)]))
    agentic = tuple(phrase_keys("agentic")[0])
    holders = [facet for facet in facets if agentic in facet.phrases]
    assert len(holders) == 1
    assert set(phrase_keys("agent")[0]) <= holders[0].words
    assert not set(phrase_keys("tool")[0]) & holders[0].words


def test_a_title_holding_a_compound_names_words_apart_shows_that_facet():
    # "LLM-as-a-judge" is one aspect; a title that says "Judging ... with LLMs" names it too,
    # while an abstract that uses both words somewhere does not.
    facets = grounded_facets(name_facets("Reliability of LLM-as-a-judge"), ("LLM judge",))
    titled = paper("p.title", "Judging relevance with LLMs: a study of personality",
                   "Prompts give the model a personality; we measure its confidence.")
    scattered = paper("p.abstract", "Relevance ranking at web scale",
                      "An LLM reranks documents. A human judge checks a sample.")
    adjacent = paper("p.pair", "Bias of the LLM judge", "Position bias in pairwise grading.")
    pairs = {key for facet in facets for term in facet.terms for key in term}
    index = Index.of_papers([titled, scattered, adjacent], pairs)
    stats = build_stats([(index, None)])
    shown = facet_coverage(index, stats, facets, abstract_credit=0.8, apart_credit=0.9)
    assert shown.tolist() == pytest.approx([0.9, 0.0, 1.0])


def test_ranker_counts_a_title_naming_the_compound_apart():
    track = Track(id="judge", name="Reliability of LLM-as-a-judge", priority=3,
                  description="When a language model grades other models' outputs.",
                  keywords=("LLM-as-a-judge", "LLM judge", "position bias"))
    titled = paper("p.title", "Judging with personality: LLM relevance assessment",
                   "We prompt models with personalities and measure their confidence.")
    # names the compound, but only in passing, as the tool it used
    passing = paper("p.passing", "Summaries of clinical notes",
                    "We summarise clinical notes and score the summaries with an LLM judge.")
    scores = scores_of(Ranker([track], background=BACKGROUND, embedder=None)
                       .rank([passing, titled])["judge"])
    assert scores["p.title"] > scores["p.passing"]


DEFINING = [  # papers that define the acronym, as arXiv abstracts do
    paper(f"def.{i}", title, f"Large language models (LLMs) {rest}")
    for i, (title, rest) in enumerate([
        ("Scaling laws revisited", "grow with data; we fit new scaling laws."),
        ("Prompt sensitivity", "change answers when a prompt is reworded."),
        ("Retrieval for QA", "answer better with retrieved passages."),
        ("Safety tuning", "refuse harmful requests after safety tuning."),
    ])
]


def test_long_form_of_an_acronym_is_learnt_from_the_background():
    tokens = tokenize_papers(DEFINING + BACKGROUND)
    forms = long_forms(written_acronyms("LLM agents that call APIs"), tokens)
    assert set(forms) == {"llm"}  # "API" is never defined there
    assert forms["llm"] == tuple(phrase_keys("large language model")[1])
    assert long_forms(["llm"], tokenize_papers(DEFINING[:2] + BACKGROUND)) == {}  # too rare


def test_a_paper_spelling_the_acronym_out_shows_its_facet():
    track = Track(id="agents", name="LLM agents that use tools", priority=3,
                  description="Agents that call tools and APIs.",
                  keywords=("LLM agent", "tool use"))
    spelt = paper("p.spelt", "Tool use in multimodal large language models",
                  "Multimodal large language models learn when to call a calculator tool.")
    acronym = paper("p.acronym", "Tool use in multimodal LLMs",
                    "Multimodal LLMs learn when to call a calculator tool.")
    scores = scores_of(Ranker([track], background=DEFINING + BACKGROUND, embedder=None)
                       .rank([spelt, acronym])["agents"])
    assert scores["p.spelt"] > 0.7 * scores["p.acronym"]


def test_a_two_word_keyword_read_the_other_way_round_shows_its_facet():
    # "agreement with human" names the judge aspect without sharing a word with it; a paper
    # saying "human agreement" says the same thing, the pair the other way round.
    keywords = ("LLM judge", "agreement with human")
    facets = grounded_facets(name_facets("Reliability of LLM-as-a-judge"), keywords)
    background = [
        paper(f"j{i}", "LLM judge agreement with human raters", "An LLM judge grades essays.")
        for i in range(4)
    ] + [paper(f"o{i}", "Speech enhancement", "Noise removal for speech.") for i in range(8)]
    pairs = {key for keyword in keywords for key in phrase_keys(keyword)[1]}
    pairs |= {key for keyword in keywords for key in reversed_pairs(phrase_keys(keyword)[1])}
    index = Index.of_papers(background, pairs)
    facets = attach_keywords(facets, keywords, index, build_stats([(index, None)]))
    reversed_paper = paper("p.rev", "Human agreement of automatic essay graders",
                           "Graders are compared with teachers.")
    unrelated = paper("p.none", "Essay graders", "Graders are compared with teachers.")
    batch = Index.of_papers([reversed_paper, unrelated], pairs)
    shown = facet_coverage(batch, build_stats([(batch, None)]), facets, abstract_credit=0.8)
    assert shown.tolist() == pytest.approx([1.0, 0.0])


HEALTH = Track(id="health", name="Speech as a health signal", priority=3,
               description="Detecting dementia and cognitive decline from recordings of patients.",
               keywords=("pathological speech", "clinical speech"))


def test_plain_bm25_share_finds_papers_the_facets_miss():
    # Every keyword says "speech", so "speech" is the track's only facet, yet the track is
    # about health: a dementia paper that never writes "speech" keeps a fifth of its facet-gated
    # score. Plain BM25 of the description, part of every score, still finds it.
    dementia = paper("p.dementia", "Detecting dementia and cognitive decline from recordings",
                     "Recordings of patients reveal cognitive decline and dementia early.")
    generic = paper("p.generic", "Speech recognition for call centres",
                    "A speech recogniser transcribes recordings of customers.")
    scores = scores_of(Ranker([HEALTH], background=BACKGROUND, embedder=None)
                       .rank([generic, dementia])["health"])
    assert scores["p.dementia"] > scores["p.generic"]
    gated = Ranker([HEALTH], background=BACKGROUND, embedder=None, tuning=Tuning(plain_share=0))
    without = scores_of(gated.rank([generic, dementia])["health"])
    assert without["p.dementia"] < without["p.generic"]  # what the facets alone would do


def test_a_paper_rated_up_moves_the_plain_bm25_share_too():
    # Only the plain share is looked at (plain_share=1): a paper about Parkinson's voice tremor
    # rated up teaches "parkinson" and "tremor", which no word of the track says.
    rated = paper("p.rated", "Parkinson tremor in the voice", "Voice tremor tracks Parkinson.")
    similar = paper("p.similar", "Tremor of Parkinson sufferers", "Parkinson tremor measured.")
    other = paper("p.other", "Dementia detection", "Cognitive decline from recordings.")
    plain = Tuning(plain_share=1.0)

    def score(ratings):
        ranker = Ranker([HEALTH], ratings, background=BACKGROUND, embedder=None, tuning=plain)
        return scores_of(ranker.rank([rated, similar, other])["health"])["p.similar"]

    assert score([]) == 0.0
    assert score([Rating("p.rated", 1, "health")]) > 0.5
