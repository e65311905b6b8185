"""`research-agent run` as a real process: cycles on a schedule, signals, crashes, failures.

The daemon is a subprocess (`python -m agent run ...`); the outside world is the loopback arXiv
and LLM servers running in this test process, which the subprocess reaches through
ARXIV_API_URL and OPENAI_BASE_URL. Nothing sleeps for a fixed time: every wait polls a condition
(a request reached the fake LLM, the process exited) against a deadline. The deadlines are
generous safety nets (120 s) that only a broken feature reaches, never a figure a passing run must
beat: a loaded CI machine must not fail these tests, and no test asserts how long something took.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.config import load_settings
from agent.tracks import load_tracks
from tests.cli import run_cli
from tests.corpus import SECRET, audio_papers
from tests.repo import git

# Real agent processes, started, signalled and killed: 5-17 s each. `pytest -m slow` runs them
# (CI does, after the fast suite); the default `pytest` leaves them out.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
LOG_LINE = re.compile(
    r"cycle (\d+) (committed|rested|failed|aborted): ([a-z-]+), ([\d,]+) papers?, ([\d,]+) tokens, "
    r"(\d+\.\d)s, commit ([0-9a-f]{7}|-) \((.+)\)$"
)


def wait_for(condition: Callable[[], object], timeout: float = 120.0, what: str = "") -> None:
    """Poll `condition` until it is true; fail the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.02)


def query(workspace: Path, sql: str, *args: object) -> list[tuple]:  # type: ignore[type-arg]
    """Rows from the workspace's SQLite store."""
    db = sqlite3.connect(workspace / "state" / "agent.db")
    try:
        return list(db.execute(sql, args))
    finally:
        db.close()


def cycles(workspace: Path) -> list[tuple]:  # type: ignore[type-arg]
    """(number, action, status, commit sha, error) of every cycle record, oldest first."""
    return query(workspace,
                 "select number, action, status, commit_sha, error from cycles order by number")


def cycle_commits(workspace: Path) -> list[str]:
    """Subjects of the cycle commits, newest first."""
    return [s for s in git(workspace, "log", "--format=%s").splitlines() if s.startswith("cycle ")]


class Agent:
    """A `python -m agent ...` subprocess with its stderr in a file (a pipe could fill up)."""

    def __init__(self, workspace: Path, *args: str):
        self.stderr_path = workspace.parent / f"agent-{time.monotonic_ns()}.err"
        with open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agent", *args], cwd=ROOT, env=dict(os.environ),
                stdout=subprocess.DEVNULL, stderr=stderr)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float = 120.0) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"process still running after {timeout}s; stderr:\n{self.stderr()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def start_agent() -> Iterator[Callable[..., Agent]]:
    """Start agent subprocesses; any still alive at the end of the test is killed."""
    started: list[Agent] = []

    def start(workspace: Path, *args: str) -> Agent:
        started.append(Agent(workspace, *args))
        return started[-1]

    yield start
    for agent in started:
        agent.stop()


