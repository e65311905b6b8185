"""A scan reads the complete listing of the watched categories (loopback arXiv, real cycles)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.cycle import CycleOptions, run_cycle
from agent.models import Paper, Track
from agent.settings import ArxivSettings
from agent.sources import ScanRequest
from agent.sources.arxiv_api import ArxivSource
from tests.repo import git

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # a Wednesday
# the example tracks of `init` watch these (agent/defaults/tracks.toml)
WATCHED = ("cs.SD", "eess.AS", "cs.CL", "cs.LG")


def paper(n: int, hours_ago: float, cats: tuple[str, ...] = ("cs.CL",), version: int = 1,
          title: str = "") -> Paper:
    """Paper 2603.0NNNN with dull text: it matches no track's keywords, on purpose."""
    when = NOW - timedelta(hours=hours_ago)
    return Paper(
        id=f"2603.{n:05d}",
        title=title or f"On the structure of problem {n}",
        abstract=f"We settle question {n} about finite objects.",
        authors=("A. Author",),
        categories=cats,
        version=version,
        published=when,
        updated=when + timedelta(hours=version - 1),
    )


def listing() -> list[Paper]:
    """23 papers in watched categories (cross-lists included) and 5 outside them."""
    inside = [paper(n, hours_ago=n, cats=(WATCHED[n % 4],)) for n in range(1, 20)]
    inside += [paper(n, hours_ago=n, cats=("math.CO", "cs.LG")) for n in range(20, 24)]
    outside = [paper(n, hours_ago=n, cats=("math.GT",)) for n in range(30, 35)]
    return inside + outside


def stored(workspace: Path) -> dict[str, int]:
    """Stored papers: id -> version (read with sqlite3, as a person would)."""
    with sqlite3.connect(workspace / "state" / "agent.db") as db:
        return dict(db.execute("SELECT id, version FROM papers").fetchall())


def scan(workspace: Path, arxiv_server, now: datetime, **settings: object):  # type: ignore[no-untyped-def]
    overrides = {"arxiv.api_url": arxiv_server.url, "arxiv.page_size": 5, **settings}
    messages: list[str] = []
    outcome = run_cycle(
        workspace,
        CycleOptions(action="scan", overrides=overrides, now=lambda: now, progress=messages.append),
    )
    assert outcome.status == "committed", outcome.error
    return outcome, messages


def note_of(workspace: Path, number: int) -> str:
    return next((workspace / "cycles").rglob(f"{number:04d}-scan.md")).read_text("utf-8")


def test_a_scan_stores_every_listed_paper_across_pages_and_scans(workspace, arxiv_server):
    arxiv_server.add_papers(listing())
    scan(workspace, arxiv_server, NOW)
    first = stored(workspace)
    assert set(first) == {f"2603.{n:05d}" for n in range(1, 24)}  # all 23, keywords or not
    assert len(arxiv_server.requests) == 5  # 23 papers in pages of 5
    queries = {r["search_query"] for r in arxiv_server.requests}
    assert len(queries) == 1 and "cat:cs.CL" in queries.pop()

    # the next day: 7 new papers, one v2 of a paper already stored, all inside the overlap
    arxiv_server.add_papers(paper(n, -(n - 30), cats=("eess.AS",)) for n in range(40, 47))
    arxiv_server.add_papers([paper(3, hours_ago=3, cats=(WATCHED[3],), version=2)])
    arxiv_server.requests.clear()
    outcome, _ = scan(workspace, arxiv_server, NOW + timedelta(days=1))
    second = stored(workspace)
    assert len(second) == 30 and set(first) < set(second)  # no duplicates, nothing lost
    assert second["2603.00003"] == 2  # the replacement updated the stored version
    window = arxiv_server.requests[0]["search_query"]
    assert "submittedDate:[20260301" in window  # the cursor minus the 3-day overlap
    text = note_of(workspace, 2)
    assert "7 new, 1 updated" in text  # a replacement is not new
    assert "cycle 2: scan — 7 new papers" in git(workspace, "log", "-1", "--format=%B")


