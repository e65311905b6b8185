"""Where papers come from: the arXiv API, a replay of the bundled sample, and full texts.

Only this package imports `arxiv`. Everything it returns is `agent.models.Paper`.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class Source(Protocol):
    """A source of paper metadata."""

    name: str  # "arxiv" or "sample": cursors are kept per source name

    def fetch_new(self, tracks: Sequence[Track], since: datetime | None) -> FetchResult:
        """Papers in the active tracks' categories/keywords announced after `since`."""
        ...

    def search(self, track: Track, max_results: int) -> list[Paper]:
        """Older papers for one track by keyword query (discovery when nothing new waits)."""
        ...

    def lookup(self, ids: Sequence[str]) -> list[Paper]:
        """Papers by versionless id; unknown ids are simply absent from the answer."""
        ...
