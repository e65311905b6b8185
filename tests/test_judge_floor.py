"""With an LLM judge, a learn cycle's candidates reach down to `[learn] judge_floor`, not only to
the ranker's relevance threshold: the judge, not the threshold, decides what is worth reading.

Across 36 graded tracks the threshold (0.5) leaves a third of the core papers out of every
learn cycle whatever their rank (`python bench/ranking_quality.py` prints "core papers a learn
cycle can reach"); the judge reads a paper once, so reading further down costs tokens only once.
Whole learn cycles through the CLI, against the loopback LLM (the real openai client over HTTP).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent.rank.worth import worth
from agent.settings import LearnSettings
from agent.tracks import active_tracks, load_tracks
from tests.cli import run_cli
from tests.fakes.openai_server import FakeOpenAIServer

SECRET = "sk-test-judge-floor-0123456789"
JUDGED_RE = re.compile(r"^- paper_id: (\S+) \(ranker: ", re.MULTILINE)
FLOOR = LearnSettings().judge_floor


@pytest.fixture
def radar(scanned: Path, openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The scanned sample with the shipped tracks, the LLM pointed at the loopback fake."""
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return scanned


def judged(server: FakeOpenAIServer) -> list[str]:
    return [pid for r in server.requests
            if r["response_format"]["json_schema"]["name"] == "Judgements"
            for pid in JUDGED_RE.findall(str(r["messages"][-1]["content"]))]


def rows(workspace: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(workspace / "state" / "agent.db")
    try:
        return list(db.execute(sql))
    finally:
        db.close()


def expected_pool(workspace: Path, floor: float | None, limit: int) -> list[str]:
    """The `limit` unread papers worth most (score x priority) among their scores of at least
    `floor` on an active track (None: their relevant scores), read from the store directly,
    counting the papers a learn cycle just summarised as unread (its scores are saved)."""
    priority = {t.id: t.priority
                for t in active_tracks(load_tracks(workspace / "state" / "tracks.toml"))}
    value: dict[str, float] = {}
    for pid, track, score, relevant in rows(
        workspace, "select s.paper_id, s.track_id, s.score, s.relevant from scores s "
                   "join papers p on p.id = s.paper_id "
                   "where p.status in ('ranked', 'summarized', 'queued')"):
        if track in priority and (relevant if floor is None else score >= floor):
            value[pid] = max(value.get(pid, 0.0), worth(score, priority[track]))
    return sorted(value, key=lambda pid: (-value[pid], pid))[:limit]


def learn(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    run = run_cli(capsys, "cycle", "-w", str(workspace), "--action", "learn", "--source", "sample")
    assert run.code == 0, run.err


def test_the_judge_reads_candidates_below_the_relevance_threshold_down_to_the_floor(
    radar: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    learn(capsys, radar)
    relevant = expected_pool(radar, None, 1000)
    assert 0 < len(relevant) < 50  # the shipped tracks: a few relevant papers, a shortlist of 50

    seen = judged(openai_server)
    assert sorted(seen) == sorted(expected_pool(radar, FLOOR, 50))
    assert len(seen) == 50
    assert set(relevant) <= set(seen)  # the ranker's relevant papers come first
    assert len(set(seen) - set(relevant)) == 50 - len(relevant)  # then the floor's, not judged
    # before: the judge read only the relevant ones


def test_a_floor_at_the_threshold_judges_only_relevant_papers(
    radar: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = radar / "research.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("[learn]\n", "[learn]\njudge_floor = 0.5\n", 1),
                        encoding="utf-8")
    learn(capsys, radar)
    assert sorted(judged(openai_server)) == sorted(expected_pool(radar, None, 50))


def test_without_a_judge_only_relevant_papers_are_summarised(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The offline analyst summarises what it picks, unjudged: the ranker's bar stays."""
    relevant = expected_pool(scanned, None, 5)
    learn(capsys, scanned)
    summarised = [pid for (pid,) in rows(scanned, "select paper_id from analyses "
                                                  "where kind = 'summary'")]
    assert sorted(summarised) == sorted(relevant)


def test_a_floor_out_of_range_is_refused_naming_the_setting(
    scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(scanned / "research.toml", scanned / "research.toml.bak")
    settings = scanned / "research.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("[learn]\n", "[learn]\njudge_floor = 0\n", 1),
                        encoding="utf-8")
    run = run_cli(capsys, "cycle", "-w", str(scanned), "--action", "learn", "--source", "sample")
    assert run.code != 0
    assert "judge_floor" in run.err
