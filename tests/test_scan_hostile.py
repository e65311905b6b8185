"""The complete-listing scan against a hostile or broken arXiv feed (loopback HTTP, real arxiv
client): lying totals, bad dates, bad ids, odd categories, huge bodies and texts. Whatever the
feed says, the scan ends in bounded time, keeps every good entry, stores each paper once at its
highest version, never moves its cursor past its own clock, and a failed scan writes nothing."""

from __future__ import annotations

import gzip
import logging
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.cycle import CycleOptions, run_cycle
from agent.errors import SourceError
from agent.models import Paper, Track
from agent.settings import ArxivSettings
from agent.sources import ScanRequest
from agent.sources.arxiv_api import ArxivSource
from agent.sources.ids import is_versionless_id
from tests.fakes.arxiv_server import ArxivServer, render_feed
from tests.repo import git

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # a Wednesday
CL = Track("cl", "CL", "", (), 3, categories=("cs.CL",))


def paper(n: int, hours_ago: float = 1.0, **kw: object) -> Paper:
    when = NOW - timedelta(hours=hours_ago)
    fields: dict = {
        "id": f"2603.{n:05d}", "title": f"On problem {n}", "abstract": "We settle it.",
        "authors": ("A. Author",), "categories": ("cs.CL",), "published": when, "updated": when,
    }
    fields.update(kw)
    return Paper(**fields)


def corpus(count: int) -> list[Paper]:
    return [paper(n, hours_ago=n) for n in range(1, count + 1)]


def source_for(url: str, **overrides: object) -> tuple[ArxivSource, list[float]]:
    options: dict = {"api_url": url, "delay_seconds": 0, "timeout_seconds": 5.0,
                     "max_retries": 2, "page_size": 5}
    options.update(overrides)
    sleeps: list[float] = []
    return ArxivSource(ArxivSettings(**options), sleep=sleeps.append), sleeps


def claiming(server: ArxivServer, total: Callable[[int, int], object]) -> Callable:
    """A body maker: the corpus page the query asks for, with totalResults `total(true, start)`."""

    def make(query: dict[str, str]) -> bytes:
        page, true_total, start, size = server.page(query)
        text = render_feed(query, page, true_total, start, size)
        claim = f"<opensearch:totalResults>{total(true_total, start)}</opensearch:totalResults>"
        return text.replace(
            f"<opensearch:totalResults>{true_total}</opensearch:totalResults>", claim
        ).encode()

    return make


def ids(papers: list[Paper]) -> list[str]:
    return sorted(p.id for p in papers)


# --- opensearch:totalResults lies -------------------------------------------------------------


def test_a_total_of_a_billion_is_refused_at_the_first_page_naming_the_url(arxiv_server):
    arxiv_server.add_papers(corpus(12))
    arxiv_server.serve_with(claiming(arxiv_server, lambda true, start: 10**9), times=50)
    source, sleeps = source_for(arxiv_server.url)
    messages: list[str] = []
    with pytest.raises(SourceError) as info:
        source.fetch_new(ScanRequest([CL], now=NOW, progress=messages.append))
    message = str(info.value)
    assert "1,000,000,000" in message and "30,000" in message
    assert "127.0.0.1" in message and "api_url" in message
    assert len(arxiv_server.requests) == 1 and sleeps == []  # no retry: it will not get better
    assert not any("/200,000,000" in m or "/200000000" in m for m in messages)


def test_a_feed_that_never_ends_is_stopped_at_the_listing_cap(arxiv_server):
    fresh = iter(range(10_000, 99_999))

    def endless(query: dict[str, str]) -> bytes:  # full pages of new papers, totalResults 0
        page = [paper(next(fresh)) for _ in range(5)]
        return render_feed(query, page, 0, int(query["start"]), 5).encode()

    arxiv_server.serve_with(endless, times=100)
    source, _ = source_for(arxiv_server.url)
    source.listing_cap = 40
    with pytest.raises(SourceError, match="more than 40 papers"):
        source.fetch_new(ScanRequest([CL], now=NOW))
    assert len(arxiv_server.requests) == 8  # 40 papers in pages of 5, then it stops


def test_a_page_with_more_entries_than_asked_is_refused(arxiv_server):
    arxiv_server.serve_bytes(render_feed({}, corpus(50), 50, 0, 5).encode())  # 50 for 5 asked
    source, _ = source_for(arxiv_server.url)
    with pytest.raises(SourceError, match="50 entries for the 5 asked") as info:
        source.fetch_new(ScanRequest([CL], now=NOW))
    assert "127.0.0.1" in str(info.value) and len(arxiv_server.requests) == 1


