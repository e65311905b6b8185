"""The arXiv API as a Source: the `arxiv` client wrapped with a timeout, backoff and a since-cursor.

arxiv 4.x has no request timeout and retries at once without backoff, so we give its session a
default timeout, set its own retries to zero and retry each page here. The client still enforces
`delay_seconds` between requests (arXiv's terms: one request every three seconds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import arxiv
import requests
from lxml import etree

from agent.errors import SourceError
from agent.models import Paper, Track
from agent.settings import ArxivSettings
from agent.sources import FetchResult
from agent.sources.ids import normalize_arxiv_id
from agent.text import plain_paper

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = 2.0  # first retry waits this long, then doubles
MAX_BACKOFF_SECONDS = 120.0  # also caps a Retry-After header, so one cycle cannot hang for hours
_RETRYABLE_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    arxiv.UnexpectedEmptyPageError,  # arXiv sporadically returns an empty page mid-query
)
_ATOM = {"atom": "http://www.w3.org/2005/Atom"}


class TimeoutSession(requests.Session):
    """A requests session with a default timeout, remembering each thread's last response.

    arxiv.Client calls `session.get(url, headers=...)` without a timeout, so a stalled arXiv
    would hang the cycle forever. The last response lets us read Retry-After and the error feed,
    which the client's HTTPError does not carry.
    """

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout
        self._local = threading.local()

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        self._local.response = None
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        response = super().request(method, url, *args, **kwargs)
        self._local.response = response
        return response

    @property
    def last_response(self) -> requests.Response | None:
        return getattr(self._local, "response", None)


@dataclass
class _SharedClient:
    client: arxiv.Client
    session: TimeoutSession
    lock: threading.Lock  # the client's rate limiter is not thread-safe


# arXiv's rate limit is per client (it sleeps until `delay_seconds` have passed since *its own*
# last request), so every ArxivSource of this process must share one client per endpoint:
# two clients would each think they may call arXiv now.
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
            session = TimeoutSession(settings.timeout_seconds)
            client._session = session  # arxiv 4.x offers no public way to pass a session
            shared = _CLIENTS[key] = _SharedClient(client, session, threading.Lock())
        return shared


class ArxivSource:
    """Papers from the arXiv API (export.arxiv.org or whatever `settings.api_url` names)."""

    name = "arxiv"

    def __init__(
        self, settings: ArxivSettings | None = None, sleep: Callable[[float], None] = time.sleep
    ):
        self.settings = settings or ArxivSettings()
        self.sleep = sleep  # tests pass a recorder: backoff never sleeps for real there
        self._shared = get_client(self.settings)

    def fetch_new(self, tracks: Sequence[Track], since: datetime | None) -> FetchResult:
        """Newest papers of each active track's query, back to `since` minus the overlap window.

        With `since=None` (first scan) each query simply takes its newest `max_results` papers.
        """
        since = _as_utc(since)
        floor = since - timedelta(days=self.settings.overlap_days) if since else None
        queries = unique(build_query(t) for t in tracks if t.active)
        papers: dict[str, Paper] = {}
        for query in queries:
            search = arxiv.Search(
                query=query,
                sort_by=arxiv.SortCriterion.SubmittedDate,
                sort_order=arxiv.SortOrder.Descending,
            )
            for paper in self._collect(search, self.settings.max_results, floor):
                keep_newest(papers, paper)
        found = list(papers.values())
        return FetchResult(found, cursor=newest_cursor(found, since), queries=queries)

    def search(self, track: Track, max_results: int) -> list[Paper]:
        """Papers matching the track's query, most relevant first (discovery of older work)."""
        query = build_query(track)
        if not query:
            return []
        return list(self._collect(arxiv.Search(query=query), max_results))

    def lookup(self, ids: Sequence[str]) -> list[Paper]:
        """Papers by id (any form ids.py accepts); ids arXiv does not know are absent."""
        wanted = unique(normalize_arxiv_id(i)[0] for i in ids)
        papers: dict[str, Paper] = {}
        size = self.settings.page_size
        for chunk in (wanted[i : i + size] for i in range(0, len(wanted), size)):
            for paper in self._collect(arxiv.Search(id_list=chunk), len(chunk)):
                keep_newest(papers, paper)
        return list(papers.values())

    def _collect(
        self, search: arxiv.Search, limit: int, floor: datetime | None = None
    ) -> Iterator[Paper]:
        """Up to `limit` papers of a search, page by page; stops at the first older than floor."""
        start = 0
        while start < limit:
            size = min(self.settings.page_size, limit - start)
            feed = self.fetch_page(search, start, size)
            for result in feed.results[: limit - start]:
                paper = paper_from_result(result)
                if floor and paper.published and paper.published < floor:
                    return  # sorted newest first: everything after is older still
                yield paper
            start += len(feed.results)
            if not feed.results or start >= feed.header.total_results:
                return

    def fetch_page(self, search: arxiv.Search, start: int, size: int) -> arxiv.ParsedFeed:
        """One page of results, retried with backoff; SourceError once the retries are spent."""
        client = self._shared.client
        url = client._format_url(search, start, size)
        reason = ""
        for attempt in range(self.settings.max_retries + 1):
            if attempt:
                delay = self._retry_delay(attempt)
                logger.warning("arXiv: %s; retry %d in %.1fs: %s", reason, attempt, delay, url)
                self.sleep(delay)
            try:
                with self._shared.lock:
                    return client._parse_feed(url, first_page=start == 0)
            except arxiv.HTTPError as exc:
                if not is_retryable_status(exc.status):
                    raise self._rejected(url, exc.status) from exc
                reason = f"HTTP {exc.status}"
            except _RETRYABLE_ERRORS as exc:
                reason = describe_error(exc)
            except requests.RequestException as exc:
                raise SourceError(
                    f"Cannot query the arXiv API at {url} ({exc}). Check [arxiv] api_url.", url=url
                ) from exc
        raise SourceError(
            f"The arXiv API at {url} failed {self.settings.max_retries + 1} times "
            f"(last: {reason}). "
            "arXiv may be down or rate-limiting us: try again later, or raise [arxiv] "
            "delay_seconds / timeout_seconds.",
            url=url,
            retryable=True,
        )

    def _retry_delay(self, attempt: int) -> float:
        """Seconds before retry `attempt` (1-based): Retry-After if arXiv sent one, else backoff."""
        retry_after = parse_retry_after(self._shared.session.last_response)
        if retry_after is not None:
            return min(retry_after, MAX_BACKOFF_SECONDS)
        return min(BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)

    def _rejected(self, url: str, status: int) -> SourceError:
        """The error for a 4xx answer, with arXiv's own message from its error feed if any."""
        message = error_feed_message(self._shared.session.last_response)
        if status == 400 and message:
            return SourceError(
                f"arXiv rejected the query {url}: {message}. Check the arXiv ids and track "
                "keywords/categories.",
                url=url,
            )
        detail = f": {message}" if message else ""
        return SourceError(
            f"The arXiv API at {url} answered HTTP {status}{detail}. Check [arxiv] api_url.",
            url=url,
        )


