"""The one adapter between the `arxiv` package and our HTTP: bounded httpx, checked feeds.

arxiv 4.x fetches every page with `self._session.get(url, headers=...)` (a requests.Session)
and offers no public way to pass a session, a timeout or a transport. `attach_session` is the
only place that touches the client's private `_session` (tests/test_architecture.py allows it
here alone); `test_every_request_arxiv_sends_goes_through_our_bounded_session` in
tests/test_sources_arxiv.py fails if an arxiv release stops reading it. Everything else goes
through the public `Client.results(search, offset)`.

`BoundedSession.get` sends the request through `agent.net.bounded_client` (a total deadline per
request, whatever the peer does) and, for an HTTP 200, checks that the body is an Atom feed
before arxiv sees it: arxiv's own parser recovers from broken XML and reads an HTML page as an
empty feed, which a scan would take for "nothing new". A body is read up to a size cap (a page
of 2,000 papers is ~5 MB), and an entry whose date arxiv's parser would choke on (`ValueError`
out of the whole page) is taken out of the feed, logged, so that its neighbours are kept.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

logger = logging.getLogger(__name__)

_ATOM = "{http://www.w3.org/2005/Atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
# C0 control characters (but tab, newline, return) and references to them: not allowed in XML
# 1.0. One in a title must not make a whole page of 2,000 papers unreadable, so they go.
_CONTROL = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]));"
)


# The body cap: room for long abstracts and author lists, far below what would hurt memory.
BASE_BYTES = 16 * 1024 * 1024
BYTES_PER_ENTRY = 16 * 1024


class FeedError(Exception):
    """An HTTP 200 whose body is not an arXiv Atom feed (an HTML page, broken XML)."""


class FeedTooLarge(Exception):
    """A body larger than the cap: not retried (it would be read again), named in the error."""

    def __init__(self, limit: int):
        super().__init__(f"more than {limit / 2**20:,.0f} MB")
        self.limit = limit


@dataclass
class Response:
    """What arxiv.Client reads of a response: status_code, content, headers."""

    status_code: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)
    total_results: int | None = None  # opensearch:totalResults of a checked feed
    entries: int = 0  # <entry> elements of a checked feed, bad ones included (arXiv's count)


class BoundedSession:
    """A stand-in for requests.Session: `get` only, through a bounded httpx client.

    It remembers each thread's last response (for Retry-After, arXiv's error feed and the
    page count of progress messages).
    """

    def __init__(self, timeout_seconds: float, max_bytes: int = BASE_BYTES):
        from agent.net import bounded_client

        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes
        self.client = bounded_client(timeout_seconds, timeout_seconds)
        self.calls = 0
        self._local = threading.local()

    def get(self, url: str, headers: dict[str, str] | None = None, **_: Any) -> Response:
        """GET `url`; httpx errors propagate (timeouts, refused connections, bad DNS), a body
        over `max_bytes` raises FeedTooLarge, a 200 that is no feed FeedError."""
        self.calls += 1
        self._local.response = None
        with self.client.stream("GET", url, headers=headers) as answer:
            response = Response(answer.status_code, b"", dict(answer.headers))
            response.content = read_capped(answer, self.max_bytes)
        self._local.response = response
        if response.status_code == 200:
            response.content = _CONTROL.sub(b"", response.content)
            feed = check_feed(response.content)
            response.content, response.total_results, response.entries = feed
        return response

    @property
    def last_response(self) -> Response | None:
        return getattr(self._local, "response", None)


def attach_session(client: Any, session: BoundedSession) -> None:
    """Give an arxiv.Client our session (the single private touch; see the module docstring)."""
    if not hasattr(client, "_session"):
        raise RuntimeError(
            "this arxiv release has no Client._session: agent/sources/arxiv_http.py needs an "
            "update (pyproject pins arxiv 4.x)"
        )
    client._session = session


def read_capped(answer: Any, limit: int) -> bytes:
    """The body of a streamed httpx response, FeedTooLarge past `limit` bytes."""
    declared = answer.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FeedTooLarge(limit)
    chunks, size = [], 0
    for chunk in answer.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise FeedTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def check_feed(content: bytes) -> tuple[bytes, int, int]:
    """(the feed without entries arxiv could not date, opensearch:totalResults, entries);
    FeedError if the body is not an Atom feed."""
    head = content[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise FeedError("the answer is an HTML page, not an Atom feed")
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise FeedError(f"the answer is not well-formed XML ({exc})") from None
    if root.tag != f"{_ATOM}feed":
        kind = "an HTML page" if root.tag.lower().endswith("html") else f"<{root.tag}>"
        raise FeedError(f"the answer is {kind}, not an Atom feed")
    total = root.findtext(f"{_OPENSEARCH}totalResults")
    try:
        count = max(0, int((total or "").strip()))
    except ValueError:
        raise FeedError(f"the feed's totalResults is {total!r:.40}, not a number") from None
    entries = root.findall(f"{_ATOM}entry")
    undated = [e for e in entries if not _dated(e)]
    for entry in undated:
        logger.warning(
            "arXiv feed: skipped entry %r: its published/updated date is not a date",
            (entry.findtext(f"{_ATOM}id") or "")[:80],
        )
        root.remove(entry)
    if undated:
        content = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return content, count, len(entries)


def _dated(entry: ElementTree.Element) -> bool:
    """Whether arxiv's parser reads the entry's dates without a ValueError (a missing one it
    skips by itself)."""
    for tag in ("published", "updated"):
        text = entry.findtext(f"{_ATOM}{tag}")
        if text is None:
            continue
        try:  # as arxiv's _feed._parse_datetime does it
            when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            if when.tzinfo is not None:
                when.astimezone(UTC)
        except (ValueError, OverflowError):
            return False
    return True


def error_feed_message(response: Response | None) -> str:
    """arXiv's message from an error feed (`<entry><title>Error</title><summary>…`), or ""."""
    if response is None or not response.content:
        return ""
    try:
        root = ElementTree.fromstring(response.content)
    except ElementTree.ParseError:
        return ""
    for entry in root.iter(f"{_ATOM}entry"):
        if (entry.findtext(f"{_ATOM}title") or "").strip() == "Error":
            return " ".join((entry.findtext(f"{_ATOM}summary") or "").split())[:300]
    return ""