@pytest.mark.parametrize("claim", ["0", "-5", "3"])
def test_a_total_below_what_the_pages_hold_does_not_cut_the_listing(arxiv_server, claim):
    arxiv_server.add_papers(corpus(23))
    arxiv_server.serve_with(claiming(arxiv_server, lambda true, start: claim), times=50)
    source, _ = source_for(arxiv_server.url)
    result = source.fetch_new(ScanRequest([CL], now=NOW))
    assert ids(result.papers) == ids(corpus(23))
    assert [r["start"] for r in arxiv_server.requests] == ["0", "5", "10", "15", "20"]


def test_a_total_that_grows_between_pages_is_followed_to_the_end(arxiv_server):
    arxiv_server.add_papers(corpus(23))
    arxiv_server.serve_with(claiming(arxiv_server, lambda true, start: 10))  # first page only
    source, _ = source_for(arxiv_server.url)
    result = source.fetch_new(ScanRequest([CL], now=NOW))
    assert ids(result.papers) == ids(corpus(23))


def test_a_total_that_shrinks_between_pages_is_believed_and_logged(arxiv_server, caplog):
    arxiv_server.add_papers(corpus(12))
    arxiv_server.serve_with(claiming(arxiv_server, lambda true, start: 23))  # first page only
    source, sleeps = source_for(arxiv_server.url)
    with caplog.at_level(logging.WARNING):
        result = source.fetch_new(ScanRequest([CL], now=NOW))
    assert ids(result.papers) == ids(corpus(12))
    assert "shrank from 23 to 12 papers" in caplog.text and sleeps == []


def test_a_total_that_is_not_a_number_fails_clearly_after_retries(arxiv_server):
    arxiv_server.add_papers(corpus(3))
    arxiv_server.serve_with(claiming(arxiv_server, lambda true, start: "lots"), times=3)
    source, sleeps = source_for(arxiv_server.url)
    with pytest.raises(SourceError, match="totalResults is 'lots', not a number") as info:
        source.fetch_new(ScanRequest([CL], now=NOW))
    assert info.value.retryable and len(sleeps) == 2 and "127.0.0.1" in str(info.value)


def test_a_short_page_while_the_total_says_more_is_continued_at_the_right_offset(arxiv_server):
    arxiv_server.add_papers(corpus(23))

    def short(query: dict[str, str]) -> bytes:  # an overloaded arXiv: 2 of the 5 asked for
        page, total, start, size = arxiv_server.page(query)
        return render_feed(query, page[:2], total, start, size).encode()

    arxiv_server.pass_next(1)
    arxiv_server.serve_with(short)
    source, _ = source_for(arxiv_server.url)
    result = source.fetch_new(ScanRequest([CL], now=NOW))
    assert ids(result.papers) == ids(corpus(23))
    assert [r["start"] for r in arxiv_server.requests][:3] == ["0", "5", "7"]


def empty_page(server: ArxivServer) -> Callable:
    """What an overloaded arXiv answers: no entries, the true totalResults."""

    def make(query: dict[str, str]) -> bytes:
        _, total, start, size = server.page(query)
        return render_feed(query, [], total, start, size).encode()

    return make


def test_empty_pages_mid_listing_are_retried_not_taken_for_the_end(arxiv_server):
    arxiv_server.add_papers(corpus(23))
    arxiv_server.pass_next(1)
    arxiv_server.serve_with(empty_page(arxiv_server), times=2)  # the retry is empty too
    source, sleeps = source_for(arxiv_server.url)
    result = source.fetch_new(ScanRequest([CL], now=NOW))
    assert ids(result.papers) == ids(corpus(23))
    assert [r["start"] for r in arxiv_server.requests][:4] == ["0", "5", "5", "5"]
    assert len(sleeps) == 2


def test_a_listing_that_stays_empty_mid_way_fails_naming_the_url_and_the_offset(arxiv_server):
    arxiv_server.add_papers(corpus(23))
    arxiv_server.pass_next(1)
    arxiv_server.serve_with(empty_page(arxiv_server), times=10)
    source, _ = source_for(arxiv_server.url)
    with pytest.raises(SourceError) as info:
        source.fetch_new(ScanRequest([CL], now=NOW))
    message = str(info.value)
    assert "start=5" in message and "empty page at result 5 of the 23" in message
    assert info.value.retryable