def test_the_note_counts_listed_and_new_papers_per_watched_category(workspace, arxiv_server):
    arxiv_server.add_papers(listing())
    scan(workspace, arxiv_server, NOW)
    text = note_of(workspace, 1)
    assert "**Watched**: the complete listing of cs.SD, eess.AS, cs.CL, cs.LG" in text
    # n % 4 == 3 -> cs.LG for n = 3, 7, 11, 15, 19, plus the four math.CO cross-lists
    assert "  - cs.LG: 9 listed, 9 new" in text
    assert "  - cs.SD: 4 listed, 4 new" in text  # n = 4, 8, 12, 16
    assert "(5 requests)" in text


def test_the_first_scan_reaches_back_backfill_days(workspace, arxiv_server):
    arxiv_server.add_papers(
        [paper(1, hours_ago=20), paper(2, hours_ago=60), paper(3, hours_ago=5 * 24)]
    )
    scan(workspace, arxiv_server, NOW)  # default backfill: 3 days
    assert set(stored(workspace)) == {"2603.00001", "2603.00002"}
    assert "submittedDate:[202603011800 TO" in arxiv_server.requests[0]["search_query"]


def test_backfill_days_is_a_setting(workspace, arxiv_server):
    arxiv_server.add_papers([paper(1, hours_ago=20), paper(3, hours_ago=5 * 24)])
    scan(workspace, arxiv_server, NOW, **{"arxiv.backfill_days": 6})
    assert set(stored(workspace)) == {"2603.00001", "2603.00003"}


def test_progress_is_reported_per_page(workspace, arxiv_server):
    arxiv_server.add_papers(listing())
    _, messages = scan(workspace, arxiv_server, NOW)
    pages = [m for m in messages if m.startswith("asking arXiv: ")]
    assert pages == [
        f"asking arXiv: cs.SD+eess.AS+cs.CL+1 more page {k}/5, {min(23, 5 * k)} papers"
        for k in range(1, 6)
    ]


def test_a_track_without_categories_is_covered_by_its_own_keyword_query(arxiv_server):
    quantum = Track("quantum", "Quantum", "", ("qubit routing",), 3)
    speech = Track("speech", "Speech", "", ("speech",), 4, categories=("eess.AS",))
    arxiv_server.add_papers(
        [
            paper(1, 2, cats=("quant-ph",), title="Qubit routing on a ring"),
            paper(2, 3, cats=("quant-ph",), title="Unrelated physics"),
            paper(3, 4, cats=("eess.AS",)),
        ]
    )
    source = ArxivSource(ArxivSettings(api_url=arxiv_server.url, delay_seconds=0))
    result = source.fetch_new(ScanRequest([speech, quantum], now=NOW))
    assert sorted(p.id for p in result.papers) == ["2603.00001", "2603.00003"]
    assert result.categories == ["eess.AS"] and result.keyword_tracks == ["quantum"]
    keyword_query = arxiv_server.requests[1]["search_query"]
    assert keyword_query.startswith('(all:"qubit routing") AND submittedDate:[')


def test_the_note_says_which_tracks_had_no_categories(workspace, arxiv_server):
    tracks = workspace / "state" / "tracks.toml"
    tracks.write_text(
        '[[track]]\nid = "quantum"\nname = "Quantum"\npriority = 3\ndescription = "q"\n'
        'keywords = ["qubit routing"]\n',
        "utf-8",
    )
    git(workspace, "commit", "-qam", "a track without categories")
    arxiv_server.add_papers([paper(1, 2, cats=("quant-ph",), title="Qubit routing on a ring")])
    scan(workspace, arxiv_server, NOW)
    text = note_of(workspace, 1)
    assert "**Watched**: no categories" in text
    assert "**By keywords**: quantum (no categories: covered by its own keyword query)" in text
    assert set(stored(workspace)) == {"2603.00001"}


def test_a_failed_page_is_resumed_at_the_offset_reached(arxiv_server):
    arxiv_server.add_papers(listing())
    arxiv_server.pass_next(2)
    arxiv_server.fail_next(503)
    sleeps: list[float] = []
    settings = ArxivSettings(api_url=arxiv_server.url, delay_seconds=0, page_size=5)
    result = ArxivSource(settings, sleep=sleeps.append).fetch_new(
        ScanRequest([Track("t", "T", "", (), 3, categories=WATCHED)], now=NOW)
    )
    assert len(result.papers) == 23 and sleeps == [2.0]
    assert [r["start"] for r in arxiv_server.requests] == ["0", "5", "10", "10", "15", "20"]


