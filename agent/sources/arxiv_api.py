"""The arXiv API as a Source: the complete listing of the watched categories, keyword search, ids.

A scan asks for every paper in the union of the active tracks' categories submitted since the
cursor minus `overlap_days` (the first scan: the last `backfill_days`), newest first, in pages of
`page_size` (arXiv allows 2,000) spaced `delay_seconds` apart by the arxiv client. Pages come
from the public `arxiv.Client.results(search, offset)`; a failed page is retried with backoff by
resuming at the offset reached. HTTP goes through `arxiv_http` (bounded, feeds checked).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import arxiv
import httpx

from agent.errors import SourceError
from agent.models import Paper, Track
from agent.schedule import as_utc
from agent.settings import ArxivSettings
from agent.sources import FetchResult, ScanRequest
from agent.sources.arxiv_http import FeedError, FeedTooLarge, error_feed_message
from agent.sources.arxiv_listing import (
    FUTURE_MARGIN,
    keep_newest,
    newest_cursor,
    quiet_notice,
    split_window,
    unique,
)
from agent.sources.arxiv_pager import (
    MAX_LISTING,
    Ask,
    Pager,
    Progress,
    ShortListing,
    get_client,
    label,
    newest_first,
)
from agent.sources.arxiv_query import (
    build_query,
    keyword_listing_query,
    listing_query,
    uncategorised,
    watched_categories,
)
from agent.sources.arxiv_retry import MAX_BACKOFF_SECONDS, backoff_delay, parse_retry_after
from agent.sources.ids import normalize_arxiv_id
from agent.text import cut

logger = logging.getLogger(__name__)

LOOKUP_CHUNK = 100  # ids per id_list request (2,000 ids would make a 24 KB URL)
_RETRYABLE = (
    FeedError,
    ShortListing,
    arxiv.UnexpectedEmptyPageError,
    httpx.TimeoutException,
    httpx.HTTPError,
)

__all__ = ["ArxivSource", "build_query", "get_client", "keep_newest", "MAX_BACKOFF_SECONDS"]


class ArxivSource:
    """Papers from the arXiv API (export.arxiv.org or whatever `settings.api_url` names)."""

    name = "arxiv"

    def __init__(
        self, settings: ArxivSettings | None = None, sleep: Callable[[float], None] = time.sleep
    ):
        self.settings = settings or ArxivSettings()
        self.sleep = sleep  # tests pass a recorder: backoff never sleeps for real there
        self.listing_cap = MAX_LISTING  # papers one query may list before the scan refuses it
        self._shared = get_client(self.settings)

    def fetch_new(self, request: ScanRequest) -> FetchResult:
        """Every paper in the watched categories submitted since `since` minus the overlap.

        Tracks without categories are covered by their own keyword query over the same window.
        """
        tracks = request.tracks
        now = as_utc(request.now) or datetime.now(UTC)
        since, notices = trusted_cursor(as_utc(request.since), now)
        days = self.settings.overlap_days if since else self.settings.backfill_days
        floor = (since or now) - timedelta(days=days)
        asks = self._listing_asks(tracks, floor, now + FUTURE_MARGIN)
        calls = self._shared.session.calls
        papers: dict[str, Paper] = {}
        for ask in asks:
            for paper in self._collect(ask, None, request.progress, now):
                keep_newest(papers, paper)
        found = list(papers.values())
        result = FetchResult(
            found,
            cursor=newest_cursor(found, since, now),
            queries=[a.search.query for a in asks],
            categories=watched_categories(tracks),
            keyword_tracks=[t.id for t in uncategorised(tracks) if t.keywords],
            requests=self._shared.session.calls - calls,
            since=floor,
        )
        result.notices.extend(notices + quiet_notice(found, since, now))
        return result

    def _listing_asks(
        self, tracks: Sequence[Track], floor: datetime, ceiling: datetime
    ) -> list[Ask]:
        """The category listing, plus one keyword query per track without categories."""
        asks: list[Ask] = []
        categories = watched_categories(tracks)
        if categories:
            for low, high in split_window(floor, ceiling):
                query = listing_query(categories, low, high)
                asks.append(Ask(newest_first(query), label(categories), low))
        for track in uncategorised(tracks):
            query = keyword_listing_query(track, floor, ceiling)
            if query:
                asks.append(Ask(newest_first(query), f"track {track.id} (keywords)", floor))
        return asks

    def search(
        self, track: Track, max_results: int, progress: Progress | None = None
    ) -> list[Paper]:
        """Papers matching the track's keyword query, most relevant first (older work)."""
        query = build_query(track)
        if not query:
            return []
        search = arxiv.Search(query, max_results=max_results)
        return self._collect(Ask(search, f"track {track.id}"), max_results, progress)

    def lookup(self, ids: Sequence[str]) -> list[Paper]:
        """Papers by id (any form ids.py accepts); ids arXiv does not know are absent."""
        wanted = unique(normalize_arxiv_id(i)[0] for i in ids)
        papers: dict[str, Paper] = {}
        for chunk in (wanted[i : i + LOOKUP_CHUNK] for i in range(0, len(wanted), LOOKUP_CHUNK)):
            ask = Ask(arxiv.Search(id_list=chunk, max_results=len(chunk)), "ids")
            for paper in self._collect(ask, len(chunk)):
                keep_newest(papers, paper)
        return list(papers.values())

    def _collect(
        self,
        ask: Ask,
        limit: int | None,
        progress: Progress | None = None,
        now: datetime | None = None,
    ) -> list[Paper]:
        """Every paper of a search (up to `limit`), resuming at the offset reached on failure."""
        pager = Pager(ask, self._shared, self.settings.page_size, progress, self.listing_cap)
        failures, reason = 0, ""
        while True:
            if failures:
                self._wait_before_retry(failures, reason, pager.url(), progress)
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
            except FeedTooLarge as exc:
                raise self._too_large(pager.url(), exc) from None
            except _RETRYABLE as exc:
                reason = describe_error(exc)
            failures = 1 if pager.progressed() else failures + 1
            if failures > self.settings.max_retries:
                raise self._gave_up(pager.url(), reason)

    def _wait_before_retry(
        self, failures: int, reason: str, url: str, progress: Progress | None = None
    ) -> None:
        """Back off before retry `failures`; `progress` hears of it first (where a shutdown or
        the cycle's deadline may cut in rather than after the wait)."""
        retry_after = parse_retry_after(self._shared.session.last_response)
        delay = backoff_delay(failures, retry_after)
        logger.warning("arXiv: %s; retry %d in %.1fs: %s", reason, failures, delay, cut(url))
        if progress is not None:
            progress(
                f"arXiv: {reason}; retry {failures} of {self.settings.max_retries} in {delay:.0f} s"
            )
        self.sleep(delay)

    def _gave_up(self, url: str, reason: str) -> SourceError:
        return SourceError(
            f"The arXiv API at {cut(url)} failed {self.settings.max_retries + 1} times "
            f"(last: {reason}). arXiv may be down or rate-limiting us: try again later, or "
            "raise [arxiv] delay_seconds / timeout_seconds.",
            url=url,
            retryable=True,
        )

    def _too_large(self, url: str, exc: FeedTooLarge) -> SourceError:
        """The error for a body over the cap (not retried: it would be read again)."""
        return SourceError(
            f"The arXiv API at {cut(url)} sent {exc} for one page of "
            f"{self.settings.page_size:,} papers (~5 MB for 2,000 from arXiv): it is not "
            "arXiv's feed. Check [arxiv] api_url, or lower [arxiv] page_size.",
            url=url,
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


def trusted_cursor(since: datetime | None, now: datetime) -> tuple[datetime | None, list[str]]:
    """The stored cursor, or `now` if it lies in the future (a clock that was wrong once must
    not make every later scan read an empty window), with the notice saying so."""
    if since is None or since <= now + FUTURE_MARGIN:
        return since, []
    message = (
        f"The stored arXiv cursor ({since:%Y-%m-%d %H:%M} UTC) is in the future of this "
        f"scan's clock ({now:%Y-%m-%d %H:%M} UTC): it was taken as now. Check the system "
        "clock."
    )
    logger.warning(message)
    return now, [message]


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
    if isinstance(exc, ShortListing):
        return str(exc)
    return f"connection failed ({type(exc).__name__})"