def build_query(track: Track) -> str:
    """`(cat:A OR cat:B) AND (all:"kw one" OR all:kw2)`; either half alone if the other is empty."""
    cats = " OR ".join(f"cat:{c}" for c in (_clean_term(c) for c in track.categories) if c)
    words = " OR ".join(_keyword_term(k) for k in track.keywords if _clean_term(k))
    if cats and words:
        return f"({cats}) AND ({words})"
    return f"({cats or words})" if (cats or words) else ""


def _keyword_term(keyword: str) -> str:
    term = _clean_term(keyword)
    return f'all:"{term}"' if " " in term else f"all:{term}"


def _clean_term(text: str) -> str:
    """A user's keyword without characters that would change the query's structure."""
    for char in '"()':
        text = text.replace(char, " ")
    return " ".join(text.split())


def paper_from_result(result: arxiv.Result) -> Paper:
    """Our Paper from an arxiv.Result (versionless id, collapsed whitespace, UTC dates)."""
    paper_id, version = normalize_arxiv_id(result.entry_id)
    categories = [result.primary_category] if result.primary_category else []
    categories += [c for c in result.categories if c not in categories]
    return plain_paper(Paper(  # LaTeX as Unicode, once, at ingestion
        id=paper_id,
        title=collapse(result.title),
        abstract=collapse(result.summary),
        authors=tuple(collapse(a.name) for a in result.authors),
        categories=tuple(categories),
        version=version or 1,
        published=_as_utc(result.published),
        updated=_as_utc(result.updated),
        comment=collapse(result.comment or ""),
    ))


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


def is_retryable_status(status: int) -> bool:
    """429 (rate limited) and every 5xx are worth another try; other 4xx are our mistake."""
    return status == 429 or status >= 500


def parse_retry_after(response: requests.Response | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or HTTP date), or None."""
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_feed_message(response: requests.Response | None) -> str:
    """arXiv's message from an error feed (`<entry><title>Error</title><summary>…`), or ""."""
    if response is None or not response.content:
        return ""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(response.content, parser=parser)
    except etree.XMLSyntaxError:
        return ""
    for entry in root.iterfind("atom:entry", _ATOM):
        if (entry.findtext("atom:title", "", _ATOM) or "").strip() == "Error":
            return collapse(entry.findtext("atom:summary", "", _ATOM) or "")[:300]
    return ""


def describe_error(exc: Exception) -> str:
    """A short reason for the log and the final error."""
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, arxiv.UnexpectedEmptyPageError):
        return "unexpected empty page"
    return f"connection failed ({type(exc).__name__})"


def collapse(text: str) -> str:
    """Runs of whitespace (arXiv's hard wraps) as single spaces."""
    return " ".join(text.split())


def unique(items: Iterator[str] | Sequence[str]) -> list[str]:
    """Non-empty items in first-seen order, without repeats."""
    return list(dict.fromkeys(i for i in items if i))


def _as_utc(when: datetime | None) -> datetime | None:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    if when is None:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
