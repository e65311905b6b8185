"""Recall mechanisms of the ranker: each one shown on a small hand-made corpus."""

from __future__ import annotations

from agent.rank.facets import attach_keywords, grounded_facets, name_facets
from agent.rank.index import Index
from agent.rank.query import phrase_keys
from agent.rank.score import build_stats
from tests.corpus import paper


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
