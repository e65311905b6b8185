"""Field velocity: how many relevant papers a track drew in the last 2, 6 and 12 weeks, and
whether that is up or down on the same span before.

Counted by arXiv first-version date, up to the newest paper the store holds (a replayed sample
is "now" at its last listing day). A span reaching back before the oldest stored paper has no
"before" to compare with, and says so instead of claiming a rise from zero.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.models import Track
    from agent.store import Store
    from agent.store.quick import Reader

WEEKS = (2, 6, 12)


@dataclass(frozen=True)
class Window:
    """Relevant papers in the last `weeks`, and in the `weeks` before (None: the store does not
    reach back that far). `covered` is False when the store does not span even the last `weeks`:
    then the count is only what the store holds."""

    weeks: int
    count: int
    before: int | None
    covered: bool = True

    @property
    def trend(self) -> str:
        if self.before is None:
            return ""
        return "up" if self.count > self.before else "down" if self.count < self.before else "flat"

    def text(self) -> str:
        """'9 in 2 weeks (up from 3)', or '9 in 2 weeks' with nothing stored to compare."""
        head = f"{self.count} in {self.weeks} weeks"
        if self.before is None:
            return head
        if self.trend == "flat":
            return f"{head} (as many as the {self.weeks} before)"
        return f"{head} ({self.trend} from {self.before})"


@dataclass(frozen=True)
class TrackVelocity:
    """A track's windows, counted up to `as_of`; `oldest` is how far back the store reaches."""

    track_id: str
    as_of: datetime
    windows: tuple[Window, ...]
    oldest: datetime | None = None

    def text(self) -> str:
        """'9 in 2 weeks (up from 3), 14 in 6 weeks (down from 20)', only over spans the store
        covers; '7 since 2026-01-01' when it covers none of them yet."""
        covered = [w for w in self.windows if w.covered]
        if covered:
            return ", ".join(w.text() for w in covered)
        total = max((w.count for w in self.windows), default=0)
        since = f" since {self.oldest:%Y-%m-%d}" if self.oldest else ""
        return f"{total}{since} (the store reaches back no further)"

    def short(self) -> str:
        """'9↑ 14↓ -' for a table: a count per covered span, an arrow where it compares;
        '7 in 9d' while the store covers none of them ('7 in <1d' within its first day)."""
        arrows = {"up": "↑", "down": "↓", "flat": "=", "": ""}
        if not any(w.covered for w in self.windows):  # "7 in 9d": all the store has
            days = (self.as_of - self.oldest).days if self.oldest else 0
            return f"{max((w.count for w in self.windows), default=0)} in {days or '<1'}d"
        return " ".join(
            f"{w.count}{arrows[w.trend]}" if w.covered else "-" for w in self.windows
        )


def field_velocity(
    arrivals: Iterable[tuple[str, str, datetime]],
    track_ids: Sequence[str],
    now: datetime,
    oldest: datetime | None,
) -> list[TrackVelocity]:
    """Per track (in the given order), counts over WEEKS ending at the newest arrival or now.

    `arrivals` are (paper id, track id, first-version date) of relevant matches; repeats count
    once."""
    triples = set(arrivals)
    if not triples:
        return []
    as_of = min(now, max(when for _, _, when in triples))
    dates_of: dict[str, list[datetime]] = {}
    for _, track, when in triples:  # one pass, not one per track (24k at a year's scale)
        dates_of.setdefault(track, []).append(when)
    velocities = []
    for track_id in track_ids:
        dates = sorted(dates_of.get(track_id, ()))
        windows = tuple(window(dates, as_of, weeks, oldest) for weeks in WEEKS)
        velocities.append(TrackVelocity(track_id, as_of, windows, oldest))
    return velocities


def window(
    dates: Sequence[datetime], as_of: datetime, weeks: int, oldest: datetime | None
) -> Window:
    """The count in the last `weeks` up to as_of, and in the span before when the store has it;
    `dates` sorted."""
    span = timedelta(weeks=weeks)
    start, earlier = as_of - span, as_of - 2 * span
    count = bisect_right(dates, as_of) - bisect_right(dates, start)  # start < d <= as_of
    reaches = oldest is not None and oldest <= earlier
    before = bisect_right(dates, start) - bisect_right(dates, earlier) if reaches else None
    return Window(weeks, count, before, covered=oldest is not None and oldest <= start)


def store_velocity(
    store: Store | Reader,
    tracks: Sequence[Track],
    now: datetime,
    adding: Iterable[tuple[str, str, datetime]] = (),
) -> list[TrackVelocity]:
    """Field velocity of the tracks from what the store holds plus what a cycle is `adding`."""
    arrivals, oldest = store.arrivals()
    adding = list(adding)
    if adding:
        first = min(when for _, _, when in adding)
        oldest = first if oldest is None else min(oldest, first)
    return field_velocity([*arrivals, *adding], [t.id for t in tracks], now, oldest)
