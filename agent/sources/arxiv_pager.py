"""The arXiv client one process shares per endpoint, and the pager that walks one search's
results page by page (from the public `arxiv.Client.results(search, offset)`), remembering
the offset reached so a failed page can be resumed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import arxiv

from agent.models import Paper
from agent.settings import ArxivSettings
from agent.sources.arxiv_http import BoundedSession, attach_session
from agent.sources.arxiv_listing import paper_from_result

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


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
            session = BoundedSession(settings.timeout_seconds)
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
        self, ask: Ask, shared: SharedClient, page_size: int, progress: Progress | None
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
        return str(self.shared.client.query_url_format.format(urlencode(args)))

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
