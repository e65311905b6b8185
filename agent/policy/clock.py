"""arXiv's announcement rhythm: when new listings appeared last and appear next."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agent.policy.inputs import require_aware

# arXiv announces new listings once per weekday evening at 20:00 US Eastern, on Sunday to
# Thursday evenings (https://info.arxiv.org/help/availability.html). Scanning again before the
# next announcement only re-reads old news. Holidays skip an announcement; rather than keep a
# holiday table, the empty-scan guard below absorbs them.
ARXIV_TZ = ZoneInfo("America/New_York")
ANNOUNCE_TIME = time(20, 0)
ANNOUNCE_WEEKDAYS = frozenset({6, 0, 1, 2, 3})  # date.weekday(): Sunday, Monday .. Thursday


def announcement_on(day: date) -> datetime:
    # Built from the wall clock in New York so DST is applied on the right dates.
    return datetime.combine(day, ANNOUNCE_TIME, tzinfo=ARXIV_TZ)


def last_announcement(now: datetime) -> datetime:
    """The latest arXiv announcement at or before `now` (Eastern time)."""
    require_aware(now, "now")
    day = now.astimezone(ARXIV_TZ).date()
    for back in range(8):
        candidate = announcement_on(day - timedelta(days=back))
        if candidate.weekday() in ANNOUNCE_WEEKDAYS and candidate <= now:
            return candidate
    raise AssertionError("an announcement happens every week")  # pragma: no cover


def next_announcement(now: datetime) -> datetime:
    """The first arXiv announcement strictly after `now` (Eastern time)."""
    require_aware(now, "now")
    day = now.astimezone(ARXIV_TZ).date()
    for ahead in range(8):
        candidate = announcement_on(day + timedelta(days=ahead))
        if candidate.weekday() in ANNOUNCE_WEEKDAYS and candidate > now:
            return candidate
    raise AssertionError("an announcement happens every week")  # pragma: no cover


def et(moment: datetime) -> str:
    return f"{moment.astimezone(ARXIV_TZ):%a %H:%M} ET"
