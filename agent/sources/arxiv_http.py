"""The one adapter between the `arxiv` package and our HTTP: bounded httpx, checked feeds.

arxiv 4.x fetches every page with `self._session.get(url, headers=...)` (a requests.Session)
and offers no public way to pass a session, a timeout or a transport. `attach_session` is the
only place that touches the client's private `_session`; tests/test_sources_arxiv.py fails
loudly if an arxiv release stops calling it. Everything else goes through the public
`Client.results(search, offset)`.

`BoundedSession.get` sends the request through `agent.net.bounded_client` (a total deadline per
request, whatever the peer does) and, for an HTTP 200, checks that the body is an Atom feed
before arxiv sees it: arxiv's own parser recovers from broken XML and reads an HTML page as an
empty feed, which a scan would take for "nothing new".
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

_ATOM = "{http://www.w3.org/2005/Atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
# C0 control characters (but tab, newline, return) and references to them: not allowed in XML
# 1.0. One in a title must not make a whole page of 2,000 papers unreadable, so they go.
_CONTROL = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]));"
)


class FeedError(Exception):
    """An HTTP 200 whose body is not an arXiv Atom feed (an HTML page, broken XML)."""


@dataclass
class Response:
    """What arxiv.Client reads of a response: status_code, content, headers."""

    status_code: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)
    total_results: int | None = None  # opensearch:totalResults of a checked feed


class BoundedSession:
    """A stand-in for requests.Session: `get` only, through a bounded httpx client.

    It remembers each thread's last response (for Retry-After, arXiv's error feed and the
    page count of progress messages).
    """

    def __init__(self, timeout_seconds: float):
        from agent.net import bounded_client

        self.timeout_seconds = timeout_seconds
        self.client = bounded_client(timeout_seconds, timeout_seconds)
        self.calls = 0
        self._local = threading.local()

    def get(self, url: str, headers: dict[str, str] | None = None, **_: Any) -> Response:
        """GET `url`; httpx errors propagate (timeouts, refused connections, bad DNS)."""
        self.calls += 1
        self._local.response = None
        answer = self.client.get(url, headers=headers)
        response = Response(answer.status_code, answer.content, dict(answer.headers))
        self._local.response = response
        if response.status_code == 200:
            response.content = _CONTROL.sub(b"", response.content)
            response.total_results = check_feed(response.content)
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


def check_feed(content: bytes) -> int:
    """opensearch:totalResults of an Atom feed; FeedError if the body is not one."""
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
        return max(0, int((total or "").strip()))
    except ValueError:
        raise FeedError(f"the feed's totalResults is {total!r}, not a number") from None


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
