"""Round 6 of the ranker: weak facets. A name aspect that only one of the track's several
keywords names ("bits" of "Squeezing large models into fewer bits", named only by "low-bit")
is a weak facet: it counts less in the coverage and a paper that never shows it keeps part of
it. Each test fails with the mechanism off (`Tuning(weak_facet=0.0)`)."""

from __future__ import annotations

import pytest

from agent.models import Track
from agent.rank import Ranker, Tuning
from agent.rank.facets import Facet, facet_coverage, grounded_facets, name_facets
from agent.rank.index import Index
from agent.rank.query import phrase_keys
from agent.rank.score import build_stats
from tests.corpus import BACKGROUND, paper

SQUEEZE = Track(
    id="squeeze", name="Squeezing large models into fewer bits", priority=3,
    description="Making trained networks smaller and cheaper to run.",
    keywords=("quantization", "post-training quantization", "low-bit", "weight pruning"),
)


def word(text: str) -> int:
    return phrase_keys(text)[0][0]


def test_a_name_aspect_only_one_of_several_keywords_names_is_weak():
    facets = grounded_facets(name_facets(SQUEEZE.name), SQUEEZE.keywords, weak=0.5)
    assert [(facet.terms, facet.weak) for facet in facets] == [([(word("bits"),)], 0.5)]
    assert grounded_facets(name_facets(SQUEEZE.name), SQUEEZE.keywords)[0].weak == 0.0
    # two keywords name "speech": a strong aspect; "interpretability" is named by one of two
    named = grounded_facets(name_facets("Interpretability of speech models"),
                            ("interpretability", "speech probing", "speech representations"),
                            weak=0.5)
    assert [facet.weak for facet in named] == [0.5, 0.0]
    # a track with one keyword: that keyword is all the researcher said, nothing is weak
    alone = grounded_facets(name_facets("Low-bit models"), ("low-bit",), weak=0.5)
    assert [facet.weak for facet in alone] == [0.0]


def test_a_weak_facet_counts_less_and_every_paper_shows_part_of_it():
    strong, weak = Facet([(word("speech"),)]), Facet([(word("probing"),)], weak=0.5)
    batch = Index.of_papers([
        paper("p.both", "Probing speech", "Probing speech."),
        paper("p.strong", "Speech", "Speech."),
        paper("p.weak", "Probing", "Probing."),
        paper("p.none", "Vision", "Vision."),
    ])
    stats = build_stats([(batch, None)])
    old = facet_coverage(batch, stats, [strong, Facet(weak.terms)]).tolist()
    new = facet_coverage(batch, stats, [strong, weak]).tolist()
    idf_s, idf_w = (float(stats.idf([word(w)])[0]) for w in ("speech", "probing"))
    mass = idf_s + idf_w
    assert old == pytest.approx([1.0, idf_s / mass, idf_w / mass, 0.0])
    mass = idf_s + 0.5 * idf_w  # the weak facet weighs half and every paper shows half of it
    assert new == pytest.approx([1.0, (idf_s + 0.25 * idf_w) / mass, 0.5 * idf_w / mass,
                                 0.25 * idf_w / mass])


RECOGNIZERS = Track(
    id="small-asr", name="Speech recognizers in fewer bits", priority=3,
    description="Smaller and cheaper speech recognizers.",
    keywords=("speech quantization", "speech recognizer compression", "low-bit",
              "pruned speech recognizer"),
)


def test_ranker_does_not_hide_a_paper_that_misses_only_a_weak_aspect():
    # "bits" is named only by "low-bit": a pruning paper that never says it is on the track,
    # and a codec paper that says "fewer bits" of speech is not
    prune = paper("p.prune", "Pruned speech recognizers",
                  "We prune speech recognizers: speech quantization and pruning make them smaller.")
    codec = paper("p.codec", "Speech in fewer bits",
                  "A low-bit speech codec stores speech in fewer bits.")
    background = BACKGROUND + [
        paper(f"q.{i}", "Low-bit speech quantization",
              "Low-bit speech quantization of recognizers.") for i in range(3)
    ]

    def order(tuning: Tuning) -> list[str]:
        ranked = Ranker([RECOGNIZERS], background=background, tuning=tuning, embedder=None)
        return [m.paper_id for m in ranked.rank([codec, prune])["small-asr"]]

    assert order(Tuning()) == ["p.prune", "p.codec"]
    assert order(Tuning(weak_facet=0.0)) == ["p.codec", "p.prune"]


def test_fingerprint_covers_the_weak_facet_constant():
    assert (Ranker([SQUEEZE], embedder=None).fingerprint()
            != Ranker([SQUEEZE], tuning=Tuning(weak_facet=0.0), embedder=None).fingerprint())
