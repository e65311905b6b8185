"""Where papers come from: the arXiv API, a replay of the bundled sample, and full texts.

Only this package imports `arxiv`. Everything it returns is `agent.models.Paper`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from agent.models import Paper, Track


@dataclass
class FetchResult:
    """Papers announced since a cursor, and the cursor to store once they are safely kept."""

    papers: list[Paper]
    cursor: datetime | None  # newest announcement seen; next fetch starts here minus the overlap
    queries: list[str] = field(default_factory=list)  # what was asked, for the note
    categories: list[str] = field(default_factory=list)  # the listing's watched categories
    keyword_tracks: list[str] = field(default_factory=list)  # tracks covered by keywords instead
    requests: int = 0  # HTTP requests made
    since: datetime | None = None  # the window's start (cursor minus overlap, or the backfill)
    notices: list[str] = field(default_factory=list)  # for the note (e.g. days of silence)


@dataclass(frozen=True)
class ScanRequest:
    """What a scan asks a source for: the papers listed for these tracks after `since`."""

    tracks: Sequence[Track]
    since: datetime | None = None  # the stored cursor; None: the first scan (a backfill)
    now: datetime | None = None  # None: the clock (tests pin it; the sample replay has its own)
    progress: Callable[[str], None] | None = None  # hears of each page (where a stop may cut in)

    def __post_init__(self) -> None:  # frozen all the way down: callers may pass a list
        object.__setattr__(self, "tracks", tuple(self.tracks))

    def report(self, message: str) -> None:
        """Tell `progress` what the source is doing now, if anyone listens."""
        if self.progress is not None:
            self.progress(message)


class Source(Protocol):
    """A source of paper metadata."""

    name: str  # "arxiv" or "sample": cursors are kept per source name

    def fetch_new(self, request: ScanRequest) -> FetchResult:
        """Every paper listed in the request's tracks' categories after its `since` (minus an
        overlap), plus keyword matches of tracks without categories; `progress` hears of each
        page."""
        ...

    def search(self, track: Track, max_results: int) -> list[Paper]:
        """Older papers for one track by keyword query (discovery when nothing new waits)."""
        ...

    def lookup(self, ids: Sequence[str]) -> list[Paper]:
        """Papers by versionless id; unknown ids are simply absent from the answer."""
        ...
