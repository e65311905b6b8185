"""Field velocity: relevant papers per track in 2, 6 and 12 weeks, up or down on the span before."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.config import load_settings
from agent.models import Match, Paper
from agent.store import Store
from agent.tracks import load_tracks
from agent.velocity import Window, field_velocity
from tests.cli import run_cli

NOW = datetime(2026, 2, 27, tzinfo=UTC)


def days_ago(*days: int, track: str = "t") -> list[tuple[str, str, datetime]]:
    return [(f"p{track}{i}", track, NOW - timedelta(days=d)) for i, d in enumerate(days)]


def test_counts_and_trend_per_window() -> None:
    # counted up to the newest paper (a day ago): 3 in the last 2 weeks, 1 in the 2 before, ...
    arrivals = days_ago(1, 5, 13, 20, 50, 60, 100, 120, 130, 140, 150)
    [pace] = field_velocity(arrivals, ["t"], NOW, oldest=NOW - timedelta(days=400))
    assert pace.windows == (Window(2, 3, 1), Window(6, 4, 2), Window(12, 6, 5))
    assert [w.trend for w in pace.windows] == ["up", "up", "up"]
    assert pace.text() == (
        "3 in 2 weeks (up from 1), 4 in 6 weeks (up from 2), 6 in 12 weeks (up from 5)"
    )
    assert pace.short() == "3↑ 4↑ 6↑"
    [calm] = field_velocity(days_ago(1, 20, 30), ["t"], NOW, oldest=NOW - timedelta(days=400))
    assert calm.windows[0].text() == "1 in 2 weeks (as many as the 2 before)"
    assert calm.short().startswith("1=")


def test_no_trend_where_the_store_does_not_reach_back() -> None:
    arrivals = days_ago(1, 2, 20)  # the store starts 30 days ago
    [pace] = field_velocity(arrivals, ["t"], NOW, oldest=NOW - timedelta(days=30))
    assert pace.windows[0] == Window(2, 2, 1)  # 2 weeks and the 2 before: covered
    assert pace.windows[1].before is None and not pace.windows[1].covered
    assert pace.text() == "2 in 2 weeks (up from 1)"
    assert pace.short() == "2↑ - -"
    [young] = field_velocity(days_ago(1, 2), ["t"], NOW, oldest=NOW - timedelta(days=9))
    assert young.text() == "2 since 2026-02-18 (the store reaches back no further)"
    assert young.short() == "2 in 8d"  # oldest to the newest paper (a day ago)


def test_counts_up_to_the_newest_paper_and_each_paper_once() -> None:
    """A replayed sample is 'now' at its last listing: the clock does not empty every window."""
    arrivals = days_ago(300, 301) + days_ago(300)  # the same paper twice counts once
    [pace] = field_velocity(arrivals, ["t", "other"], NOW, oldest=NOW - timedelta(days=500))[:1]
    assert pace.as_of == NOW - timedelta(days=300) and pace.windows[0].count == 2


def test_windows_count_as_their_definition_says_at_every_edge() -> None:
    """A span is (start, as_of]: a paper on a window's first edge belongs to the span before.
    Counted from sorted dates (one pass per track at 24k relevant papers a year), the counts
    equal the definition's, on dates exactly at the edges and between them."""
    edges = [0, 14, 28, 42, 84, 168]  # as_of and each span's start, in days back
    days = sorted({d + shift for d in edges for shift in (-1, 0, 1) if d + shift >= 0})
    arrivals = days_ago(*days) + days_ago(3, 15, track="u")
    oldest = NOW - timedelta(days=400)
    pace = {v.track_id: v for v in field_velocity(arrivals, ["t", "u"], NOW, oldest)}
    for track in ("t", "u"):
        dates = [when for _, t, when in arrivals if t == track]
        for w in pace[track].windows:
            start, earlier = NOW - timedelta(weeks=w.weeks), NOW - timedelta(weeks=2 * w.weeks)
            assert w.count == sum(1 for d in dates if start < d <= NOW), (track, w)
            assert w.before == sum(1 for d in dates if earlier < d <= start), (track, w)
    assert pace["t"].windows[0] == Window(2, 3, 3)  # 0, 1, 13 days back; 14, 15, 27 before


def test_store_arrivals_feed_the_tracks_command(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(workspace)
    track = load_tracks(settings.tracks_path)[0].id
    old = datetime.now(UTC) - timedelta(days=200)
    papers = [Paper(f"2601.{i:05d}", f"T{i}", "A.", published=datetime.now(UTC) - timedelta(days=d))
              for i, d in enumerate([1, 3, 5, 20, 200])]
    with Store(settings.database_url) as store:
        store.upsert_papers(papers)
        store.save_matches(Match(p.id, track, 0.9, True, ("x",)) for p in papers)
        pairs, oldest = store.arrivals()
    assert len(pairs) == 5 and oldest is not None and abs((oldest - old).days) <= 1
    result = run_cli(capsys, "tracks", "-w", str(workspace), "--json")
    assert result.code == 0, result.err
    [row] = [r for r in json.loads(result.out) if r["id"] == track]
    assert [w["count"] for w in row["velocity"]["windows"]] == [3, 4, 4]
    assert [w["trend"] for w in row["velocity"]["windows"]] == ["up", "up", "up"]
    table = run_cli(capsys, "tracks", "-w", str(workspace)).out
    assert "3↑ 4↑ 4↑" in table
