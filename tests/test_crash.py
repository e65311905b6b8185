"""Crash consistency: a real `python -m agent cycle` process dies at every step of a cycle.

A cycle moves started → acted → note written → committed → recorded, and its commit carries the
trailer `Cycle: N`. `RESEARCH_AGENT_CRASH_AT=<step>` makes the process die there like a kill -9
(os._exit, no cleanup); a stand-in `git` on PATH kills it inside `git commit` with the index
lock held. After each crash the next cycle must reconcile: no duplicate note or cycle number, no
lost paper, a clean tree, and a normal cycle. The subprocesses use the bundled sample and the
offline analyst: they need no network at all.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.config import load_settings
from agent.cycle import make_source
from agent.sources import ScanRequest
from agent.tracks import active_tracks, load_tracks
from tests.cli import run_cli
from tests.repo import git

# Real agent processes, started, signalled and killed: 5-17 s each. `pytest -m slow` runs them
# (CI does, after the fast suite); the default `pytest` leaves them out.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
KILLED = 137  # what crash_point exits with, like a process killed by SIGKILL
BEFORE_COMMIT = ("acted", "note_written")
STEPS = (*BEFORE_COMMIT, "committed")

# Stands in for git when the agent runs `git commit`: takes the index lock the way git does,
# then the agent and this git die together (a power cut, an OOM kill of the whole group).
DYING_GIT = """#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = commit ]; then
    : > "$({git} rev-parse --git-dir)/index.lock"
    kill -9 "$PPID"
    exit 128
  fi
