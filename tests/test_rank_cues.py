"""Round 5 of the ranker: facet cues learnt from the background, and the main part's own
term-frequency saturation (a knob, kept at plain BM25's 1.2). Each test fails with the mechanism
off."""

from __future__ import annotations

import pytest

from agent.models import Track
from agent.rank import Ranker, Tuning
from agent.rank.facets import Facet, facet_coverage, name_facets, with_cues
from agent.rank.index import Index
from agent.rank.query import phrase_keys
from agent.rank.score import build_stats, score_query
from tests.corpus import BACKGROUND, paper

SPEECH_BACKGROUND = [  # "dysarthria" is only ever written about speech here
    paper(f"dys.{i}", f"Dysarthria and speech study {i}", "Dysarthria changes speech rhythm.")
    for i in range(6)
] + [  # "model" is everywhere, with speech or without
    paper(f"sm.{i}", "A speech model", "The model transcribes speech.") for i in range(4)
] + [
    paper(f"om.{i}", "A vision model", "The model labels images of cats.") for i in range(12)
]


def word(text: str) -> int:
    return phrase_keys(text)[0][0]


def test_a_word_whose_papers_nearly_always_show_a_facet_becomes_its_cue():
    index = Index.of_papers(SPEECH_BACKGROUND)
    facets = with_cues(name_facets("speech"), index, min_papers=5, share=0.7, lift=2.0,
                       credit=0.9)
    cues = facets[0].cues
    assert cues.get(word("dysarthria")) == pytest.approx(0.9)  # 6 of its 6 papers, x 0.9
    assert word("model") not in cues  # 4 of its 16 papers say speech
    assert word("speech") not in cues  # the facet's own word is not its cue
    batch = Index.of_papers([
        paper("p.cue", "Dysarthria severity from voice recordings", "Patients read aloud."),
        paper("p.none", "Voice recordings of patients", "Patients read aloud."),
    ])
    stats = build_stats([(batch, None)])
    assert facet_coverage(batch, stats, facets).tolist() == pytest.approx([0.9, 0.0])
    assert facet_coverage(batch, stats, name_facets("speech")).tolist() == [0.0, 0.0]


def test_a_facet_most_papers_show_gets_no_cues():
    # with "model" as the facet, every word of a model paper co-occurs with it: nothing tells
    # of it more than the papers at large do, so nothing is a cue (lift 2 of a 100% base rate)
    index = Index.of_papers(SPEECH_BACKGROUND)
    facet = Facet([(word("model"),)])
    assert with_cues([facet], index, min_papers=5, share=0.7, lift=2.0, credit=0.9)[0].cues == {}
    assert with_cues([Facet([(word("model"),)])], index, 5, 0.7, 1.0, 0.9)[0].cues  # lift 1 has


HEALTH = Track(id="health", name="Speech as a health signal", priority=3,
               description="Clinical recordings of patients, for health.",
               keywords=("pathological speech", "clinical speech"))


def test_ranker_lets_a_cue_show_the_facet_a_paper_never_names():
    # the track's only facet is "speech"; a dysarthria paper that never writes "speech" is on
    # the track, a paper on doctors' notes is not, yet it shares as many of the track's words
    cue = paper("p.cue", "Dysarthria in recordings of patients",
                "Recordings of patients with dysarthria.")
    notes = paper("p.notes", "Notes of patients", "Notes written by doctors for health records.")
    on_track = [  # four (fewer than cue_papers): their words do not become cues
        paper(f"on.{i}", "Clinical speech and pathological speech of patients",
              "Pathological speech recordings: clinical speech for health.") for i in range(4)
    ]
    background = SPEECH_BACKGROUND + BACKGROUND + on_track

    def order(tuning: Tuning) -> list[str]:
        ranked = Ranker([HEALTH], background=background, tuning=tuning, embedder=None)
        return [m.paper_id for m in ranked.rank([notes, cue])["health"]]

    assert order(Tuning()) == ["p.cue", "p.notes"]
    assert order(Tuning(cue_credit=0.0)) == ["p.notes", "p.cue"]


# two papers on subword units: one dwells on "tokenizer", one names "tokenizer" and "codec" once
DWELLING = paper("p.dwell", "On subword units",
                 "Tokenizer, tokenizer, tokenizer, tokenizer, tokenizer: we study units of text, "
                 "words and letters.")
PASSING = paper("p.pass", "On subword units",
                "A tokenizer for text and for sound a codec: we study units, words, letters, "
                "frames, pitch.")
FILL = [paper("f.c1", "Codec", "A codec."), paper("f.c2", "Codec", "A codec."),
        paper("f.t", "Tokenizer", "A tokenizer.")] + BACKGROUND  # both words in 3 papers


def test_a_larger_saturation_counts_a_word_said_often_against_two_said_once():
    index = Index.of_papers([DWELLING, PASSING, *FILL])
    stats = build_stats([(index, None)])
    weights = {word("tokenizer"): 1.0, word("codec"): 1.0}
    slow = score_query(index, stats, weights, k1=2.0)[0]
    fast = score_query(index, stats, weights, k1=1.2)[0]
    assert slow[0] > slow[1]
    assert fast[0] < fast[1]


def test_ranker_main_part_uses_its_own_saturation():
    # "Project Alpha" grounds no facet: the order is the main part's BM25F alone
    track = Track(id="units", name="Project Alpha", priority=3,
                  description="Tokenizer and codec.", keywords=("tokenizer", "codec"))

    def order(saturation: float) -> list[str]:
        tuning = Tuning(saturation=saturation, plain_share=0.0)
        ranked = Ranker([track], background=FILL, tuning=tuning, embedder=None)
        return [m.paper_id for m in ranked.rank([PASSING, DWELLING])["units"]]

    assert order(2.0) == ["p.dwell", "p.pass"]
    assert order(1.2) == ["p.pass", "p.dwell"]
    assert order(Tuning().saturation) == order(1.2)  # kept at 1.2: see Tuning.saturation


def test_fingerprint_covers_the_new_constants():
    fingerprints = {
        Ranker([HEALTH], tuning=tuning, embedder=None).fingerprint()
        for tuning in (Tuning(), Tuning(saturation=2.0), Tuning(cue_credit=0.0),
                       Tuning(cue_share=0.6), Tuning(cue_lift=3.0), Tuning(cue_papers=4))
    }
    assert len(fingerprints) == 6