# --- dates ------------------------------------------------------------------------------------


def entry_dates(text: str, n: int, published: str | None, updated: str | None = "keep") -> str:
    """The feed with paper n's <published>/<updated> replaced (None: the element removed)."""
    if f"2603.{n:05d}v1</id>" not in text:
        return text
    start = text.index(f"<id>http://arxiv.org/abs/2603.{n:05d}v1</id>")
    end = text.index("</entry>", start)
    entry = text[start:end]
    new = entry
    for tag, value in (("published", published), ("updated", updated)):
        if value == "keep":
            continue
        old = entry[entry.index(f"<{tag}>") : entry.index(f"</{tag}>") + len(tag) + 3]
        new = new.replace(old, "" if value is None else f"<{tag}>{value}</{tag}>")
    return text[:start] + new + text[end:]


@pytest.mark.parametrize(
    ("published", "updated"),
    [("yesterday-ish", "keep"), ("keep", "2026-13-45T99:99:99Z"), ("", "keep"), (None, "keep"),
     ("1970-01-01T00:00:00Z", "keep"), ("0001-01-01T00:00:00Z", "keep"), ("9999-12-31T23:59:59Z",
     "keep")],
    ids=["garbled-published", "garbled-updated", "empty", "missing", "1970", "year-1", "year-9999"],
)
def test_one_bad_date_drops_at_most_its_own_entry(arxiv_server, caplog, published, updated):
    arxiv_server.add_papers(corpus(8))

    def bad(query: dict[str, str]) -> bytes:  # paper 2's entry is broken whenever it is served
        return entry_dates(arxiv_server.answer(query).body.decode(), 2, published, updated).encode()

    arxiv_server.serve_with(bad, times=20)
    source, sleeps = source_for(arxiv_server.url, page_size=5)
    with caplog.at_level(logging.WARNING):
        result = source.fetch_new(ScanRequest([CL], now=NOW))
    kept = ids(result.papers)
    assert set(ids(corpus(8))) - {"2603.00002"} <= set(kept) and sleeps == []
    assert result.cursor is not None and result.cursor <= NOW
    assert all(p.published is None or p.published <= NOW for p in result.papers)


def test_the_cursor_never_passes_the_scans_own_clock(arxiv_server):
    arxiv_server.add_papers([paper(1, hours_ago=-0.9), paper(2)])  # 54 minutes from now
    source, _ = source_for(arxiv_server.url)
    result = source.fetch_new(ScanRequest([CL], now=NOW))
    assert ids(result.papers) == ["2603.00001", "2603.00002"]
    assert result.cursor == NOW


def test_a_stored_cursor_in_the_future_is_not_trusted(arxiv_server, caplog):
    arxiv_server.add_papers([paper(1, hours_ago=30)])
    source, _ = source_for(arxiv_server.url)
    with caplog.at_level(logging.WARNING):
        result = source.fetch_new(ScanRequest([CL], since=NOW + timedelta(days=365), now=NOW))
    assert ids(result.papers) == ["2603.00001"]  # read from now minus the overlap
    assert result.cursor is not None and result.cursor <= NOW
    assert any("cursor" in n and "future" in n for n in result.notices)


# --- ids and versions ------------------------------------------------------------------------


def feed_with_ids(entries: list[tuple[int, str]]) -> bytes:
    """Entries of papers n, each with the <id> given (the rest of the entry stays paper n's)."""
    text = render_feed({}, [paper(n) for n, _ in entries], len(entries), 0, 50)
    parts = text.split("<entry>")
    for k, (n, raw) in enumerate(entries, start=1):
        parts[k] = parts[k].replace(f"<id>http://arxiv.org/abs/2603.{n:05d}v1</id>",
                                    f"<id>{raw}</id>", 1)
    return "<entry>".join(parts).encode()


