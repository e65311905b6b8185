"""The arXiv API as a Source: the complete listing of the watched categories, keyword search, ids.

A scan asks for every paper in the union of the active tracks' categories submitted since the
cursor minus `overlap_days` (the first scan: the last `backfill_days`), newest first, in pages of
`page_size` (arXiv allows 2,000) spaced `delay_seconds` apart by the arxiv client. Pages come
from the public `arxiv.Client.results(search, offset)`; a failed page is retried with backoff by
resuming at the offset reached. HTTP goes through `arxiv_http` (bounded, feeds checked).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import arxiv
import httpx

from agent.errors import AgentError, SourceError
from agent.models import Paper, Track
from agent.settings import ArxivSettings
from agent.sources import FetchResult
from agent.sources.arxiv_http import (
    BoundedSession,
    FeedError,
    attach_session,
    error_feed_message,
)
from agent.sources.arxiv_query import (
    build_query,
    keyword_listing_query,
    listing_query,
    uncategorised,
    watched_categories,
)
from agent.sources.arxiv_retry import (
    MAX_BACKOFF_SECONDS,
    announcement_days,
    backoff_delay,
    parse_retry_after,
)
from agent.sources.ids import normalize_arxiv_id
from agent.text import cut, plain_paper

logger = logging.getLogger(__name__)

LOOKUP_CHUNK = 100  # ids per id_list request (2,000 ids would make a 24 KB URL)
FUTURE_MARGIN = timedelta(hours=1)  # feed dates later than now plus this are clamped to now
QUIET_DAYS = 3  # announcement days without a single listed paper before the note says so
# arXiv serves at most 30,000 results of one query; five busy categories list ~2k papers a
# weekday, so a long backfill is asked for in windows of a week (newest first).
WINDOW_DAYS = 7
_RETRYABLE = (FeedError, arxiv.UnexpectedEmptyPageError, httpx.TimeoutException, httpx.HTTPError)
Progress = Callable[[str], None]

__all__ = ["ArxivSource", "build_query", "get_client", "keep_newest", "MAX_BACKOFF_SECONDS"]


@dataclass
class _SharedClient:
    client: arxiv.Client
    session: BoundedSession
    lock: threading.RLock  # the client's rate limiter is not thread-safe


# arXiv's rate limit is per client (it sleeps until `delay_seconds` have passed since *its own*
# last request), so every ArxivSource of this process shares one client per endpoint.
_CLIENTS: dict[tuple[str, float, float, int], _SharedClient] = {}
_CLIENTS_LOCK = threading.Lock()


def get_client(settings: ArxivSettings) -> _SharedClient:
    """The process-wide arxiv client for these settings (created on first use)."""
    key = (settings.api_url, settings.delay_seconds, settings.timeout_seconds, settings.page_size)
    with _CLIENTS_LOCK:
        shared = _CLIENTS.get(key)
        if shared is None:
            client = arxiv.Client(
                page_size=settings.page_size, delay_seconds=settings.delay_seconds, num_retries=0
            )
            client.query_url_format = settings.api_url + "?{}"
            session = BoundedSession(settings.timeout_seconds)
            attach_session(client, session)
            shared = _CLIENTS[key] = _SharedClient(client, session, threading.RLock())
        return shared


@dataclass
class _Ask:
    """One search of a scan or lookup, with what progress messages call it."""

    search: arxiv.Search
    label: str
    floor: datetime | None = None  # sorted newest first: stop at the first paper older than this


class ArxivSource:
    """Papers from the arXiv API (export.arxiv.org or whatever `settings.api_url` names)."""

    name = "arxiv"

    def __init__(
        self, settings: ArxivSettings | None = None, sleep: Callable[[float], None] = time.sleep
    ):
        self.settings = settings or ArxivSettings()
        self.sleep = sleep  # tests pass a recorder: backoff never sleeps for real there
        self._shared = get_client(self.settings)

    def fetch_new(
        self,
        tracks: Sequence[Track],
        since: datetime | None,
        *,
        now: datetime | None = None,
        progress: Progress | None = None,
    ) -> FetchResult:
        """Every paper in the watched categories submitted since `since` minus the overlap.

        Tracks without categories are covered by their own keyword query over the same window.
        """
        now = _as_utc(now) or datetime.now(UTC)
        since = _as_utc(since)
        days = self.settings.overlap_days if since else self.settings.backfill_days
        floor = (since or now) - timedelta(days=days)
        asks = self._listing_asks(tracks, floor, now + FUTURE_MARGIN)
        calls = self._shared.session.calls
        papers: dict[str, Paper] = {}
        for ask in asks:
            for paper in self._collect(ask, None, progress, now):
                keep_newest(papers, paper)
        found = list(papers.values())
        result = FetchResult(
            found,
            cursor=newest_cursor(found, since),
            queries=[a.search.query for a in asks],
            categories=watched_categories(tracks),
            keyword_tracks=[t.id for t in uncategorised(tracks) if t.keywords],
            requests=self._shared.session.calls - calls,
            since=floor,
        )
        result.notices.extend(quiet_notice(found, since, now))
        return result

    def _listing_asks(
        self, tracks: Sequence[Track], floor: datetime, ceiling: datetime
    ) -> list[_Ask]:
        """The category listing, plus one keyword query per track without categories."""
        asks: list[_Ask] = []
        categories = watched_categories(tracks)
        if categories:
            for low, high in split_window(floor, ceiling):
                query = listing_query(categories, low, high)
                asks.append(_Ask(_newest_first(query), _label(categories), low))
        for track in uncategorised(tracks):
            query = keyword_listing_query(track, floor, ceiling)
            if query:
                asks.append(_Ask(_newest_first(query), f"track {track.id} (keywords)", floor))
        return asks

    def search(
        self, track: Track, max_results: int, progress: Progress | None = None
    ) -> list[Paper]:
        """Papers matching the track's keyword query, most relevant first (older work)."""
        query = build_query(track)
        if not query:
            return []
        search = arxiv.Search(query, max_results=max_results)
        return self._collect(_Ask(search, f"track {track.id}"), max_results, progress)

    def lookup(self, ids: Sequence[str]) -> list[Paper]:
        """Papers by id (any form ids.py accepts); ids arXiv does not know are absent."""
        wanted = unique(normalize_arxiv_id(i)[0] for i in ids)
        papers: dict[str, Paper] = {}
        for chunk in (wanted[i : i + LOOKUP_CHUNK] for i in range(0, len(wanted), LOOKUP_CHUNK)):
            ask = _Ask(arxiv.Search(id_list=chunk, max_results=len(chunk)), "ids")
            for paper in self._collect(ask, len(chunk)):
                keep_newest(papers, paper)
        return list(papers.values())

    def _collect(
        self,
        ask: _Ask,
        limit: int | None,
        progress: Progress | None = None,
        now: datetime | None = None,
    ) -> list[Paper]:
        """Every paper of a search (up to `limit`), resuming at the offset reached on failure."""
        pager = _Pager(ask, self._shared, self.settings.page_size, progress)
        failures, reason = 0, ""
        while True:
            if failures:
                self._wait_before_retry(failures, reason, pager.url())
            try:
                with self._shared.lock:
                    pager.run(self._shared.client, limit, now or datetime.now(UTC))
                return pager.papers
            except arxiv.HTTPError as exc:
                if exc.status != 429 and exc.status < 500:
                    raise self._rejected(exc.url, exc.status) from exc
                reason = f"HTTP {exc.status}"
            except httpx.ConnectError as exc:
                raise unreachable(self.settings.api_url, exc) from exc
            except _RETRYABLE as exc:
                reason = describe_error(exc)
            failures = 1 if pager.progressed() else failures + 1
            if failures > self.settings.max_retries:
                raise self._gave_up(pager.url(), reason)

    def _wait_before_retry(self, failures: int, reason: str, url: str) -> None:
        retry_after = parse_retry_after(self._shared.session.last_response)
        delay = backoff_delay(failures, retry_after)
        logger.warning("arXiv: %s; retry %d in %.1fs: %s", reason, failures, delay, cut(url))
        self.sleep(delay)

    def _gave_up(self, url: str, reason: str) -> SourceError:
        return SourceError(
            f"The arXiv API at {cut(url)} failed {self.settings.max_retries + 1} times "
            f"(last: {reason}). arXiv may be down or rate-limiting us: try again later, or "
            "raise [arxiv] delay_seconds / timeout_seconds.",
            url=url,
            retryable=True,
        )

    def _rejected(self, url: str, status: int) -> SourceError:
        """The error for a 4xx answer, with arXiv's own message from its error feed if any."""
        message = error_feed_message(self._shared.session.last_response)
        if status == 400 and message:
            return SourceError(
                f"arXiv rejected the query {cut(url)}: {message}. Check the arXiv ids and "
                "track keywords/categories.",
                url=url,
            )
        detail = f": {message}" if message else ""
        return SourceError(
            f"The arXiv API at {cut(url)} answered HTTP {status}{detail}. "
            "Check [arxiv] api_url.",
            url=url,
        )


