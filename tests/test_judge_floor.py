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


# --- the policy learns while the judge has candidates -------------------------------------------


def read_relevant(workspace: Path) -> None:
    """Mark every paper relevant to a track as summarised: only papers below the threshold wait."""
    db = sqlite3.connect(workspace / "state" / "agent.db")
    try:
        db.execute("update papers set status = 'summarized' where id in "
                   "(select paper_id from scores where relevant)")
        db.commit()
    finally:
        db.close()


def policy_view(workspace: Path) -> tuple[list[Any], Any, int]:
    """(the snapshot's candidates the next learn would choose from, the policy's decision, the
    count `status` shows) for the workspace as it is."""
    from datetime import UTC, datetime

    from agent.config import load_settings
    from agent.snapshot import decide, take_snapshot
    from agent.status import active_track_ids
    from agent.store import Store
    from agent.waiting import waiting_counts
    from agent.workspace import Workspace

    settings = load_settings(workspace)
    tracks = load_tracks(settings.tracks_path)
    now = datetime.now(UTC)
    with Store(settings.database_url) as store:
        eligible = [c for c in take_snapshot(store, tracks, settings, now).candidates
                    if c.relevant]
        decision = decide(store, tracks, settings, now, source="sample")
        judging = settings.llm.enabled
        shown, _ = waiting_counts(store, active_track_ids(Workspace(workspace)), judging,
                                  settings.learn.judge_floor)
    return eligible, decision, shown


def test_with_a_judge_the_policy_learns_while_papers_at_the_floor_wait(radar: Path) -> None:
    read_relevant(radar)
    eligible, decision, shown = policy_view(radar)
    assert 0 < len(eligible) == shown < 500  # the policy and status count alike
    assert decision.action == "learn"
    assert f"{len(eligible)} candidates for the judge waiting" in decision.reason
    assert all(c.score >= FLOOR for c in eligible)


def test_without_a_judge_papers_below_the_threshold_do_not_make_a_learn(scanned: Path) -> None:
    read_relevant(scanned)
    eligible, decision, shown = policy_view(scanned)
    assert eligible == [] and shown == 0
    assert decision.action != "learn"


def test_papers_the_judge_turned_down_are_not_candidates_and_kept_ones_are(
    radar: Path, openai_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    def judge(request: dict[str, Any]) -> dict[str, Any] | None:
        if request["response_format"]["json_schema"]["name"] != "Judgements":
            return None
        ids = JUDGED_RE.findall(str(request["messages"][-1]["content"]))
        return {"items": [{"paper_id": pid, "track_id": "listen-vs-guess",
                           "score": 8 if i % 2 else 2, "reason": "r"}
                          for i, pid in enumerate(ids)]}

    openai_server.respond_with(judge)
    learn(capsys, radar)
    verdicts = dict(rows(radar, "select paper_id, json_extract(payload, '$.score') "
                                "from analyses where kind = 'judgement'"))
    status = dict(rows(radar, "select id, status from papers"))
    eligible, _, shown = policy_view(radar)
    ids = {c.paper_id for c in eligible}
    assert shown == len(eligible)
    assert not {pid for pid, score in verdicts.items() if score < 5} & ids
    kept = {pid for pid, score in verdicts.items() if score >= 5 and status[pid] == "ranked"}
    assert kept and kept <= ids