def test_malformed_ids_never_become_papers_and_versions_stay_sane(arxiv_server, caplog):
    body = feed_with_ids([
        (1, "http://arxiv.org/abs/2603.00001v1"),
        (2, "http://arxiv.org/abs/../../etc/passwd"),
        (3, "http://arxiv.org/abs/2603.00003v1000000000000"),  # version 10^12
        (4, "http://arxiv.org/abs/2603.00004v" + "9" * 5000),  # beyond int()'s digit limit
        (5, "http://arxiv.org/abs/2603.00005"),  # no version: taken as v1
        (6, "http://arxiv.org/abs/2603.00006v0"),  # v0: taken as v1
        (7, "http://arxiv.org/abs/hep-th/9901001v2"),  # old style, stored as such
        (8, "http://arxiv.org/abs/2603.00008v1/../../x"),
        (9, "http://arxiv.org/abs/\uff12\uff16\uff10\uff13.\uff10\uff10\uff10\uff10\uff11v1"),
        (10, "http://arxiv.org/abs/\u0662\u0666\u0660\u0663.00010v1"),  # Arabic-Indic digits
    ])
    arxiv_server.serve_bytes(body)
    source, _ = source_for(arxiv_server.url, page_size=50)
    with caplog.at_level(logging.WARNING):
        result = source.fetch_new(ScanRequest([CL], now=NOW))
    versions = {p.id: p.version for p in result.papers}
    assert versions == {"2603.00001": 1, "2603.00005": 1, "2603.00006": 1, "hep-th/9901001": 2}
    assert "etc/passwd" in caplog.text and all(len(r.getMessage()) < 400 for r in caplog.records)
    assert not is_versionless_id("\uff12\uff16\uff10\uff13.\uff10\uff10\uff10\uff10\uff11")


@pytest.mark.parametrize("bad", [range(6, 11), range(14, 16)], ids=["mid-page", "tail"])
def test_a_whole_page_of_unreadable_entries_is_stepped_over(arxiv_server, bad):
    arxiv_server.add_papers(corpus(15))

    def broken(query: dict[str, str]) -> bytes:  # these entries have no id, whenever served
        text = arxiv_server.answer(query).body.decode()
        for n in bad:
            text = text.replace(f"<id>http://arxiv.org/abs/2603.{n:05d}v1</id>", "")
        return text.encode()

    arxiv_server.serve_with(broken, times=20)
    source, sleeps = source_for(arxiv_server.url)
    result = source.fetch_new(ScanRequest([CL], now=NOW))
    assert ids(result.papers) == ids([p for p in corpus(15) if int(p.id[-5:]) not in bad])
    assert sleeps == []  # not an outage: nothing to wait for


def test_duplicates_within_and_across_pages_are_stored_once_at_the_highest_version(
    workspace, arxiv_server
):
    def versioned(n: int, version: int) -> str:
        return f"http://arxiv.org/abs/2603.{n:05d}v{version}"

    pages = [  # pages of 5: paper 1 as v2, v5 and v3, paper 2 as v1 and v4
        feed_with_ids([(1, versioned(1, 2)), (2, versioned(2, 1)), (1, versioned(1, 5)),
                       (3, versioned(3, 1)), (4, versioned(4, 1))]),
        feed_with_ids([(1, versioned(1, 3)), (2, versioned(2, 4)), (5, versioned(5, 1))]),
    ]
    for body in pages:
        arxiv_server.serve_bytes(body.replace(b"<opensearch:totalResults>5<",
                                              b"<opensearch:totalResults>8<")
                                 .replace(b"<opensearch:totalResults>3<",
                                          b"<opensearch:totalResults>8<"))
    outcome = scan_cycle(workspace, arxiv_server, NOW)
    assert outcome.status == "committed", outcome.error
    assert stored(workspace) == {"2603.00001": 5, "2603.00002": 4, "2603.00003": 1,
                                 "2603.00004": 1, "2603.00005": 1}
    assert "**Fetched**: 5 papers: 5 new, 0 updated" in note_of(workspace, 1)

    # the next scan is served an older version: the stored v5 stays
    arxiv_server.serve_bytes(feed_with_ids([(1, versioned(1, 2))]))
    outcome = scan_cycle(workspace, arxiv_server, NOW + timedelta(hours=6))
    assert outcome.status == "committed", outcome.error
    assert stored(workspace)["2603.00001"] == 5


# --- categories and texts ---------------------------------------------------------------------


def test_odd_category_strings_are_not_stored_and_counts_stay_exact(workspace, arxiv_server):
    odd = ("cs.CL", "cs.CL\u202e<script>", "../../etc", "x" * 5000, "cs.LG", "", "eess.AS")
    arxiv_server.add_papers([paper(1, categories=odd), paper(2, categories=("cs.LG",))])
    outcome = scan_cycle(workspace, arxiv_server, NOW)
    assert outcome.status == "committed", outcome.error
    with sqlite3.connect(workspace / "state" / "agent.db") as db:
        cats = db.execute("SELECT categories FROM papers WHERE id = '2603.00001'").fetchone()[0]
    assert "script" not in cats and "etc" not in cats and "xxxx" not in cats
    assert "cs.CL" in cats and "eess.AS" in cats
    text = note_of(workspace, 1)
    assert "  - cs.CL: 1 listed, 1 new" in text and "  - cs.LG: 2 listed, 2 new" in text


