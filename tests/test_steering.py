"""Steering the agent: ratings that count and can be taken back, scores kept, a queue entry
re-added during a deep read kept, re-adds that do what the researcher said, track edits whose
commit fails undone, pause + resume giving back the file.

Real workspaces, a real store, the real CLI and real git; nothing is patched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.changes import StateChanges, apply_changes, dump_changes, load_changes
from agent.config import load_settings
from agent.errors import JournalError
from agent.models import Match, Paper, QueueItem, Rating, Track
from agent.rank import Ranker
from agent.rank.feedback import rated_ids
from agent.reconcile import reconcile
from agent.steer import change_track, create_track
from agent.store import Store
from agent.tracks import load_tracks
from tests.cli import run_cli
from tests.context import context

ROOT = Path(__file__).resolve().parent.parent
TRACKS = "state/tracks.toml"


def rate(capsys: pytest.CaptureFixture[str], workspace: Path, *args: str) -> str:
    run = run_cli(capsys, "rate", *args, "-w", str(workspace), "--source", "sample")
    assert run.code == 0, run.err
    return run.out


def stored(workspace: Path, paper_id: str) -> dict[str, Match]:
    with Store(load_settings(workspace).database_url) as store:
        return {m.track_id: m for m in store.matches_for([paper_id])[paper_id]}


def ranked(workspace: Path, paper: Paper) -> dict[str, Match]:
    """The next ranking of one paper per track, as a learn cycle would make it."""
    with Store(load_settings(workspace).database_url) as store:
        ranking = context(store, workspace).ranker().rank([paper])
    return {track_id: matches[0] for track_id, matches in ranking.items()}


def unwanted_paper(workspace: Path) -> Paper:
    """A waiting paper no track finds relevant."""
    with Store(load_settings(workspace).database_url) as store:
        pool = store.candidates(statuses=("ranked",))
    return next(p for p, matches in reversed(pool) if matches and not any(m.relevant
                                                                         for m in matches))


def wanted_paper(workspace: Path) -> tuple[Paper, str]:
    """A waiting paper relevant to exactly one track, and that track."""
    with Store(load_settings(workspace).database_url) as store:
        pool = store.candidates(statuses=("ranked",))
    paper, matches = next((p, ms) for p, ms in pool if sum(m.relevant for m in ms) == 1)
    return paper, next(m.track_id for m in matches if m.relevant)


# --- 1. a paper-wide up rating counts --------------------------------------------------------


def test_a_paper_wide_up_rating_changes_the_next_ranking_of_every_track(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paper = unwanted_paper(scanned)
    assert not any(m.relevant for m in ranked(scanned, paper).values())

    assert f"rated {paper.id} up for all tracks" in rate(capsys, scanned, paper.id, "up")

    after = ranked(scanned, paper)
    assert after and all(m.relevant and m.score >= 0.5 for m in after.values())
    assert all(m.relevant for m in stored(scanned, paper.id).values())  # counted as waiting


def test_rated_ids_paper_wide_up_applies_to_each_track() -> None:
    assert rated_ids([Rating("a", 1)], "t1") == ({"a"}, set())
    assert rated_ids([Rating("a", 1)], "t2") == ({"a"}, set())


# --- 2. the latest verdict wins; clear takes it back -------------------------------------------


def test_rated_ids_latest_wins_and_a_track_verdict_beats_a_paper_wide_one() -> None:
    ratings = [Rating("a", -1), Rating("a", 1), Rating("b", 1, "t1"), Rating("b", -1),
               Rating("c", -1, "t1"), Rating("c", 0, "t1"), Rating("d", 1), Rating("d", 0)]
    assert rated_ids(ratings, "t1") == ({"a", "b"}, set())
    assert rated_ids(ratings, "t2") == ({"a"}, {"b"})


def test_down_then_up_brings_the_paper_back(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paper, track = wanted_paper(scanned)
    rate(capsys, scanned, paper.id, "down", "--track", track)
    assert not ranked(scanned, paper)[track].relevant
    assert not stored(scanned, paper.id)[track].relevant

    rate(capsys, scanned, paper.id, "up", "--track", track)
    assert ranked(scanned, paper)[track].relevant
    assert stored(scanned, paper.id)[track].relevant
    with Store(load_settings(scanned).database_url) as store:
        assert store.ratings() == [Rating(paper.id, 1, track)]  # only the verdict in force


def test_clear_takes_a_verdict_back(scanned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paper, track = wanted_paper(scanned)
    before = ranked(scanned, paper)

    rate(capsys, scanned, paper.id, "down")
    assert not any(m.relevant for m in ranked(scanned, paper).values())
    out = rate(capsys, scanned, paper.id, "clear")
    assert f"cleared your rating of {paper.id} for all tracks" in out

    assert ranked(scanned, paper) == before
    assert stored(scanned, paper.id)[track].relevant
    with Store(load_settings(scanned).database_url) as store:
        assert store.ratings() == []


def test_clear_for_a_track_falls_back_to_the_paper_wide_verdict(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paper, track = wanted_paper(scanned)
    rate(capsys, scanned, paper.id, "down")
    rate(capsys, scanned, paper.id, "up", "--track", track)
    assert ranked(scanned, paper)[track].relevant  # the track's own verdict beats the wide one
    out = rate(capsys, scanned, paper.id, "clear", "--track", track)
    assert f"cleared your rating of {paper.id} for track {track}" in out
    assert not ranked(scanned, paper)[track].relevant
    with Store(load_settings(scanned).database_url) as store:
        assert store.ratings() == [Rating(paper.id, -1)]


def test_an_unknown_verdict_is_refused(scanned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paper, _ = wanted_paper(scanned)
    run = run_cli(capsys, "rate", paper.id, "meh", "-w", str(scanned), "--source", "sample")
    assert run.code != 0 and "'up', 'down' or 'clear'" in run.err


# --- 3. rating down keeps the score an earlier cycle found -------------------------------------


def test_rate_down_keeps_the_stored_score(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paper, track = wanted_paper(scanned)
    found = stored(scanned, paper.id)
    rate(capsys, scanned, paper.id, "down")
    after = stored(scanned, paper.id)
    assert {t: m.score for t, m in after.items()} == {t: m.score for t, m in found.items()}
    assert found[track].score >= 0.5 and not any(m.relevant for m in after.values())


# --- 4. a queue entry re-added during a deep read survives its commit -------------------------


def test_queue_drop_spares_entries_added_after_the_cycle_started(tmp_path: Path) -> None:
    t0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
    with Store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        store.queue_add(QueueItem("old", 3, "r", "user", added=t0 - timedelta(minutes=1)))
        store.queue_add(QueueItem("new", 3, "r", "user", added=t0 + timedelta(minutes=1)))
        changes = load_changes(dump_changes(StateChanges(queue_drop=["old", "new"], started=t0)))
        assert changes.started == t0
        with store.transaction():
            apply_changes(store, changes, 1)
        assert [i.paper_id for i in store.queue_list()] == ["new"]
        assert store.queue_drop("new")  # without a bound: dropped


@pytest.mark.slow  # a real agent process, killed right after its commit
def test_a_user_queue_add_during_a_deep_read_survives_its_commit(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paper, _ = wanted_paper(scanned)
    add = ("queue", "add", paper.id, "--source", "sample", "-w", str(scanned))
    assert run_cli(capsys, *add).code == 0
    # a deep read of it dies right after its commit: its changes are applied by reconcile
    environment = {**os.environ, "RESEARCH_AGENT_CRASH_AT": "committed"}
    done = subprocess.run([sys.executable, "-m", "agent", "cycle", "-w", str(scanned),
                           "--action", "deep-read", "--source", "sample"],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode in (137, -9), done.stderr
    # meanwhile the researcher queues it again, with a question for the next reading
    assert run_cli(capsys, *add[:3], "--note", "read the appendix", *add[3:]).code == 0

    with Store(load_settings(scanned).database_url) as store:
        reconcile(store, scanned)
        assert store.paper_status(paper.id) == "read"
        (item,) = store.queue_list()
    assert (item.paper_id, item.reason) == (paper.id, "read the appendix")


# --- 5. re-adding a queued paper does what the researcher says --------------------------------


def test_a_user_re_add_sets_priority_and_note_and_the_cli_prints_what_is_stored(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paper, _ = wanted_paper(scanned)
    with Store(load_settings(scanned).database_url) as store:
        store.queue_add(QueueItem(paper.id, 5, "scored high", "agent"))
    run = run_cli(capsys, "queue", "add", paper.id, "--priority", "2", "--note", "later",
                  "--source", "sample", "-w", str(scanned))
    assert run.code == 0, run.err
    assert f"queued {paper.id} (priority 2)" in run.out
    with Store(load_settings(scanned).database_url) as store:
        store.queue_add(QueueItem(paper.id, 4, "scored higher", "agent"))  # never overrides
        item = store.queue_get(paper.id)
    assert item is not None
    assert (item.priority, item.reason, item.added_by) == (2, "later", "user")


# --- 6. a track edit whose commit fails is undone -------------------------------------------


def test_a_track_edit_whose_commit_fails_leaves_the_file_as_it_was(workspace: Path) -> None:
    path = workspace / TRACKS
    original = path.read_bytes()
    lock = workspace / ".git" / "index.lock"  # git refuses to stage while this exists
    lock.touch()
    current = next(t for t in load_tracks(path) if t.id == "listen-vs-guess").priority
    wanted = 1 if current != 1 else 2
    with pytest.raises(JournalError):
        change_track(workspace, "listen-vs-guess", priority=wanted)
    assert path.read_bytes() == original
    with pytest.raises(JournalError):
        create_track(workspace, Track(id="new-one", name="N", description="d", keywords=("k",),
                                      priority=3))
    assert path.read_bytes() == original

    lock.unlink()
    track, sha = change_track(workspace, "listen-vs-guess", priority=wanted)
    assert sha is not None and track.priority == wanted  # running it again commits


# --- 7. pause then resume gives back the file --------------------------------------------------


def test_pause_then_resume_gives_back_the_same_bytes(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workspace / TRACKS
    original = path.read_bytes()
    for verb in ("pause", "resume"):
        run = run_cli(capsys, "tracks", verb, "listen-vs-guess", "-w", str(workspace))
        assert run.code == 0, run.err
    assert path.read_bytes() == original


def test_ranker_honours_a_cleared_rating() -> None:
    # a cleared paper-wide verdict (value 0) leaves the paper unrated for every track
    paper = Paper(id="x", version=1, title="Audio grounding", abstract="Audio grounding.",
                  authors=(), categories=("cs.SD",))
    tracks = [Track(id="t1", name="T", description="audio grounding",
                    keywords=("audio grounding",), priority=3)]
    plain = Ranker(tracks, embedder=None).rank([paper])
    cleared = Ranker(tracks, ratings=[Rating("x", -1), Rating("x", 0)], embedder=None).rank([paper])
    assert cleared == plain
