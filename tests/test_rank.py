"""The ranker on small hand-made corpora, plus one pass over the bundled sample."""

from __future__ import annotations

import json

import pytest

from agent.models import Paper, Rating, Track
from agent.rank import Ranker, triage
from agent.rank.facets import grounded_facets, name_facets
from agent.sources.jsonl import SAMPLE_PATH, read_papers_jsonl
from tests.corpus import AGENTS, BACKGROUND, HALLUCINATION, paper


def ranker(*tracks: Track, ratings: tuple[Rating, ...] = (), **kwargs) -> Ranker:
    return Ranker(tracks or (HALLUCINATION,), ratings, background=BACKGROUND, **kwargs)


def scores_of(matches) -> dict[str, float]:
    return {m.paper_id: m.score for m in matches}


def test_phrase_outranks_scattered_words():
    phrase = paper("p.phrase", "Why does a speech LLM hallucinate?",
                   "We measure hallucination of a speech LLM on noisy recordings.")
    scattered = paper("p.scattered", "Hallucination in models of speech",
                      "We study speech. Separately, an LLM is prompted; hallucination is rare.")
    ranked = ranker().rank([scattered, phrase])["hallucination"]
    assert [m.paper_id for m in ranked] == ["p.phrase", "p.scattered"]
    assert ranked[0].score > ranked[1].score
    assert ranked[0].terms == ("speech LLM", "hallucination")
    assert ranked[1].terms == ("hallucination",)


def test_exclude_terms_demote():
    track = Track(id="t", name="Speech LLM hallucination", description="", priority=3,
                  keywords=("speech LLM", "hallucination"), exclude=("survey",))
    text = "Hallucination of a speech LLM on noisy audio, measured on a benchmark."
    plain = paper("p.plain", "Speech LLM hallucination", text)
    survey = paper("p.survey", "Speech LLM hallucination: a survey", text)
    scores = scores_of(ranker(track).rank([plain, survey])["t"])
    assert scores["p.survey"] < 0.5 * scores["p.plain"]


def test_category_prior_prefers_the_tracks_categories():
    track = Track(id="t", name="Speech LLM hallucination", description="", priority=3,
                  keywords=("speech LLM", "hallucination"), categories=("eess.AS",))
    text = "Hallucination of a speech LLM on noisy audio."
    inside = paper("p.in", "Speech LLM hallucination", text, ("eess.AS", "cs.CL"))
    cross = paper("p.cross", "Speech LLM hallucination", text, ("cs.CL", "eess.AS"))
    outside = paper("p.out", "Speech LLM hallucination", text, ("cs.CV",))
    scores = scores_of(ranker(track).rank([outside, cross, inside])["t"])
    assert scores["p.in"] > scores["p.cross"] > scores["p.out"]


CANDIDATES = [
    paper("c.1", "Speech LLM hallucination benchmark",
          "We measure hallucination of a speech LLM when the audio is silent."),
    paper("c.2", "Reducing hallucination in a speech LLM",
          "Contrastive decoding lowers hallucination of a speech LLM on noisy audio."),
    paper("c.3", "Speech LLM for spoken question answering",
          "A speech LLM answers spoken questions; hallucination is discussed briefly."),
    paper("c.4", "Tool use by LLM agents", "Agents call tools and APIs with function calling."),
]


def test_rated_down_paper_disappears_for_that_track_only():
    ratings = (Rating("c.1", -1, "hallucination"),)
    ranked = ranker(HALLUCINATION, AGENTS, ratings=ratings).rank(CANDIDATES)
    down = next(m for m in ranked["hallucination"] if m.paper_id == "c.1")
    assert down.score == 0.0 and not down.relevant
    assert all(m.score > 0 for m in ranked["hallucination"][:2])
    before = scores_of(ranker(HALLUCINATION, AGENTS).rank(CANDIDATES)["agents"])
    assert scores_of(ranked["agents"]) == before


def test_rating_down_without_track_hides_everywhere():
    ranked = ranker(HALLUCINATION, AGENTS, ratings=(Rating("c.4", -1),)).rank(CANDIDATES)
    for matches in ranked.values():
        assert scores_of(matches)["c.4"] == 0.0