class _Pager:
    """Walks one search's results page by page, remembering how far it got."""

    def __init__(
        self, ask: _Ask, shared: _SharedClient, page_size: int, progress: Progress | None
    ):
        self.ask = ask
        self.shared = shared
        self.page_size = page_size
        self.progress = progress
        self.papers: list[Paper] = []
        self.offset = 0
        self._offset_at_failure = -1
        self._page: object = None

    def run(self, client: arxiv.Client, limit: int | None, now: datetime) -> None:
        """Fetch from the current offset until the search is exhausted (or the limit met)."""
        self._offset_at_failure = self.offset
        self._page = self.shared.session.last_response
        for result in client.results(self.ask.search, offset=self.offset):
            self._note_page()
            self.offset += 1
            paper = paper_from_result(result, now)
            if paper is None:
                continue
            if self.ask.floor and paper.published and paper.published < self.ask.floor:
                return  # sorted newest first: everything after is older still
            self.papers.append(paper)
            if limit is not None and len(self.papers) >= limit:
                return

    def progressed(self) -> bool:
        """Whether the failed attempt got further than the one before it."""
        return self.offset > self._offset_at_failure

    def url(self) -> str:
        """The URL of the page at the current offset (for messages)."""
        search = self.ask.search
        args = {
            "search_query": search.query,
            "id_list": ",".join(search.id_list),
            "sortBy": search.sort_by.value,
            "sortOrder": search.sort_order.value,
            "start": str(self.offset),
            "max_results": str(self.page_size),
        }
        return self.shared.client.query_url_format.format(urlencode(args))

    def _note_page(self) -> None:
        """Report a page the moment its first result arrives."""
        response = self.shared.session.last_response
        if response is self._page or response is None:
            return
        self._page = response
        total = response.total_results or 0
        pages = max(1, -(-total // self.page_size))
        page = self.offset // self.page_size + 1
        got = min(total, page * self.page_size)
        message = f"asking arXiv: {self.ask.label} page {page}/{pages}, {got:,} papers"
        logger.info(message)
        if self.progress is not None:
            self.progress(message)


def paper_from_result(result: arxiv.Result, now: datetime | None = None) -> Paper | None:
    """Our Paper from an arxiv.Result, or None (logged) for an entry whose id is not arXiv's.

    Dates later than `now` plus a margin are clamped to `now`: a feed's date is data.
    """
    try:
        paper_id, version = normalize_arxiv_id(result.entry_id)
    except AgentError:
        logger.warning("arXiv feed: skipped an entry with id %r", cut(result.entry_id, 80))
        return None
    categories = [result.primary_category] if result.primary_category else []
    categories += [c for c in result.categories if c not in categories]
    return plain_paper(Paper(  # LaTeX as Unicode, once, at ingestion
        id=paper_id,
        title=collapse(result.title),
        abstract=collapse(result.summary),
        authors=tuple(collapse(a.name) for a in result.authors),
        categories=tuple(categories),
        version=version or 1,
        published=clamp(_as_utc(result.published), now),
        updated=clamp(_as_utc(result.updated), now),
        comment=collapse(result.comment or ""),
    ))


def clamp(when: datetime | None, now: datetime | None) -> datetime | None:
    """`when`, or `now` if `when` lies further in the future than FUTURE_MARGIN."""
    if when is None or now is None or when <= now + FUTURE_MARGIN:
        return when
    logger.warning("arXiv feed: a date of %s is in the future; taken as now", when.isoformat())
    return now


def quiet_notice(found: Sequence[Paper], since: datetime | None, now: datetime) -> list[str]:
    """A warning when nothing newer than the cursor came for QUIET_DAYS announcement days.

    The overlap re-reads papers already seen, so only papers past the cursor count; the cursor
    does not move without them, so quiet scans in a row add up.
    """
    if since is None or any(p.published and p.published > since for p in found):
        return []
    quiet = announcement_days(since, now)
    if quiet < QUIET_DAYS:
        return []
    message = (
        f"arXiv listed no new paper in the watched categories for {quiet} announcement days "
        f"(since {since:%Y-%m-%d %H:%M} UTC): check [arxiv] api_url and the tracks' "
        "categories; the next scan reads this window again."
    )
    logger.warning(message)
    return [message]


def split_window(floor: datetime, ceiling: datetime) -> list[tuple[datetime, datetime]]:
    """[floor, ceiling] as windows of at most WINDOW_DAYS, newest first (ends touch: the
    minute they share is read twice and deduplicated)."""
    windows = []
    high = ceiling
    while high > floor:
        low = max(floor, high - timedelta(days=WINDOW_DAYS))
        windows.append((low, high))
        high = low
    return windows or [(floor, ceiling)]


def keep_newest(papers: dict[str, Paper], paper: Paper) -> None:
    """Add `paper` unless a higher version of it is already kept (order of first sight stays)."""
    kept = papers.get(paper.id)
    if kept is None or paper.version > kept.version:
        papers[paper.id] = paper


def newest_cursor(papers: Sequence[Paper], since: datetime | None) -> datetime | None:
    """The newest submission date seen, never earlier than `since`.

    Submission (`published`) rather than `updated`, because the next fetch compares the cursor
    with submittedDate: a v2 updated today must not push the window past unmoderated papers.
    """
    dates = [p.published for p in papers if p.published]
    if since:
        dates.append(since)
    return max(dates) if dates else None


def unreachable(api_url: str, exc: Exception) -> SourceError:
    """One clear sentence for a host that cannot be reached (no retries: it will not help)."""
    host = urlsplit(api_url).netloc or api_url
    return SourceError(
        f"Could not reach the arXiv API host {host} ({type(exc).__name__}: "
        f"{cut(str(exc), 120)}). Check the network and [arxiv] api_url, or work offline "
        "on the bundled sample with `--source sample`.",
        url=api_url,
        retryable=True,
    )


def describe_error(exc: Exception) -> str:
    """A short reason for the log and the final error."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, FeedError):
        return f"not a feed: {exc}"
    if isinstance(exc, arxiv.UnexpectedEmptyPageError):
        return "unexpected empty page"
    return f"connection failed ({type(exc).__name__})"


def collapse(text: str) -> str:
    """Runs of whitespace (arXiv's hard wraps) as single spaces."""
    return " ".join(text.split())


def unique(items: Iterable[str]) -> list[str]:
    """Non-empty items in first-seen order, without repeats."""
    return list(dict.fromkeys(i for i in items if i))


def _newest_first(query: str) -> arxiv.Search:
    """Every result of the query, newest submission first."""
    return arxiv.Search(
        query,
        max_results=None,
        sort_by=arxiv.SortCriterion.SubmittedDate,
        sort_order=arxiv.SortOrder.Descending,
    )


def _label(categories: Sequence[str]) -> str:
    """`cs.CL`, `cs.CL+cs.SD`, `cs.CL+cs.SD+3 more` for progress messages."""
    shown = "+".join(categories[:3])
    return shown + (f"+{len(categories) - 3} more" if len(categories) > 3 else "")


def _as_utc(when: datetime | None) -> datetime | None:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    if when is None:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)

