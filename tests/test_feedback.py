"""Learning from ratings: `rate` changes the next ranking, and a paper rated down stays down.

Real sample papers, a real workspace and store, the real CLI; the ranker is never patched.
"""

from __future__ import annotations

import dataclasses
import statistics
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from agent.actions import pick_for_learning
from agent.config import load_settings
from agent.models import Paper
from agent.rank import Ranker
from agent.sources.jsonl import SAMPLE_PATH, read_papers_jsonl
from agent.store import Store
from tests.cli import run_cli
from tests.context import context


def waiting(store: Store) -> list[Paper]:
    return [paper for paper, _ in store.candidates(statuses=("ranked",))]


def learned_papers(workspace: Path, number: int) -> list[str]:
    note = next((workspace / "cycles").rglob(f"{number:04d}-learn.md"))
    meta = yaml.safe_load(note.read_text(encoding="utf-8").split("---\n")[1])
    return list(meta["papers"] or [])


def learn(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    run = run_cli(capsys, "cycle", "-w", str(workspace), "--action", "learn", "--source", "sample")
    assert run.code == 0, run.err


def test_a_paper_rated_down_for_a_track_is_never_proposed_for_it_again(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(scanned)
    with Store(settings.database_url) as store:
        ctx = context(store, scanned)
        chosen, _ = pick_for_learning(ctx, ctx.ranker())
    # what the next learn cycle would read; take one only a single track wants
    target = next(c for c in chosen if len(c.matches) == 1)
    paper_id, track_id = target.paper.id, target.matches[0].track_id

    run = run_cli(capsys, "rate", paper_id, "down", "--track", track_id, "-w", str(scanned),
                  "--source", "sample")
    assert run.code == 0, run.err
    assert f"rated {paper_id} down for track {track_id}" in run.out
    with Store(settings.database_url) as store:
        stored = {m.track_id: m for m in store.matches_for([paper_id])[paper_id]}
        # no longer counted as waiting by status and the policy; the score found is kept
        assert (stored[track_id].score, stored[track_id].relevant) == (
            pytest.approx(target.matches[0].score, abs=1e-6), False)
        # the ranker moves the track away from the rated paper: close neighbours may drop out
        ctx = context(store, scanned)
        ranking = ctx.ranker().rank([c.paper for c in chosen])
        still = {m.paper_id for matches in ranking.values() for m in matches if m.relevant}

    learned: list[str] = []
    for number in (2, 3, 4):  # the waiting papers run out, then discovery adds older ones
        learn(capsys, scanned)
        learned += learned_papers(scanned, number)
    assert paper_id not in learned
    assert paper_id not in still and len(still) >= len(chosen) - 2
    assert still <= set(learned)
    assert len(learned) == len(set(learned))
    with Store(settings.database_url) as store:
        assert store.paper_status(paper_id) == "ranked"  # still there, never proposed
        ctx = context(store, scanned)
        assert paper_id not in [c.paper.id for c in pick_for_learning(ctx, ctx.ranker())[0]]
        assert not any(m.relevant for m in ctx.ranker().rank([target.paper])[track_id])


def test_up_ratings_lift_similar_papers_in_the_next_ranking_of_that_track(
    scanned: Path, arxiv_server, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Five real February papers on speech deepfakes, under ids of their own: their words are
    # neither in the scanned batch nor in the ranker's background, only in the store.
    february = [p for p in read_papers_jsonl(SAMPLE_PATH)
                if p.published and p.published >= datetime(2026, 2, 1, tzinfo=UTC)]
    liked = [dataclasses.replace(p, id=f"2611.{i:05d}")
             for i, p in enumerate([p for p in february if "deepfake" in text_of(p)][:5])]
    arxiv_server.add_papers(liked)
    monkeypatch.setenv("ARXIV_API_URL", arxiv_server.url)
    track = "speech-benchmarks"
    settings = load_settings(scanned)
    with Store(settings.database_url) as store:
        pool = waiting(store)
        before = positions(context(store, scanned).ranker().rank(pool)[track])

    for paper in liked:
        run = run_cli(capsys, "rate", paper.id, "up", "--track", track, "-w", str(scanned))
        assert run.code == 0, run.err

    with Store(settings.database_url) as store:  # a new connection: remembered in the store
        assert {(r.paper_id, r.value, r.track_id) for r in store.ratings()} == {
            (p.id, 1, track) for p in liked}
        assert store.get_paper(liked[0].id).title == liked[0].title  # type: ignore[union-attr]
        ctx = context(store, scanned)
        after = positions(ctx.ranker().rank(pool)[track])
        unwired = positions(Ranker(ctx.tracks, ratings=store.ratings()).rank(pool)[track])
        other = positions(ctx.ranker().rank(pool)["listen-vs-guess"])
        plain = positions(Ranker(ctx.tracks).rank(pool)["listen-vs-guess"])

    similar = [p.id for p in pool if "deepfake" in text_of(p)]
    assert len(similar) >= 4
    assert all(after[pid] < before[pid] for pid in similar)
    assert statistics.mean(after[pid] for pid in similar) < statistics.mean(
        before[pid] for pid in similar) / 3
    assert sum(after[pid] < 20 for pid in similar) > sum(before[pid] < 20 for pid in similar)
    assert unwired == before, "without the rated papers' text the ratings could not teach"
    assert other == plain, "a rating for one track leaves the others alone"


def test_rating_for_an_unknown_track_is_a_clear_error(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(scanned)
    with Store(settings.database_url) as store:
        paper_id = waiting(store)[0].id
    run = run_cli(capsys, "rate", paper_id, "up", "--track", "no-such-track", "-w", str(scanned),
                  "--source", "sample")
    assert run.code != 0
    assert "no track with id 'no-such-track'" in run.err
    assert "tracks.toml" in run.err and "listen-vs-guess" in run.err  # the file and the known ids
    assert "Traceback" not in run.err
    with Store(settings.database_url) as store:
        assert store.ratings() == []


def text_of(paper: Paper) -> str:
    return f"{paper.title} {paper.abstract}".lower()


def positions(matches) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {m.paper_id: i for i, m in enumerate(matches)}