@pytest.fixture
def servers(arxiv_server, openai_server, fulltext_server, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Loopback arXiv (real papers re-dated to now), full text and LLM, for subprocesses too.

    A subprocess is not under pytest-socket: every URL it could reach must point here.
    """
    arxiv_server.add_papers(audio_papers())
    monkeypatch.setenv("ARXIV_API_URL", arxiv_server.url)
    monkeypatch.setenv("ARXIV_HTML_URL", fulltext_server.html_url)
    monkeypatch.setenv("ARXIV_PDF_URL", fulltext_server.pdf_url)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return arxiv_server, openai_server


@pytest.fixture
def scanned(workspace: Path, servers, capsys: pytest.CaptureFixture[str]) -> Path:  # type: ignore[no-untyped-def]
    """A workspace after one scan: the policy's next choice is learn (the LLM's turn)."""
    assert run_cli(capsys, "cycle", "-w", str(workspace), "--action", "scan").code == 0
    with open(workspace / "research.toml", "a", encoding="utf-8") as toml:
        toml.write("shutdown_grace = 1\n")  # [schedule] is the last table: keep SIGTERM tests short
    assert load_settings(workspace).schedule.shutdown_grace == 1
    git(workspace, "commit", "--quiet", "-m", "shorter shutdown grace", "research.toml")
    return workspace


def start_learning(start_agent, workspace: Path, openai_server, *args: str) -> Agent:  # type: ignore[no-untyped-def]
    """A daemon caught inside its learn cycle's first (slow) LLM call.

    Every 1s: the scan just ended, and a daemon waits one interval after the last cycle.
    """
    openai_server.delay_next(600.0)  # held until the test calls release()
    daemon = start_agent(workspace, "run", "-w", str(workspace), "--every", "1s", *args)
    wait_for(lambda: openai_server.requests or daemon.proc.poll() is not None,
             what="the daemon's first LLM request")
    assert daemon.proc.poll() is None, daemon.stderr()
    return daemon


def test_run_makes_three_committed_cycles_and_logs_one_line_each(
    workspace: Path, servers, start_agent  # type: ignore[no-untyped-def]
) -> None:
    arxiv, llm = servers
    daemon = start_agent(workspace, "run", "-w", str(workspace), "--every", "2s",
                         "--max-cycles", "3")
    assert daemon.wait() == 0, daemon.stderr()
    records = cycles(workspace)
    assert [(n, status) for n, _, status, _, _ in records] == [
        (1, "committed"), (2, "committed"), (3, "committed")]
    actions = [action for _, action, *_ in records]
    assert actions[:2] == ["scan", "learn"] and actions[2] in ("learn", "deep-read")
    subjects = cycle_commits(workspace)
    assert [s.split(":")[0] for s in subjects] == ["cycle 3", "cycle 2", "cycle 1"]
    assert git(workspace, "status", "--porcelain") == ""
    assert arxiv.requests and llm.requests
    logged = [LOG_LINE.search(line) for line in
              (workspace / "state" / "agent.log").read_text(encoding="utf-8").splitlines()]
    lines = [m for m in logged if m]
    assert [m.group(1, 2, 3) for m in lines] == [
        ("1", "committed", "scan"), ("2", "committed", "learn"), ("3", "committed", actions[2])]
    for match, (_, _, _, sha, _) in zip(lines, records, strict=True):
        assert sha.startswith(match.group(7))  # type: ignore[union-attr]
        papers = int(match.group(4).replace(",", ""))
        assert papers > 0 and match.group(8)  # papers, and the policy's reason
    assert int(lines[1].group(5).replace(",", "")) > 0  # a learn cycle spent LLM tokens
    assert "cycle 3 committed" in daemon.stderr()  # stderr gets the same lines


def test_while_the_daemon_works_a_second_cycle_is_refused_but_quick_edits_work(
    scanned: Path, servers, start_agent, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    arxiv, llm = servers
    daemon = start_learning(start_agent, scanned, llm, "--max-cycles", "1")
    refused = run_cli(capsys, "cycle", "-w", str(scanned), "--action", "rest")
    assert refused.code != 0 and str(daemon.pid) in refused.err
    status = run_cli(capsys, "status", "-w", str(scanned), "--json")
    assert status.code == 0 and f'"pid": {daemon.pid}' in status.out
    paper = audio_papers(1)[0].id
    for edit in (("queue", "add", paper, "--priority", "5"), ("rate", paper, "up"),
                 ("tracks", "set-priority", "speech-benchmarks", "3")):
        result = run_cli(capsys, *edit, "-w", str(scanned))
        assert result.code == 0, (edit, result.err)
    assert git(scanned, "log", "-1", "--format=%s").startswith("tracks: speech-benchmarks")
    llm.release()  # the slow call answers; the daemon finishes its one cycle and exits
    assert daemon.wait() == 0, daemon.stderr()
    assert [(n, a, s) for n, a, s, _, _ in cycles(scanned)] == [
        (1, "scan", "committed"), (2, "learn", "committed")]
    assert git(scanned, "status", "--porcelain") == ""  # the edit is committed, not swept away
    priorities = {t.id: t.priority for t in load_tracks(scanned / "state" / "tracks.toml")}
    assert priorities["speech-benchmarks"] == 3
    assert query(scanned, "select added_by from queue where paper_id = ?", paper) == [("user",)]
    assert query(scanned, "select value from ratings where paper_id = ?", paper) == [(1,)]


def test_sigterm_during_a_slow_llm_call_exits_cleanly_and_numbering_goes_on(
    scanned: Path, servers, start_agent, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    arxiv, llm = servers
    head = git(scanned, "rev-parse", "HEAD").strip()
    daemon = start_learning(start_agent, scanned, llm)
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.stderr()
    assert llm.held == 1  # it exited without waiting for the LLM's answer
    assert git(scanned, "status", "--porcelain") == ""
    assert git(scanned, "rev-parse", "HEAD").strip() == head
    assert cycles(scanned)[-1][:3] == (2, "learn", "aborted")
    llm.release()
    after = run_cli(capsys, "cycle", "-w", str(scanned))
    assert after.code == 0, after.err
    assert cycles(scanned)[-1][:3] == (3, "learn", "committed")
    assert cycle_commits(scanned)[0].startswith("cycle 3: learn")
    assert git(scanned, "status", "--porcelain") == ""


def test_kill_9_mid_learn_is_followed_by_a_normal_cycle_with_one_new_commit(
    scanned: Path, servers, start_agent, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    arxiv, llm = servers
    head = git(scanned, "rev-parse", "HEAD").strip()
    daemon = start_learning(start_agent, scanned, llm)
    daemon.proc.kill()
    assert daemon.wait() == -signal.SIGKILL
    llm.release()
    after = run_cli(capsys, "cycle", "-w", str(scanned))
    assert after.code == 0, after.err
    new = git(scanned, "rev-list", f"{head}..HEAD").split()
    assert len(new) == 1
    assert "Cycle: 3" in git(scanned, "log", "-1", "--format=%B")
    assert [(n, s) for n, _, s, _, _ in cycles(scanned)] == [
        (1, "committed"), (2, "aborted"), (3, "committed")]
    assert git(scanned, "status", "--porcelain") == ""
    assert len(list((scanned / "cycles").rglob("0*-learn.md"))) == 1


def test_arxiv_down_fails_a_cycle_but_not_the_daemon(
    workspace: Path, servers, start_agent, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    arxiv, llm = servers
    arxiv.fail_next(503, times=1000, headers={"Retry-After": "0"})
    daemon = start_agent(workspace, "run", "-w", str(workspace), "--every", "1s",
                         "--max-cycles", "3")
    assert daemon.wait() == 0, daemon.stderr()
    (first, action, status, sha, error), *later = cycles(workspace)
    assert (first, action, status, sha) == (1, "scan", "failed", None)
    assert "503" in (error or "") and arxiv.url in (error or "")
    # The policy backs off (15 min after one failure), and its own rest does not end the backoff.
    assert [(n, s) for n, _, s, _, _ in later] == [(2, "rested"), (3, "rested")]
    assert cycle_commits(workspace) == []
    assert git(workspace, "status", "--porcelain") == ""
    log = (workspace / "state" / "agent.log").read_text(encoding="utf-8")
    assert re.search(r"cycle 1 failed: scan, 0 papers", log)
    assert re.search(r"cycle 3 rested: rest, 0 papers, 0 tokens, .*backing off", log)
    arxiv._script.clear()  # arXiv is back (the fake has no public switch: its script is a list)
    after = run_cli(capsys, "cycle", "-w", str(workspace), "--action", "scan")
    assert after.code == 0, after.err
    assert cycles(workspace)[-1][:3] == (4, "scan", "committed")


def test_llm_down_falls_back_to_the_offline_analyst_and_the_note_says_so(
    scanned: Path, servers, start_agent  # type: ignore[no-untyped-def]
) -> None:
    arxiv, llm = servers
    llm.fail_next(500, times=1000)
    daemon = start_agent(scanned, "run", "-w", str(scanned), "--every", "1s",
                         "--max-cycles", "2")
    assert daemon.wait() == 0, daemon.stderr()
    records = cycles(scanned)
    assert [(n, s) for n, _, s, _, _ in records] == [
        (1, "committed"), (2, "committed"), (3, "committed")]
    assert records[1][1] == "learn"
    notes = sorted(p for p in (scanned / "cycles").rglob("0*.md") if "scan" not in p.name)
    assert len(notes) == 2
    for note in notes:
        text = note.read_text(encoding="utf-8")
        assert "analyst: llm+offline" in text
        assert "The LLM failed" in text and "offline analyst" in text
    assert git(scanned, "status", "--porcelain") == ""
