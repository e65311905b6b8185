"""A Source replaying the bundled real arXiv papers as if they were announced day by day.

Like the arXiv scan, a replayed day is the complete listing of the watched categories (the
union of the active tracks' categories), whether a paper matches a track or not; a track
without categories adds the papers its keywords match. The cursor lives in replay time: each
fetch_new moves it to the next listing day(s) of the file (`first_listing_date`), so the demo
and tests see a realistic stream without the network. Papers without a listing day (old papers
re-listed as new versions) never arrive as new, but search() and lookup() find them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from agent.errors import ConfigError
from agent.models import Paper, Track
from agent.schedule import as_utc
from agent.sources import FetchResult, ScanRequest
from agent.sources.arxiv_query import uncategorised, watched_categories
from agent.sources.ids import normalize_arxiv_id
from agent.sources.jsonl import SAMPLE_PATH, iter_records
from agent.text import plain_paper

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Listed:
    """A paper and the day arXiv listed it (None: not listed as new in the sample)."""

    paper: Paper
    day: date | None


class SampleSource:
    """Papers from a .jsonl(.gz) file, replayed listing day by listing day."""

    name = "sample"

    def __init__(
        self,
        path: Path | None = None,
        days_per_fetch: int = 1,
        cursor: datetime | None = None,
        start: date | None = None,
    ):
        """`cursor`: the replay position already reached (search() treats what was listed on or
        before it as history; fetch_new moves it). `start`: skip listing days before this one
        on the first fetch (the bundled sample's 2025 days are sparse; its dense run starts on
        2026-01-05)."""
        if days_per_fetch < 1:
            raise ValueError("days_per_fetch must be at least 1")
        self.path = path or SAMPLE_PATH
        self.days_per_fetch = days_per_fetch
        self.cursor = as_utc(cursor)
        self.start = start
        self._listed: list[_Listed] | None = None

    def fetch_new(self, request: ScanRequest) -> FetchResult:
        """Every paper of the next `days_per_fetch` listing days after `since` in the watched
        categories, plus keyword matches of tracks without categories (`now` is not used: the
        replay has its own time)."""
        tracks, since = request.tracks, as_utc(request.since)
        days = self._next_days(since)
        categories = watched_categories(tracks)
        by_keywords = [t for t in uncategorised(tracks) if t.keywords]
        queries = describe_listing(categories, by_keywords)
        result = FetchResult(
            [], since, queries, categories, [t.id for t in by_keywords], since=since
        )
        if not days:
            logger.info("Sample replay exhausted after %s", since)
            return result
        request.report(f"replaying the sample's listing of {days[0]}..{days[-1]}")
        watched = set(categories)
        result.papers = [
            item.paper
            for item in self._load()
            if item.day in days
            and (watched & set(item.paper.categories) or listed_by(item.paper, by_keywords))
        ]
        self.cursor = result.cursor = datetime.combine(days[-1], datetime.min.time(), tzinfo=UTC)
        logger.info("Sample replay %s..%s: %d papers", days[0], days[-1], len(result.papers))
        # LaTeX as Unicode at ingestion, for the papers handed out only (the ranker's background
        # reads the whole file raw, as it was calibrated)
        result.papers = [plain_paper(p) for p in result.papers]
        return result

    def search(self, track: Track, max_results: int) -> list[Paper]:
        """Papers listed up to the cursor (or never listed) best matching the track's keywords."""
        limit = self.cursor.date() if self.cursor else None
        scored = []
        for item in self._load():
            if limit and item.day and item.day > limit:
                continue  # not announced yet in replay time
            score = keyword_hits(item.paper, track.keywords)
            overlap = bool(set(item.paper.categories) & set(track.categories))
            if score or (overlap and not track.keywords):
                scored.append((score, overlap, item.day or date.min, item.paper))
        scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
        return [plain_paper(paper) for *_, paper in scored[:max_results]]

    def lookup(self, ids: Sequence[str]) -> list[Paper]:
        """Papers of the whole file by id (any form ids.py accepts), in the order asked."""
        by_id = {item.paper.id: item.paper for item in self._load()}
        wanted = dict.fromkeys(normalize_arxiv_id(i)[0] for i in ids)
        return [plain_paper(by_id[i]) for i in wanted if i in by_id]

    def listing_days(self) -> list[date]:
        """Every listing day of the file, oldest first."""
        return sorted({item.day for item in self._load() if item.day})

    def _next_days(self, since: datetime | None) -> list[date]:
        """The listing days one fetch replays."""
        days = self.listing_days()
        if since is None:
            days = [d for d in days if self.start is None or d >= self.start]
        else:
            days = [d for d in days if d > since.date()]
        return days[: self.days_per_fetch]

    def _load(self) -> list[_Listed]:
        """The file's papers with their listing days, read once."""
        if self._listed is None:
            self._listed = [
                _Listed(paper, self._parse_day(record.get("first_listing_date"), paper.id))
                for record, paper in iter_records(self.path)
            ]
        return self._listed

    def _parse_day(self, value: object, paper_id: str) -> date | None:
        """A record's listing day; ConfigError naming the file if it is not YYYY-MM-DD."""
        try:
            return date.fromisoformat(str(value)[:10]) if value else None
        except ValueError as exc:
            raise ConfigError(
                f"{self.path}: paper {paper_id} has first_listing_date {value!r}; "
                "use YYYY-MM-DD or null."
            ) from exc


def listed_by(paper: Paper, tracks: Sequence[Track]) -> bool:
    """A keyword of one of the tracks in title or abstract (case-insensitive)."""
    return any(keyword_hits(paper, t.keywords) > 0 for t in tracks)


def keyword_hits(paper: Paper, keywords: Sequence[str]) -> int:
    """How often the keywords occur in title and abstract (case-insensitive substrings)."""
    text = f"{paper.title} {paper.abstract}".lower()
    return sum(text.count(k.lower()) for k in keywords if k.strip())


def describe_listing(categories: Sequence[str], by_keywords: Sequence[Track]) -> list[str]:
    """What the replay lists, for the note's list of queries."""
    asked = [f"sample replay: every paper in {', '.join(categories)}"] if categories else []
    for track in by_keywords:
        words = ", ".join(f'"{k}"' for k in track.keywords[:20])
        asked.append(f"sample replay [{track.id}]: keywords {words}")
    return asked
