"""The arXiv API misbehaving (issue 10): trickles, non-feed 200s, bad entries, future dates,
absurd keyword lists; and the one private touch of the arxiv package, watched."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import arxiv
import pytest

from agent.cycle import CycleOptions, run_cycle
from agent.errors import SourceError
from agent.models import Paper, Track
from agent.settings import ArxivSettings
from agent.sources import ScanRequest
from agent.sources.arxiv_api import ArxivSource
from agent.sources.arxiv_http import BoundedSession, Response, attach_session
from agent.sources.arxiv_query import QueryTooLong
from tests.fakes.arxiv_server import render_feed
from tests.repo import git

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv-api"
NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
CL = Track("cl", "CL", "", ("language",), 3, categories=("cs.CL",))
HTML = b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head><body>busy"


def paper(n: int, hours_ago: float = 1.0, **kw: object) -> Paper:
    when = NOW - timedelta(hours=hours_ago)
    fields: dict = {
        "id": f"2603.{n:05d}", "title": f"Paper {n}", "abstract": "Text.", "categories": ("cs.CL",),
        "published": when, "updated": when,
    }
    fields.update(kw)
    return Paper(**fields)


def source_for(url: str, **overrides: object) -> tuple[ArxivSource, list[float]]:
    options: dict = {"api_url": url, "delay_seconds": 0, "timeout_seconds": 2.0, "max_retries": 2}
    options.update(overrides)
    sleeps: list[float] = []
    return ArxivSource(ArxivSettings(**options), sleep=sleeps.append), sleeps


def feed(papers: list[Paper]) -> str:
    return render_feed({}, papers, len(papers), 0, 100)


# --- a 200 that is not a feed fails the fetch ------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [HTML, b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><entry><id>x"],
    ids=["html", "truncated-xml"],
)
def test_a_200_that_is_not_a_feed_is_retried_then_fails(arxiv_server, body):
    arxiv_server.add_papers([paper(1)])
    for _ in range(3):
        arxiv_server.serve_bytes(body, "text/html")
    source, sleeps = source_for(arxiv_server.url)
    with pytest.raises(SourceError, match="not a feed") as info:
        source.fetch_new(ScanRequest([CL], now=NOW))
    assert info.value.retryable and sleeps == [2.0, 4.0] and len(arxiv_server.requests) == 3


def test_a_real_feed_cut_short_is_retried_not_half_read(arxiv_server):
    real = (FIXTURES / "2026_api_search_query_all_testing_start0_max10.xml").read_bytes()
    arxiv_server.serve_bytes(real[: len(real) // 2])  # a connection dropped mid-body
    arxiv_server.add_papers([paper(1)])
    source, sleeps = source_for(arxiv_server.url)
    result = source.fetch_new(ScanRequest([CL], now=NOW))  # the retry gets a whole feed
    assert [p.id for p in result.papers] == ["2603.00001"] and sleeps == [2.0]


def test_a_cycle_whose_scan_gets_html_commits_nothing(workspace, arxiv_server):
    head = git(workspace, "rev-parse", "HEAD")
    for _ in range(5):
        arxiv_server.serve_bytes(HTML, "text/html")
    overrides = {"arxiv.api_url": arxiv_server.url, "arxiv.max_retries": 0}
    outcome = run_cycle(workspace, CycleOptions(action="scan", overrides=overrides))
    assert outcome.status == "failed" and "HTML page" in (outcome.error or "")
    assert git(workspace, "rev-parse", "HEAD") == head
    assert not list((workspace / "cycles").rglob("0*-scan.md"))


# --- one bad entry is skipped, its neighbours kept -------------------------------------------


def test_entries_with_invalid_ids_are_skipped_and_their_neighbours_kept(arxiv_server, caplog):
    arxiv_server.add_papers(paper(n) for n in range(1, 6))

    def broken(query: dict[str, str]) -> bytes:  # the same entries are bad whenever served
        text = arxiv_server.answer(query).body.decode()
        for n, bad in [(2, "http://arxiv.org/abs/../../etc/passwd"), (3, "javascript:alert(1)"),
                       (4, "")]:
            text = text.replace(f"<id>http://arxiv.org/abs/2603.{n:05d}v1</id>", f"<id>{bad}</id>")
        return text.encode()

    arxiv_server.serve_with(broken, times=10)
    source, _ = source_for(arxiv_server.url)
    with caplog.at_level(logging.WARNING):
        result = source.fetch_new(ScanRequest([CL], now=NOW))
    assert sorted(p.id for p in result.papers) == ["2603.00001", "2603.00005"]
    assert "etc/passwd" in caplog.text and "javascript:alert(1)" in caplog.text


# --- feed dates are clamped -------------------------------------------------------------------


def test_a_future_dated_entry_does_not_stop_the_next_scan(arxiv_server):
    future = paper(9, published=datetime(2099, 1, 1, tzinfo=UTC))
    arxiv_server.serve_bytes(feed([future, paper(1)]).encode())
    source, _ = source_for(arxiv_server.url)
    first = source.fetch_new(ScanRequest([CL], now=NOW))
    assert first.cursor is not None and first.cursor <= NOW + timedelta(hours=1)
    assert all(p.published and p.published <= NOW for p in first.papers)
    arxiv_server.add_papers([paper(2, hours_ago=-20)])  # announced the next day
    later = NOW + timedelta(days=1)
    second = source.fetch_new(ScanRequest([CL], since=first.cursor, now=later))
    assert "2603.00002" in [p.id for p in second.papers]


def test_several_silent_announcement_days_are_reported(arxiv_server, caplog):
    source, _ = source_for(arxiv_server.url)
    since = NOW - timedelta(days=6)  # Thursday to Wednesday: 4 weekdays
    with caplog.at_level(logging.WARNING):
        result = source.fetch_new(ScanRequest([CL], since=since, now=NOW))
    assert result.papers == [] and result.cursor == since
    [notice] = result.notices
    assert "no new paper in the watched categories for 4 announcement days" in notice
    assert "4 announcement days" in caplog.text


# --- total deadlines --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["body", "headers", "silent"])
def test_a_trickled_or_silent_api_ends_by_the_deadline(trickle_server, mode):
    server = trickle_server(mode=mode, interval=0.05)
    source, sleeps = source_for(server.url + "api/query", timeout_seconds=0.5, max_retries=1)
    started = time.monotonic()
    with pytest.raises(SourceError, match="timed out") as info:
        source.fetch_new(ScanRequest([CL], now=NOW))
    assert time.monotonic() - started < 20  # 2 × 0.5 s deadlines; the trickle would take 200 s
    assert info.value.retryable and sleeps == [2.0]


# --- bounded queries --------------------------------------------------------------------------


def test_a_track_with_50k_keywords_is_refused_naming_it(arxiv_server, caplog):
    huge = Track("huge", "Huge", "", tuple(f"keyword {n}" for n in range(50_000)), 3)
    source, _ = source_for(arxiv_server.url)
    with pytest.raises(QueryTooLong) as info:
        source.fetch_new(ScanRequest([CL, huge], now=NOW))
    message = str(info.value)
    assert "track 'huge' (50,000 keywords)" in message and len(message) < 600
    with pytest.raises(QueryTooLong, match="track 'huge'"):
        source.search(huge, 10)
    assert arxiv_server.requests == []  # refused before asking: no HTTP 414
    assert all(len(r.getMessage()) < 1000 for r in caplog.records)


# --- the adapter: the only private touch of the arxiv package ----------------------------------


def test_arxiv_still_fetches_through_client_session_get(arxiv_server):
    """If an arxiv upgrade stops calling `_session.get`, our deadline and checks are bypassed:
    this fails loudly then (pyproject pins arxiv 4.x)."""
    arxiv_server.add_papers([paper(1)])
    calls: list[str] = []

    class Spy(BoundedSession):
        def get(self, url: str, headers: dict[str, str] | None = None, **kw: object) -> Response:
            calls.append(url)
            return super().get(url, headers=headers)

    client = arxiv.Client(page_size=10, delay_seconds=0, num_retries=0)
    client.query_url_format = arxiv_server.url + "?{}"
    attach_session(client, Spy(2.0))
    results = list(client.results(arxiv.Search("cat:cs.CL", max_results=5), offset=0))
    assert [r.entry_id for r in results] == ["http://arxiv.org/abs/2603.00001v1"]
    assert len(calls) == 1 and calls[0].startswith(arxiv_server.url)


def test_no_module_of_ours_imports_requests_or_lxml():
    agent = Path(__file__).parent.parent / "agent"
    for path in agent.rglob("*.py"):
        text = path.read_text("utf-8")
        assert "import requests" not in text and "from lxml" not in text, path



# --- absurd [arxiv] settings are refused with their names --------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("delay_seconds = inf", "arxiv.delay_seconds"),
        ("delay_seconds = 1e12", "arxiv.delay_seconds"),
        ("timeout_seconds = inf", "arxiv.timeout_seconds"),
        ("timeout_seconds = nan", "arxiv.timeout_seconds"),
        ("max_retries = 1000000", "arxiv.max_retries"),
        ("overlap_days = 100000", "arxiv.overlap_days"),
        ("backfill_days = 0", "arxiv.backfill_days"),
        ("backfill_days = 100000", "arxiv.backfill_days"),
    ],
)
def test_absurd_arxiv_settings_are_refused_naming_them(workspace: Path, text: str, name: str):
    from agent.config import load_settings
    from agent.errors import ConfigError

    (workspace / "research.toml").write_text(f"[arxiv]\n{text}\n", "utf-8")
    expected = rf"research.toml: {name} = .* must be (at least|greater than) .* and at most"
    with pytest.raises(ConfigError, match=expected):
        load_settings(workspace, environ={})


def test_an_infinite_delay_from_the_environment_is_refused(workspace: Path):
    from agent.config import load_settings
    from agent.errors import ConfigError

    with pytest.raises(ConfigError, match="arxiv.delay_seconds"):
        load_settings(workspace, environ={"ARXIV_DELAY_SECONDS": "inf"})
