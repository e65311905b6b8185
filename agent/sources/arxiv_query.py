"""arXiv API search queries: the category listing of a scan and a track's keyword query.

A scan asks for every paper in the watched categories submitted within a window:
`(cat:cs.CL OR cat:eess.AS) AND submittedDate:[202601050000 TO 202601081200]`. Keyword queries
(`(cat:A) AND (all:"kw one" OR all:kw2)`) are for tracks without categories and for discovery of
older work. A query is bounded: arXiv answers HTTP 414 to a very long URL, so a track whose
keywords would not fit is refused with a message naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlencode

from agent.errors import SourceError
from agent.models import Track
from agent.schedule import as_utc

MAX_QUERY_CHARS = 4000  # of the URL-encoded search_query; arXiv's own limit is near 8 KB of URL


class QueryTooLong(SourceError):
    """A track's keywords make a query longer than arXiv accepts."""


def watched_categories(tracks: Sequence[Track]) -> list[str]:
    """The union of the active tracks' categories, in first-seen order."""
    return list(
        dict.fromkeys(c for t in tracks if t.active for c in map(clean_term, t.categories) if c)
    )


def uncategorised(tracks: Sequence[Track]) -> list[Track]:
    """Active tracks without categories: a scan covers them with their own keyword query."""
    return [t for t in tracks if t.active and not any(map(clean_term, t.categories))]


def category_query(categories: Sequence[str]) -> str:
    """`cat:A OR cat:B` (empty for no categories)."""
    return " OR ".join(f"cat:{c}" for c in (clean_term(c) for c in categories) if c)


def window(floor: datetime, ceiling: datetime) -> str:
    """`submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]` in UTC."""
    return f"submittedDate:[{_stamp(floor)} TO {_stamp(ceiling)}]"


def listing_query(categories: Sequence[str], floor: datetime, ceiling: datetime) -> str:
    """Every paper in the categories submitted within the window."""
    return bounded(f"({category_query(categories)}) AND {window(floor, ceiling)}", "the scan")


def build_query(track: Track) -> str:
    """`(cat:A OR cat:B) AND (all:"kw one" OR all:kw2)`; either half alone if the other is empty.

    QueryTooLong (naming the track) if it would not fit in a URL arXiv accepts.
    """
    cats = category_query(track.categories)
    words = " OR ".join(keyword_term(k) for k in track.keywords if clean_term(k))
    if cats and words:
        query = f"({cats}) AND ({words})"
    else:
        query = f"({cats or words})" if (cats or words) else ""
    return bounded(query, f"track '{track.id}'", len(track.keywords))


def keyword_listing_query(track: Track, floor: datetime, ceiling: datetime) -> str:
    """A track's keyword query within the scan's window (for a track without categories)."""
    query = build_query(track)
    return bounded(f"{query} AND {window(floor, ceiling)}", f"track '{track.id}'") if query else ""


def bounded(query: str, what: str, keywords: int = 0) -> str:
    """The query if its URL-encoded form fits MAX_QUERY_CHARS, else QueryTooLong."""
    size = len(urlencode({"search_query": query}))
    if size <= MAX_QUERY_CHARS:
        return query
    many = f" ({keywords:,} keywords)" if keywords else ""
    raise QueryTooLong(
        f"The arXiv query for {what}{many} would be {size:,} characters; arXiv accepts about "
        f"{MAX_QUERY_CHARS:,}. Keep its most telling keywords (a few dozen at most) in "
        "state/tracks.toml, or give it categories so the scan reads their whole listing."
    )


def keyword_term(keyword: str) -> str:
    term = clean_term(keyword)
    return f'all:"{term}"' if " " in term else f"all:{term}"


def clean_term(text: str) -> str:
    """A user's keyword without characters that would change the query's structure."""
    for char in '"()[]':
        text = text.replace(char, " ")
    return " ".join(text.split())


def _stamp(when: datetime) -> str:
    return as_utc(when).strftime("%Y%m%d%H%M")
