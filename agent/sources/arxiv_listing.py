"""What a listing's feed entries become: `Paper`s with clean text and sane dates, the week-long
windows a long backfill is asked for in, the newest version of each paper, the next cursor, and
the warning when arXiv stays quiet for days."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import arxiv

from agent.errors import AgentError
from agent.models import Paper
from agent.schedule import as_utc
from agent.sources.arxiv_retry import announcement_days
from agent.sources.ids import normalize_arxiv_id
from agent.text import cut, plain_paper, shorten

logger = logging.getLogger(__name__)

FUTURE_MARGIN = timedelta(hours=1)  # feed dates later than now plus this are clamped to now
# Stored text is bounded: arXiv's own limits are far below (an abstract is at most 1,920
# characters), so only a broken or hostile feed is cut.
MAX_TITLE, MAX_ABSTRACT, MAX_COMMENT, MAX_AUTHOR = 1_000, 20_000, 2_000, 300
# what an arXiv category looks like (cs.CL, eess.AS, hep-th, math-ph, q-bio.NC)
_CATEGORY = re.compile(r"[A-Za-z][A-Za-z-]{0,15}(?:\.[A-Za-z][A-Za-z-]{0,15})?")
QUIET_DAYS = 3  # announcement days without a single listed paper before the note says so
# arXiv serves at most 30,000 results of one query; five busy categories list ~2k papers a
# weekday, so a long backfill is asked for in windows of a week (newest first).
WINDOW_DAYS = 7


def paper_from_result(result: arxiv.Result, now: datetime | None = None) -> Paper | None:
    """Our Paper from an arxiv.Result, or None (logged) for an entry whose id is not arXiv's.

    Dates later than `now` plus a margin are clamped to `now`: a feed's date is data. Texts are
    bounded (MAX_TITLE...), categories not shaped like arXiv's dropped, both logged.
    """
    try:
        paper_id, version = normalize_arxiv_id(result.entry_id)
    except AgentError:
        logger.warning("arXiv feed: skipped an entry with id %r", cut(result.entry_id, 80))
        return None
    return plain_paper(Paper(  # LaTeX as Unicode, once, at ingestion
        id=paper_id,
        title=shorten(result.title, MAX_TITLE),
        abstract=shorten(result.summary, MAX_ABSTRACT),
        authors=tuple(shorten(a.name, MAX_AUTHOR) for a in result.authors),
        categories=feed_categories(result),
        version=version or 1,
        published=clamp(as_utc(result.published), now),
        updated=clamp(as_utc(result.updated), now),
        comment=shorten(result.comment or "", MAX_COMMENT),
    ))


def feed_categories(result: arxiv.Result) -> tuple[str, ...]:
    """The entry's categories, primary first, without any that is not shaped like one."""
    raw = unique([result.primary_category or "", *result.categories])
    kept = tuple(c for c in raw if _CATEGORY.fullmatch(c))
    if len(kept) < len(raw):
        odd = [cut(c, 40) for c in raw if c not in kept]
        logger.warning("arXiv feed: %s: dropped odd categories %r", result.entry_id[:80], odd)
    return kept


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


def newest_cursor(
    papers: Sequence[Paper], since: datetime | None, now: datetime | None = None
) -> datetime | None:
    """The newest submission date seen, never later than the scan's own clock `now` (a feed's
    date is data: one entry from the future must not make later scans skip papers), never
    earlier than `since`.

    Submission (`published`) rather than `updated`, because the next fetch compares the cursor
    with submittedDate: a v2 updated today must not push the window past unmoderated papers.
    """
    dates = [p.published for p in papers if p.published]
    if now is not None:
        dates = [min(d, now) for d in dates]
    if since:
        dates.append(since)
    return max(dates) if dates else None


def unique(items: Iterable[str]) -> list[str]:
    """Non-empty items in first-seen order, without repeats."""
    return list(dict.fromkeys(i for i in items if i))