@pytest.mark.parametrize("days", [0, 2])
def test_a_short_quiet_spell_is_not_reported(arxiv_server, days):
    source = ArxivSource(ArxivSettings(api_url=arxiv_server.url, delay_seconds=0))
    track = Track("t", "T", "", (), 3, categories=("cs.CL",))
    result = source.fetch_new(ScanRequest([track], since=NOW - timedelta(days=days), now=NOW))
    assert result.notices == []


def test_a_long_backfill_is_asked_for_in_windows_of_a_week(arxiv_server):
    # arXiv serves at most 30,000 results per query: 5 busy categories fill that in ~3 weeks
    arxiv_server.add_papers([paper(1, hours_ago=24), paper(2, hours_ago=20 * 24)])
    settings = ArxivSettings(api_url=arxiv_server.url, delay_seconds=0, backfill_days=30)
    result = ArxivSource(settings).fetch_new(
        ScanRequest([Track("t", "T", "", (), 3, categories=("cs.CL",))], now=NOW)
    )
    assert sorted(p.id for p in result.papers) == ["2603.00001", "2603.00002"]
    windows = [r["search_query"].split("submittedDate:")[1] for r in arxiv_server.requests]
    assert windows == [
        "[202602251900 TO 202603041900]",
        "[202602181900 TO 202602251900]",
        "[202602111900 TO 202602181900]",
        "[202602041900 TO 202602111900]",
        "[202602021800 TO 202602041900]",
    ]


def test_scans_that_find_nothing_new_for_days_say_so_in_the_note(workspace, arxiv_server):
    arxiv_server.add_papers([paper(1, hours_ago=2)])
    scan(workspace, arxiv_server, NOW)
    later = NOW + timedelta(days=2)  # Friday: 2 announcement days, nothing new yet
    scan(workspace, arxiv_server, later)
    assert "announcement days" not in note_of(workspace, 2)
    scan(workspace, arxiv_server, NOW + timedelta(days=6))  # Tuesday: Thu, Fri, Mon, Tue
    text = note_of(workspace, 3)
    assert "arXiv listed no new paper in the watched categories for 4 announcement days" in text


def test_a_shutdown_stops_a_long_listing_between_pages(workspace, arxiv_server):
    arxiv_server.add_papers(listing())
    stop = threading.Event()

    def progress(message: str) -> None:
        if message.startswith("asking arXiv: ") and "page 2/" in message:
            stop.set()  # SIGTERM (or the cycle deadline) while page 2 is being read

    overrides = {"arxiv.api_url": arxiv_server.url, "arxiv.page_size": 5}
    outcome = run_cycle(workspace, CycleOptions(action="scan", overrides=overrides, now=lambda: NOW,
                                                progress=progress, stop=stop))
    assert outcome.status == "aborted"
    assert len(arxiv_server.requests) == 3  # stopped at the next page, not after all 5
    assert not list((workspace / "cycles").rglob("0*-scan.md"))


def test_a_scan_tokenizes_only_the_papers_new_to_the_store(workspace, arxiv_server):
    """Ranking cost grows with what is new, not with the store or the overlap re-read."""
    from agent.rank.index import VOCABULARY

    arxiv_server.add_papers(listing())
    scan(workspace, arxiv_server, NOW)
    before = VOCABULARY.papers
    # the next day re-lists all 23 (the overlap), plus 2 new papers and one v2
    arxiv_server.add_papers(paper(n, -(n - 30), cats=("eess.AS",)) for n in range(40, 42))
    arxiv_server.add_papers([paper(5, hours_ago=5, cats=(WATCHED[1],), version=2)])
    scan(workspace, arxiv_server, NOW + timedelta(days=1))
    assert VOCABULARY.papers - before == 3  # 2 new + 1 new version; the 22 others are not read
    before = VOCABULARY.papers
    scan(workspace, arxiv_server, NOW + timedelta(days=1, hours=1))  # nothing new at all
    assert VOCABULARY.papers == before