def test_a_megabyte_of_title_is_stored_bounded(arxiv_server):
    huge = paper(1, title="Attention " * 100_000, abstract="word " * 200_000,
                 authors=("N" * 100_000,), comment="c" * 100_000)
    controls = paper(2, title="Red\x1b[31m \x07bell\x00 title", abstract="a\x0bb\x1fc")
    arxiv_server.add_papers([huge, controls])
    source, _ = source_for(arxiv_server.url)
    result = source.fetch_new(ScanRequest([CL], now=NOW))
    kept = {p.id: p for p in result.papers}
    assert set(kept) == {"2603.00001", "2603.00002"}
    big = kept["2603.00001"]
    assert big.title.startswith("Attention Attention") and len(big.title) <= 1000
    assert len(big.abstract) <= 20_000 and len(big.comment) <= 2_000
    assert all(len(a) <= 300 for a in big.authors)
    # XML 1.0 forbids C0 controls: they are dropped from the body, the entry is kept
    assert kept["2603.00002"].title == "Red[31m bell title"
    assert kept["2603.00002"].abstract == "abc"


# --- HTTP-level hostility ---------------------------------------------------------------------


def test_a_gigantic_body_is_refused_without_reading_it_all(arxiv_server):
    arxiv_server.add_papers(corpus(3))
    padding = b"<!--" + b"x" * (40 * 1024 * 1024) + b"-->"
    arxiv_server.serve_with(lambda q: arxiv_server.answer(q).body.replace(b"</feed>",
                                                                          padding + b"</feed>"))
    source, sleeps = source_for(arxiv_server.url)
    with pytest.raises(SourceError, match="MB") as info:
        source.fetch_new(ScanRequest([CL], now=NOW))
    assert "127.0.0.1" in str(info.value) and "page_size" in str(info.value)
    assert sleeps == [] and len(arxiv_server.requests) == 1


def test_a_compressed_body_is_capped_at_its_inflated_size(arxiv_server):
    feed = render_feed({}, corpus(3), 3, 0, 5).encode()
    inflated = feed.replace(b"</feed>", b"<!--" + b" " * (64 * 1024 * 1024) + b"--></feed>")
    bomb = gzip.compress(inflated)  # ~64 KB on the wire, 64 MB inflated
    arxiv_server.serve_bytes(bomb, headers={"Content-Encoding": "gzip"})
    source, sleeps = source_for(arxiv_server.url)
    with pytest.raises(SourceError, match="MB for one page"):
        source.fetch_new(ScanRequest([CL], now=NOW))
    assert len(bomb) < 1024 * 1024 and sleeps == []


@pytest.mark.parametrize("value", ["-5", "-1e9"])
def test_a_negative_retry_after_is_ignored_for_the_usual_backoff(arxiv_server, value):
    arxiv_server.add_papers(corpus(2))
    arxiv_server.fail_next(503, headers={"Retry-After": value})
    source, sleeps = source_for(arxiv_server.url)
    assert len(source.fetch_new(ScanRequest([CL], now=NOW)).papers) == 2
    assert sleeps == [2.0]


def test_a_retry_after_of_a_billion_seconds_waits_at_most_the_cap(arxiv_server):
    arxiv_server.add_papers(corpus(2))
    arxiv_server.fail_next(503, headers={"Retry-After": "1000000000"})
    source, sleeps = source_for(arxiv_server.url)
    heard: list[str] = []
    assert len(source.fetch_new(ScanRequest([CL], now=NOW, progress=heard.append)).papers) == 2
    assert sleeps == [120.0] and "arXiv: HTTP 503; retry 1 of 2 in 120 s" in heard