def test_rating_up_raises_similar_papers():
    liked = paper("r.liked", "Counting birds with acoustic sensors",
                  "Acoustic sensors in forests count bird calls; a speech LLM labels each call.")
    similar = paper("r.similar", "Acoustic monitoring of bird calls in forests",
                    "Forest acoustic sensors record bird calls for counting species.")
    other = paper("r.other", "Speech LLM latency", "We make a speech LLM answer faster.")
    papers = [liked, similar, other, *CANDIDATES]
    before = scores_of(ranker().rank(papers)["hallucination"])
    rated = ranker(ratings=(Rating("r.liked", 1, "hallucination"),))
    after = scores_of(rated.rank(papers)["hallucination"])
    assert after["r.similar"] > before["r.similar"]
    assert after["r.similar"] - before["r.similar"] > after["r.other"] - before["r.other"]
    assert after["r.liked"] >= rated.thresholds()["hallucination"]


def test_rated_paper_found_outside_the_batch():
    liked = paper("r.liked", "Counting birds with acoustic sensors",
                  "Acoustic sensors in forests count bird calls; a speech LLM labels each call.")
    similar = paper("r.similar", "Acoustic monitoring of bird calls in forests",
                    "Forest acoustic sensors record bird calls for counting species.")
    before = scores_of(ranker().rank([similar, *CANDIDATES])["hallucination"])
    rated = ranker(ratings=(Rating("r.liked", 1, "hallucination"),), rated_papers=[liked])
    after = scores_of(rated.rank([similar, *CANDIDATES])["hallucination"])
    assert after["r.similar"] > before["r.similar"]


def test_scores_bounded_relevance_follows_threshold_and_deterministic():
    papers = CANDIDATES + BACKGROUND
    first = ranker(HALLUCINATION, AGENTS).rank(papers)
    second = ranker(HALLUCINATION, AGENTS).rank(papers)
    assert first == second
    for track_id, matches in first.items():
        assert len(matches) == len(papers)
        threshold = ranker(HALLUCINATION, AGENTS).thresholds()[track_id]
        assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
        for m in matches:
            assert 0.0 <= m.score <= 1.0
            assert m.relevant == (m.score >= threshold)
    assert first["hallucination"][0].relevant
    assert scores_of(first["hallucination"])["bg.0"] < 0.05


def test_inactive_tracks_and_empty_input():
    quiet = Track(id="quiet", name="Quiet", description="", keywords=("x",), priority=1,
                  active=False)
    assert set(ranker(HALLUCINATION, quiet).rank(CANDIDATES)) == {"hallucination"}
    assert ranker(HALLUCINATION).rank([]) == {"hallucination": []}


def test_related_finds_the_obviously_related_paper():
    target = paper("x.0", "Contrastive decoding against hallucination in speech LLMs",
                   "Contrastive decoding reduces hallucination of speech LLMs on silent audio.")
    twin = paper("x.1", "Hallucination of speech LLMs on silence",
                 "Speech LLMs hallucinate words on silent audio; contrastive decoding helps.")
    pool = [target, *BACKGROUND, twin, CANDIDATES[3]]
    found = ranker().related(target, pool, k=3)
    assert found[0][0] == "x.1"
    assert all(pid != "x.0" for pid, _ in found)
    assert len(found) <= 3
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)


@pytest.fixture(scope="module")
def sample() -> list[Paper]:
    return read_papers_jsonl(SAMPLE_PATH)


def test_triage_shape_on_the_bundled_sample(sample):
    neurons = Track(id="neurons", name="What neurons in audio models encode",
                    description="Interpretability of audio and speech models at neuron level.",
                    keywords=("neuron", "interpretability", "audio model"), priority=4,
                    categories=("eess.AS", "cs.SD"))
    papers = sample[:300] + [p for p in sample if p.id == "2602.15307"]
    result = triage([neurons, AGENTS], papers, top=5)
    assert json.loads(json.dumps(result)) == result
    assert set(result) == {"neurons", "agents"}
    for rows in result.values():
        assert len(rows) == 5
        assert all(set(row) == {"id", "score"} for row in rows)
        assert all(round(row["score"], 4) == row["score"] for row in rows)
        assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert result["neurons"][0]["id"] == "2602.15307"  # "What Do Neurons Listen To?"


def test_hyphenated_name_aspect_is_a_facet_when_a_keyword_names_it():
    # "low-resource" is one aspect in two words; the keyword shares them, so papers must show it
    facets = grounded_facets(
        name_facets("Speech recognition for low-resource languages"), ("low-resource ASR",)
    )
    assert [facet.terms for facet in facets] == [name_facets("low-resource")[0].terms]
    judge = grounded_facets(name_facets("Reliability of LLM-as-a-judge"), ("LLM judge",))
    assert [facet.terms for facet in judge] == [name_facets("LLM-as-a-judge")[0].terms]
