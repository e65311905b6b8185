"""The optional embeddings fusion: rank fusion, wiring into the Ranker, and the real model."""

from __future__ import annotations

import importlib.util
import logging

import numpy as np
import pytest

from agent.models import Rating
from agent.rank import Ranker
from agent.rank.embeddings import (
    FEEDBACK,
    MODEL_PACKAGE,
    SWITCH,
    Embedder,
    Feedback,
    fuse_scores,
    load_embedder,
    rank_positions,
    track_text,
)
from tests.corpus import BACKGROUND, HALLUCINATION, paper
from tests.hashed_embedder import HASHED_MODEL, HashedWords

BATCH = [
    paper("p.core", "Speech LLM hallucination benchmark",
          "Speech LLMs describe words that are not in the audio; we measure hallucination."),
    paper("p.side", "Hallucination in text language models",
          "Language models state facts that are false; we detect hallucination."),
    # no track word at all: only the embeddings can tell it is on topic
    paper("p.ghost", "Phantom sound events in audio captioners",
          "Audio-text models invent sound events that never occur in the recording."),
    *[paper(f"p.{i}", p.title, p.abstract) for i, p in enumerate(BACKGROUND)],
]


def fake_encode(calls: list[list[str]]):
    """Vectors that put the track and the 'Phantom' paper together, everything else apart."""

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        near = [t == track_text(HALLUCINATION) or t.startswith("Phantom") for t in texts]
        return np.asarray([[1.0, 0.0] if n else [0.0, 1.0] for n in near])

    return encode


def scores_by_id(ranker: Ranker) -> dict[str, float]:
    return {m.paper_id: m.score for m in ranker.rank(BATCH)[HALLUCINATION.id]}


def test_fuse_scores_reorders_but_keeps_the_lexical_scores():
    lexical = np.asarray([0.9, 0.8, 0.7, 0.1, 0.05, 0.0])
    cosine = np.asarray([0.1, 0.1, 0.1, 0.1, 0.1, 0.9])  # the last paper is the best match
    fused = fuse_scores(lexical, cosine, weight=0.5, k=1)
    assert sorted(fused) == sorted(lexical)  # same calibration: same scores, new owners
    assert fused[5] > lexical[5] and fused[0] == 0.9


def test_fuse_scores_with_no_weight_is_the_lexical_ranking():
    lexical = np.asarray([0.2, 0.9, 0.5])
    assert list(fuse_scores(lexical, np.asarray([0.9, 0.1, 0.5]), weight=0.0)) == list(lexical)


def test_ranker_fuses_the_embeddings_into_its_scores():
    lexical = scores_by_id(Ranker([HALLUCINATION], background=BACKGROUND, embedder=None))
    calls: list[list[str]] = []
    embedder = Embedder(fake_encode(calls))
    fused = scores_by_id(Ranker([HALLUCINATION], background=BACKGROUND, embedder=embedder))
    assert sorted(fused.values()) == sorted(lexical.values())
    assert fused["p.ghost"] > lexical["p.ghost"]
    assert max(fused, key=lambda pid: fused[pid]) == "p.core"  # still the lexical best
    ids = [p.id for p in BATCH]
    expected = fuse_scores(
        np.asarray([lexical[i] for i in ids]),
        np.asarray([1.0 if i == "p.ghost" else 0.0 for i in ids]),
    )
    # papers with near-zero scores may swap places: their rounded lexical scores tie
    clear = [n for n, i in enumerate(ids) if lexical[i] >= 0.01]
    assert [fused[ids[n]] for n in clear] == pytest.approx([expected[n] for n in clear])
    assert len(calls) == 1 and len(calls[0]) == len(BATCH) + 1  # one batch: track + papers


def test_embedder_encodes_each_text_once():
    calls: list[list[str]] = []
    embedder = Embedder(fake_encode(calls))
    embedder.similarities(HALLUCINATION, BATCH[:2])
    sims = embedder.similarities(HALLUCINATION, BATCH[:3])
    assert [len(c) for c in calls] == [3, 1]
    assert list(sims) == [0.0, 0.0, 1.0]


