"""The schedule's grammar, in one place: intervals, time zones, active hours, UTC, backoff.

Pure functions with no scheduler behind them: config.py validates `[schedule]` with them, the
policy reads the researcher's clock with them, and the daemon (which alone imports APScheduler,
for cron lines) builds its schedule from them.

Failure backoff has one rule, `failure_backoff`: the first wait, doubled per consecutive failure,
capped. Two layers apply it to different failures, never to the same one:
- the policy (`policy.backoff_until`) to failed cycles, which the cycle records in the store: it
  survives restarts and the note, the log and `status` say why it waits (15 min, up to 4 h);
- the daemon (`daemon.schedule.backoff_ticks`) only to a cycle that raised before it could record
  anything (the store itself unreachable): it skips ticks, trying at least every six hours.
Retries inside one request (arXiv's 429/503, Retry-After) belong to the source and are seconds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.errors import ConfigError

_EVERY = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_HOURS = re.compile(r"^\s*(\d{1,2})(?::(\d\d))?\s*-\s*(\d{1,2})(?::(\d\d))?\s*$")


def parse_every(text: str) -> timedelta:
    """Parse an interval like "90s", "15m", "2h", "1h30m" or "1d"."""
    match = _EVERY.fullmatch(text.strip().lower())
    if not text.strip() or match is None:
        raise ConfigError(
            f"invalid interval {text!r}: use a number with a unit, e.g. 90s, 15m, 2h, 1h30m or 1d"
        )
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    every = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if every <= timedelta(0):
        raise ConfigError(f"invalid interval {text!r}: it must be longer than zero")
    return every


def format_every(every: timedelta) -> str:
    """1h30m style, the inverse of parse_every (sub-second intervals shown in seconds)."""
    total = every.total_seconds()
    if total != int(total) or total < 1:
        return f"{total:g}s"
    rest, text = int(total), ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            text += f"{rest // size}{unit}"
            rest %= size
    return text


def load_timezone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or a ConfigError saying where to fix it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"[schedule] timezone = {name!r} is not an IANA time zone; "
            "use a name such as 'Europe/Berlin' or 'UTC'"
        ) from None


def parse_active_hours(text: str) -> tuple[time, time] | None:
    """Parse "22-07" or "09:30-17:00" into (start, end); "" means no active hours."""
    if not text.strip():
        return None
    match = _HOURS.match(text)
    bad = ConfigError(
        f"[schedule] active_hours = {text!r} is not a window of hours; "
        "write it as 'HH-HH' (e.g. '22-07' for nights, '09-17' for days)"
    )
    if not match:
        raise bad
    h1, m1, h2, m2 = (int(g) if g else 0 for g in match.groups())
    if h2 == 24 and m2 == 0:
        h2 = 0  # "08-24" ends at midnight
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
        raise bad
    return time(h1, m1), time(h2, m2)


def in_active_hours(local: datetime, active_hours: str) -> bool:
    """Whether the local time falls in the window; a window may wrap past midnight."""
    window = parse_active_hours(active_hours)
    if window is None:
        return False
    start, end = window
    now = local.time().replace(tzinfo=None)
    if start < end:
        return start <= now < end
    return now >= start or now < end


def local_midnight(now: datetime, timezone: str) -> datetime:
    """The start of today in the researcher's timezone (the daily budget resets then)."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(0)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """The same instant in UTC; a naive datetime (SQLite drops tzinfo, feeds may omit it) is
    taken as UTC; None stays None. The one home of this rule outside the store's column type."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def failure_backoff(failures: int, first: timedelta, cap: timedelta) -> timedelta:
    """How long to wait after `failures` consecutive failures: first, 2×, 4×, … at most cap."""
    if failures <= 0:
        return timedelta(0)
    return min(first * (1 << min(failures - 1, 20)), cap)  # 2**20 days still fits a timedelta