done
exec {git} "$@"
"""


def crash_cycle(
    workspace: Path, step: str | None, *args: str, env: dict[str, str] | None = None
) -> None:
    """Run one cycle in a subprocess that dies at `step` (or wherever `env` makes it die)."""
    environment = {**os.environ, **(env or {})}
    if step is not None:
        environment["RESEARCH_AGENT_CRASH_AT"] = step
    done = subprocess.run([sys.executable, "-m", "agent", "cycle", "-w", str(workspace), *args],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode in (KILLED, -9), (done.returncode, done.stderr)


def next_cycle(capsys: pytest.CaptureFixture[str], workspace: Path, action: str) -> None:
    """A normal cycle after the crash (in-process, through the real entry point)."""
    result = run_cli(capsys, "cycle", "-w", str(workspace), "--action", action,
                     "--source", "sample")
    assert result.code == 0, result.err


def query(workspace: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(workspace / "state" / "agent.db")
    try:
        return list(db.execute(sql))
    finally:
        db.close()


def first_listing(workspace: Path) -> set[str]:
    """The ids the first sample scan of this workspace fetches (what a crash must not lose)."""
    settings = load_settings(workspace)
    tracks = active_tracks(load_tracks(settings.tracks_path))
    return {p.id for p in make_source(settings, "sample").fetch_new(ScanRequest(tracks)).papers}


def assert_consistent(workspace: Path) -> None:
    """Clean tree; each committed cycle has one note and one commit; no number twice."""
    assert git(workspace, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (workspace / ".git" / "index.lock").exists()
    trailers = [line for line in git(workspace, "log", "--format=%(trailers:key=Cycle,valueonly)")
                .split() if line]
    assert len(trailers) == len(set(trailers)), f"a cycle number committed twice: {trailers}"
    committed = query(workspace, "select number, note_path, commit_sha from cycles "
                                 "where status = 'committed' order by number")
    assert sorted(int(t) for t in trailers) == [n for n, _, _ in committed]
    notes = sorted(p.relative_to(workspace).as_posix()
                   for p in (workspace / "cycles").rglob("[0-9]*.md"))
    assert notes == sorted(path for _, path, _ in committed)
    numbers = [p.rsplit("/", 1)[1][:4] for p in notes]
    assert len(numbers) == len(set(numbers)), f"duplicate note numbers: {notes}"
    assert query(workspace, "select count(*) from cycles where status in "
                            "('running', 'note_written')") == [(0,)]


@pytest.mark.parametrize("step", STEPS)
def test_scan_killed_at_each_step_loses_no_paper(
    workspace: Path, step: str, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = first_listing(workspace)
    crash_cycle(workspace, step, "--action", "scan", "--source", "sample")
    next_cycle(capsys, workspace, "scan")
    assert_consistent(workspace)
    stored = {row[0] for row in query(workspace, "select id from papers")}
    assert expected <= stored, f"papers lost by the crashed scan: {sorted(expected - stored)[:5]}"
    statuses = query(workspace, "select number, status from cycles order by number")
    if step == "committed":  # the commit landed: reconcile recorded it, the next scan moved on
        assert statuses == [(1, "committed"), (2, "committed")]
        first_day = query(workspace, "select count(*) from papers where first_seen_cycle = 1")
        assert first_day == [(len(expected),)]
    else:  # nothing landed: the next cycle redid the work under a new number
        assert statuses == [(1, "aborted"), (2, "committed")]
        assert "died during step" in query(workspace, "select error from cycles")[0][0]
    commits = git(workspace, "log", "--format=%s").splitlines()
    assert len(commits) == (3 if step == "committed" else 2)  # init, then one commit per scan


@pytest.mark.parametrize("step", STEPS)
def test_learn_killed_at_each_step_is_redone_or_recorded_once(
    scanned: Path, step: str, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = scanned
    crash_cycle(workspace, step, "--action", "learn", "--source", "sample")
    next_cycle(capsys, workspace, "learn")
    assert_consistent(workspace)
    learned = query(workspace, "select cycle, paper_id from analyses where kind = 'summary'")
    by_cycle: dict[int, set[str]] = {}
    for cycle, paper_id in learned:
        by_cycle.setdefault(cycle, set()).add(paper_id)
    papers = [paper for group in by_cycle.values() for paper in group]
    assert len(papers) == len(set(papers)), "a paper was summarised twice"
    summarized = {row[0] for row in query(
        workspace, "select id from papers where status in ('summarized', 'queued')")}
    assert set(papers) <= summarized  # the saved status changes were applied, once
    if step == "committed":  # reconcile applied cycle 2's saved changes; cycle 3 learned others
        assert set(by_cycle) == {2, 3}
    else:
        assert set(by_cycle) == {3}


def test_stale_index_lock_of_a_dead_commit_is_cleared(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real_git = shutil.which("git")
    assert real_git is not None
    dying_git = tmp_path / "bin" / "git"
    dying_git.parent.mkdir()
    dying_git.write_text(DYING_GIT.format(git=shlex.quote(real_git)), encoding="utf-8")
    dying_git.chmod(dying_git.stat().st_mode | stat.S_IXUSR)
    path = f"{dying_git.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    crash_cycle(workspace, None, "--action", "scan", "--source", "sample", env={"PATH": path})
    assert (workspace / ".git" / "index.lock").exists()
    assert query(workspace, "select status from cycles") == [("note_written",)]
    next_cycle(capsys, workspace, "scan")
    assert_consistent(workspace)
    assert query(workspace, "select number, status from cycles") == [
        (1, "aborted"), (2, "committed")]


def test_index_lock_of_a_git_still_running_is_left_alone(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = workspace / ".git" / "index.lock"
    lock.write_bytes(b"")  # the researcher's `git commit` has waited in their editor for an hour
    os.utime(lock, (time.time() - 3600, time.time() - 3600))
    failed = subprocess.run(
        [sys.executable, "-m", "agent", "cycle", "-w", str(workspace), "--action", "scan",
         "--source", "sample"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0 and "index.lock" in failed.stderr
    assert lock.exists()
    [(status, error)] = query(workspace, "select status, error from cycles")
    # refused before any work (nothing spent, nothing written), the cause recorded
    assert status == "failed" and "index.lock" in error
    again = run_cli(capsys, "cycle", "-w", str(workspace), "--action", "scan", "--source", "sample")
    assert again.code != 0 and "index.lock" in again.err
    assert lock.exists(), "a cycle removed the lock of a git that is still running"
    lock.unlink()  # the researcher's commit finished
    next_cycle(capsys, workspace, "scan")
    assert_consistent(workspace)
