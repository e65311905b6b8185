"""The arXiv client one process shares per endpoint, and the pager that walks one search's
results page by page (from the public `arxiv.Client.results(search, offset)`), remembering
the offset reached so a failed page can be resumed.

A feed's numbers are data. arxiv's own loop trusts the first page's totalResults: it stops there
even if pages hold more, and resuming after an empty page (arXiv's answer when overloaded)
starts a "first page" that, empty again, ends the listing quietly. So the pager decides where a
listing ends: it reads on while later pages raise the total or full pages outrun it, takes an
empty page short of the total for a failure to retry, and refuses a listing longer than arXiv
serves for one query (MAX_LISTING) instead of asking for half a million pages.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import arxiv

from agent.errors import SourceError
from agent.models import Paper
from agent.settings import ArxivSettings
from agent.sources.arxiv_http import BASE_BYTES, BYTES_PER_ENTRY, BoundedSession, attach_session
from agent.sources.arxiv_listing import paper_from_result
from agent.text import cut

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
# arXiv serves at most 30,000 results of one query (a week of all of arXiv is ~6,000 papers)
MAX_LISTING = 30_000


class ShortListing(Exception):
    """An empty page before the end the feed announced (arXiv overloaded): retried."""


@dataclass
class SharedClient:
    client: arxiv.Client
    session: BoundedSession
    lock: threading.RLock  # the client's rate limiter is not thread-safe


# arXiv's rate limit is per client (it sleeps until `delay_seconds` have passed since *its own*
# last request), so every ArxivSource of this process shares one client per endpoint.
_CLIENTS: dict[tuple[str, float, float, int], SharedClient] = {}
_CLIENTS_LOCK = threading.Lock()


def get_client(settings: ArxivSettings) -> SharedClient:
    """The process-wide arxiv client for these settings (created on first use)."""
    key = (settings.api_url, settings.delay_seconds, settings.timeout_seconds, settings.page_size)
    with _CLIENTS_LOCK:
        shared = _CLIENTS.get(key)
        if shared is None:
            client = arxiv.Client(
                page_size=settings.page_size, delay_seconds=settings.delay_seconds, num_retries=0
            )
            client.query_url_format = settings.api_url + "?{}"
            max_bytes = BASE_BYTES + BYTES_PER_ENTRY * settings.page_size
            session = BoundedSession(settings.timeout_seconds, max_bytes)
            attach_session(client, session)
            shared = _CLIENTS[key] = SharedClient(client, session, threading.RLock())
        return shared


@dataclass
class Ask:
    """One search of a scan or lookup, with what progress messages call it."""

    search: arxiv.Search
    label: str
    floor: datetime | None = None  # sorted newest first: stop at the first paper older than this


class Pager:
    """Walks one search's results page by page, remembering how far it got."""

    def __init__(
        self,
        ask: Ask,
        shared: SharedClient,
        page_size: int,
        progress: Progress | None,
        cap: int = MAX_LISTING,
    ):
        self.ask = ask
        self.shared = shared
        self.page_size = page_size
        self.progress = progress
        self.cap = cap
        self.papers: list[Paper] = []
        self.offset = 0
        self.claimed = 0  # the highest totalResults any page announced
        self._offset_at_failure = -1
        self._page: object = None

    def run(self, client: arxiv.Client, limit: int | None, now: datetime) -> None:
        """Fetch from the current offset to the listing's end (or until the limit is met)."""
        self._offset_at_failure = self.offset
        while True:
            start = self.offset
            self._page = self.shared.session.last_response
            try:
                for result in client.results(self.ask.search, offset=self.offset):
                    self._note_page()
                    self.offset += 1
                    paper = paper_from_result(result, now)
                    if paper is None or self._outside(paper):
                        continue
                    self.papers.append(paper)
                    if limit is not None and len(self.papers) >= limit:
                        return
            except arxiv.UnexpectedEmptyPageError:
                if not self._step_over_unreadable():
                    if self.ask.search.max_results is not None:
                        raise  # a search: retried by the caller
                    self._more_to_read(progressed=False)  # ShortListing, or the listing shrank
                    return
            self._step_over_unreadable()  # a resumed "first page" of them ended arxiv's loop
            if not self._more_to_read(progressed=self.offset > start):
                return

    def _step_over_unreadable(self) -> bool:
        """Move past a page whose entries gave arxiv no result at all (no id, no date): arxiv
        counts results, not entries, so it would ask for them again, or take a resumed page
        of them for the end of the listing."""
        last = self.shared.session.last_response
        if last is None or last is self._page or not last.entries:
            return False  # no new page, or one with results (_note_page saw it), or empty
        self._check_size(last.entries)
        logger.warning(
            "arXiv feed: skipped %d unreadable entries at result %d", last.entries, self.offset
        )
        self.offset += last.entries
        self._page = last
        return True

    def _outside(self, paper: Paper) -> bool:
        """An entry dated before the window asked for: not this listing's (a feed's date is
        data: it is skipped, and the entries after it are still read)."""
        floor = self.ask.floor
        if floor is None or paper.published is None or paper.published >= floor:
            return False
        logger.warning(
            "arXiv feed: skipped %s, dated %s, before the window from %s", paper.id,
            paper.published.isoformat(), floor.isoformat(),
        )
        return True

    def _more_to_read(self, progressed: bool) -> bool:
        """Whether a listing goes on after arxiv's loop stopped (only listings: a search with
        max_results stops where arxiv stops it). The last page's own total counts: a later page
        may announce more than the first (read on) or fewer (believed, logged); an empty page
        short of it, or of the most announced when it says 0 (arXiv overloaded), is retried."""
        last = self.shared.session.last_response
        if self.ask.search.max_results is not None or last is None:
            return False
        total = last.total_results or 0
        self.claimed = max(self.claimed, total)
        if self.claimed > self.cap:
            raise self._too_long(f"announces {self.claimed:,} papers")
        if last.entries == 0:
            expected = total or self.claimed
            if self.offset < expected:
                raise ShortListing(
                    f"an empty page at result {self.offset:,} of the {expected:,} announced"
                )
            if total < self.claimed:
                logger.warning(
                    "arXiv: the listing shrank from %d to %d papers while it was read: %s",
                    self.claimed, total, cut(self.url()),
                )
            return False
        # read on if a later page announced more than the first, or full pages outrun the total
        more = progressed and (
            self.offset < total or (self.offset > total and last.entries >= self.page_size)
        )
        if more and self.offset >= self.cap:
            raise self._too_long(f"kept sending full pages past {self.offset:,} papers")
        return more

    def _check_size(self, entries: int) -> None:
        if entries > self.page_size:
            raise self._not_arxiv(f"sent {entries:,} entries for the {self.page_size:,} asked")

    def _too_long(self, what: str) -> SourceError:
        return self._not_arxiv(
            f"{what} for one query: more than {self.cap:,} papers, the most arXiv serves for "
            "one query (a week of all of arXiv is ~6,000)"
        )

    def _not_arxiv(self, what: str) -> SourceError:
        """The error for a feed that cannot be arXiv's (not retried: it would say it again)."""
        url = self.url()
        return SourceError(
            f"The arXiv API at {cut(url)} {what}. It is not arXiv's listing: check [arxiv] "
            "api_url and the tracks' categories. Nothing was stored and the next scan reads "
            "this window again.",
            url=url,
        )

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
        return str(self.shared.client.query_url_format.format(urlencode(args)))

    def _note_page(self) -> None:
        """Report a page the moment its first result arrives."""
        response = self.shared.session.last_response
        if response is self._page or response is None:
            return
        self._page = response
        total = response.total_results or 0
        if total > self.cap and self.ask.search.max_results is None:  # a listing, not a search
            raise self._too_long(f"announces {total:,} papers")
        self._check_size(response.entries)
        self.claimed = max(self.claimed, total)
        page = self.offset // self.page_size + 1
        pages = max(page, -(-self.claimed // self.page_size))
        got = self.offset + response.entries
        message = f"asking arXiv: {self.ask.label} page {page}/{pages}, {got:,} papers"
        logger.info(message)
        if self.progress is not None:
            self.progress(message)


def newest_first(query: str) -> arxiv.Search:
    """Every result of the query, newest submission first."""
    return arxiv.Search(
        query,
        max_results=None,
        sort_by=arxiv.SortCriterion.SubmittedDate,
        sort_order=arxiv.SortOrder.Descending,
    )


def label(categories: Sequence[str]) -> str:
    """`cs.CL`, `cs.CL+cs.SD`, `cs.CL+cs.SD+3 more` for progress messages."""
    shown = "+".join(categories[:3])
    return shown + (f"+{len(categories) - 3} more" if len(categories) > 3 else "")