def test_the_note_counts_stay_exact_on_a_feed_with_every_kind_of_bad_entry(
    workspace, arxiv_server
):
    good = [paper(n, hours_ago=n, categories=("cs.CL", "cs.LG") if n % 2 else ("eess.AS",))
            for n in range(1, 12)]
    arxiv_server.add_papers(good + [paper(20, hours_ago=2, categories=("cs.LG",), version=3)])

    def hostile(query: dict[str, str]) -> bytes:  # the same bad entries whenever served
        page, _, start, size = arxiv_server.page(query)
        text = render_feed(query, page, 0, start, size)  # totalResults: 0
        text = text.replace("2603.00003v1</id>", "2603.00003v99999</id>")  # id: not arXiv's
        text = entry_dates(text, 5, "soon")  # a date that is not a date
        return entry_dates(text, 7, "1970-01-01T00:00:00Z").encode()  # before the window

    arxiv_server.serve_with(hostile, times=20)
    outcome = scan_cycle(workspace, arxiv_server, NOW)
    assert outcome.status == "committed", outcome.error
    expected = {f"2603.{n:05d}": 1 for n in (1, 2, 4, 6, 8, 9, 10, 11)} | {"2603.00020": 3}
    assert stored(workspace) == expected
    text = note_of(workspace, 1)
    assert "**Fetched**: 9 papers: 9 new, 0 updated" in text
    assert "  - cs.CL: 3 listed, 3 new" in text  # 1, 9, 11 (3, 5 and 7 are bad)
    assert "  - cs.LG: 4 listed, 4 new" in text  # the same and 20
    assert "  - eess.AS: 5 listed, 5 new" in text  # 2, 4, 6, 8, 10


def test_a_stop_during_retries_cuts_in_before_the_backoff(workspace, arxiv_server):
    arxiv_server.add_papers(corpus(3))
    arxiv_server.fail_next(503, times=3, headers={"Retry-After": "1000000000"})
    stop = threading.Event()
    heard: list[str] = []

    def progress(message: str) -> None:
        heard.append(message)
        if message.startswith("asking arxiv for new papers"):
            stop.set()  # the daemon's SIGTERM, or the cycle's deadline, as the scan starts

    overrides = {"arxiv.api_url": arxiv_server.url, "arxiv.max_retries": 3}
    outcome = run_cycle(workspace, CycleOptions(action="scan", overrides=overrides,
                                                now=lambda: NOW, progress=progress, stop=stop))
    assert outcome.status != "committed" and stored(workspace) == {}
    assert not any("retry" in m for m in heard)  # the checkpoint came first
    assert len(arxiv_server.requests) == 1  # stopped before the wait, not after it


# --- a failed scan writes nothing -------------------------------------------------------------


def stored(workspace: Path) -> dict[str, int]:
    with sqlite3.connect(workspace / "state" / "agent.db") as db:
        return dict(db.execute("SELECT id, version FROM papers").fetchall())


def cursors(workspace: Path) -> list[tuple]:
    with sqlite3.connect(workspace / "state" / "agent.db") as db:
        return db.execute("SELECT source, value FROM cursors").fetchall()


def scan_cycle(workspace: Path, arxiv_server: ArxivServer, now: datetime, **settings: object):  # type: ignore[no-untyped-def]
    overrides = {"arxiv.api_url": arxiv_server.url, "arxiv.page_size": 5,
                 "arxiv.max_retries": 0, **settings}
    return run_cycle(workspace, CycleOptions(action="scan", overrides=overrides, now=lambda: now))


def note_of(workspace: Path, number: int) -> str:
    return next((workspace / "cycles").rglob(f"{number:04d}-scan.md")).read_text("utf-8")


def test_a_scan_cut_short_by_empty_pages_writes_nothing(workspace, arxiv_server):
    arxiv_server.add_papers(corpus(23))
    head = git(workspace, "rev-parse", "HEAD")
    arxiv_server.pass_next(1)
    arxiv_server.serve_with(empty_page(arxiv_server), times=10)
    outcome = scan_cycle(workspace, arxiv_server, NOW, **{"arxiv.max_retries": 1})
    assert outcome.status == "failed" and "empty page" in (outcome.error or "")
    assert git(workspace, "rev-parse", "HEAD") == head
    assert stored(workspace) == {} and cursors(workspace) == []


def test_a_scan_refused_on_a_lying_total_writes_nothing(workspace, arxiv_server):
    arxiv_server.add_papers(corpus(23))
    head = git(workspace, "rev-parse", "HEAD")
    arxiv_server.pass_next(2)  # two good pages first: papers were read when the lie comes
    arxiv_server.serve_with(claiming(arxiv_server, lambda true, start: 10**9), times=10)
    outcome = scan_cycle(workspace, arxiv_server, NOW)
    assert outcome.status == "failed"
    assert "1,000,000,000" in (outcome.error or "") and "127.0.0.1" in (outcome.error or "")
    assert git(workspace, "rev-parse", "HEAD") == head
    assert not list((workspace / "cycles").rglob("0*-scan.md"))
    assert stored(workspace) == {} and cursors(workspace) == []