def test_a_broken_model_falls_back_to_the_lexical_ranking(caplog):
    def broken(texts: list[str]) -> np.ndarray:
        raise RuntimeError("no torch here")

    lexical = scores_by_id(Ranker([HALLUCINATION], background=BACKGROUND, embedder=None))
    with caplog.at_level(logging.WARNING, logger="agent.rank.embeddings"):
        ranker = Ranker([HALLUCINATION], background=BACKGROUND, embedder=Embedder(broken))
        assert scores_by_id(ranker) == lexical
    assert "lexical ranking only: no torch here" in caplog.text


def test_switch_turns_the_extra_off(monkeypatch):
    monkeypatch.setenv(SWITCH, "0")
    assert load_embedder() is None
    assert Ranker([HALLUCINATION]).embedder is None


@pytest.mark.skipif(importlib.util.find_spec(MODEL_PACKAGE) is not None, reason="extra installed")
def test_without_the_extra_the_ranker_is_lexical(monkeypatch):
    monkeypatch.delenv(SWITCH, raising=False)
    assert load_embedder() is None
    assert Ranker([HALLUCINATION]).embedder is None


def test_real_model_prefers_the_paper_on_the_track(monkeypatch):
    pytest.importorskip(MODEL_PACKAGE)
    pytest.importorskip("sentence_transformers")
    monkeypatch.delenv(SWITCH, raising=False)
    embedder = load_embedder()
    assert embedder is not None
    sims = embedder.similarities(HALLUCINATION, BATCH)
    by_id = dict(zip([p.id for p in BATCH], sims, strict=True))
    assert by_id["p.core"] > 0.5
    assert by_id["p.ghost"] > max(by_id[f"p.{i}"] for i in (0, 1, 3, 6))  # molecules, RL, code


# -- learning from ratings: Rocchio on the track's query vector ---------------------------------

LIKED = paper("r.liked", "Audio captioners invent phantom dog barks and sirens",
              "Captioning systems report barks, sirens and engines absent from the recordings.")
DISLIKED = paper("r.disliked", "Speech recognition benchmark for hospital dictation",
                 "We release a dictation corpus from hospitals and measure word error rates.")
SIMILAR = paper("p.similar", "Barks and sirens that captioning systems imagine",
                "Captioning systems describe barks, sirens and engines the recordings lack.")
LIKE_DISLIKED = paper("p.dictation", "Hospital dictation speech recognition errors",
                      "Word error rates of speech recognition on hospital dictation corpora.")
POOL = [*BATCH, SIMILAR, LIKE_DISLIKED]


def position(scores: np.ndarray, paper_id: str) -> int:
    return int(rank_positions(scores)[[p.id for p in POOL].index(paper_id)])


def test_a_rating_up_moves_similar_papers_up_in_the_cosine_ranking():
    embedder = Embedder(HashedWords(), model=HASHED_MODEL)
    plain = embedder.similarities(HALLUCINATION, POOL)
    liked = embedder.similarities(HALLUCINATION, POOL, up=[LIKED])
    assert position(liked, "p.similar") < position(plain, "p.similar")
    assert position(liked, "p.similar") <= 2
    disliked = embedder.similarities(HALLUCINATION, POOL, down=[DISLIKED])
    assert position(disliked, "p.dictation") > position(plain, "p.dictation")


def test_ratings_move_the_fused_ranking_through_the_embeddings():
    ratings = [Rating(LIKED.id, 1, HALLUCINATION.id)]

    def fused(feedback: Feedback) -> dict[str, float]:
        embedder = Embedder(HashedWords(), model=HASHED_MODEL, feedback=feedback)
        ranker = Ranker([HALLUCINATION], ratings, background=BACKGROUND, rated_papers=[LIKED],
                        embedder=embedder)
        return {m.paper_id: m.score for m in ranker.rank(POOL)[HALLUCINATION.id]}

    learning, deaf = fused(FEEDBACK), fused(Feedback(up=0.0, down=0.0))
    assert learning["p.similar"] > deaf["p.similar"]
    assert sorted(learning.values()) == sorted(deaf.values())  # same lexical scores, new order
