"""What a listing's feed entries become: `Paper`s with clean text and sane dates, the week-long
windows a long backfill is asked for in, the newest version of each paper, the next cursor, and
the warning when arXiv stays quiet for days."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import arxiv

from agent.errors import AgentError
from agent.models import Paper
from agent.schedule import as_utc
from agent.sources.arxiv_retry import announcement_days
from agent.sources.ids import normalize_arxiv_id
from agent.text import cut, plain_paper

logger = logging.getLogger(__name__)

FUTURE_MARGIN = timedelta(hours=1)  # feed dates later than now plus this are clamped to now
QUIET_DAYS = 3  # announcement days without a single listed paper before the note says so
# arXiv serves at most 30,000 results of one query; five busy categories list ~2k papers a
# weekday, so a long backfill is asked for in windows of a week (newest first).
WINDOW_DAYS = 7


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
        published=clamp(as_utc(result.published), now),
        updated=clamp(as_utc(result.updated), now),
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


def collapse(text: str) -> str:
    """Runs of whitespace (arXiv's hard wraps) as single spaces."""
    return " ".join(text.split())


def unique(items: Iterable[str]) -> list[str]:
    """Non-empty items in first-seen order, without repeats."""
    return list(dict.fromkeys(i for i in items if i))
