"""When cycles run: intervals, cron lines, time zones, the first run and failure backoff.

Pure functions over datetimes (the scheduler itself lives in loop.py), so tests need no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from agent.errors import ConfigError

BACKOFF_CAP = timedelta(hours=6)  # after repeated failures, still try at least this often


def parse_every(text: str) -> timedelta:
    """Parse an interval like "90s", "15m", "2h", "1h30m" or "1d"."""
    match = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text.strip().lower())
    if not text.strip() or match is None:
        raise ConfigError(
            f"invalid interval {text!r}: use a number with a unit, e.g. 90s, 15m, 2h, 1h30m or 1d"
        )
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    every = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if every <= timedelta(0):
        raise ConfigError(f"invalid interval {text!r}: it must be longer than zero")
    return every


def load_timezone(name: str) -> ZoneInfo:
    """The zone named in `[schedule] timezone`, or a ConfigError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown timezone {name!r} in [schedule] timezone; use an IANA name like "
            "'UTC' or 'Europe/Paris'"
        ) from None


def parse_cron(expr: str, timezone_name: str = "UTC") -> CronTrigger:
    """A trigger for a standard 5-field crontab line (day of week 0 or 7 = Sunday)."""
    fields = expr.split()
    try:
        if len(fields) != 5:
            raise ValueError(f"it has {len(fields)} fields, expected 5")
        fields[4] = _crontab_weekdays(fields[4])
        return CronTrigger.from_crontab(" ".join(fields), timezone=load_timezone(timezone_name))
    except ValueError as exc:
        raise ConfigError(
            f"invalid cron expression {expr!r} in [schedule] cron: {exc}; "
            "use 'minute hour day month weekday', e.g. '0 */2 * * *'"
        ) from None


def _crontab_weekdays(field: str) -> str:
    """Name numeric weekdays: APScheduler 3.x counts 0 as Monday, crontab counts it as Sunday."""
    names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    parts = []
    for part in field.split(","):
        body, slash, step = part.partition("/")
        low, dash, high = body.partition("-")
        if not (low.isdigit() and (not dash or high.isdigit())):
            parts.append(part)
            continue
        if int(low) > 7 or (dash and int(high) > 7):
            raise ValueError(f"weekday {body!r} is out of range 0-7")
        if dash and int(low) == 0 and not slash:
            # Sunday starts a crontab week but ends APScheduler's.
            parts.append("sun" + (f",mon-{names[int(high)]}" if int(high) > 0 else ""))
            continue
        named = names[int(low)] + (f"-{names[int(high)]}" if dash else "")
        parts.append(named + slash + step)
    return ",".join(parts)


def plan_first_run(
    now: datetime, last_completed: datetime | None, next_after: Callable[[datetime], datetime]
) -> datetime:
    """When the first cycle runs: now if one is overdue (or none ever ran), else when due."""
    if last_completed is None:
        return now
    due = next_after(min(_as_aware(last_completed), now))
    return now if due <= now else due


def backoff_ticks(failures: int, max_skip: int) -> int:
    """Ticks to skip after `failures` consecutive failures: 0, 1, 3, 7, … capped at max_skip."""
    if failures <= 0:
        return 0
    return min(2 ** min(failures - 1, 30) - 1, max_skip)


def max_skip_ticks(period: timedelta) -> int:
    """The most ticks a backoff may skip, so a failing daemon still tries every BACKOFF_CAP."""
    if period >= BACKOFF_CAP:
        return 0
    return max(0, int(BACKOFF_CAP / period) - 1)


def _as_aware(moment: datetime) -> datetime:
    """Treat a naive datetime (SQLite drops tzinfo) as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


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


def build_schedule(
    every: timedelta | None, cron: str | None, zone: ZoneInfo
) -> tuple[Callable[[datetime], datetime], timedelta, dict[str, str]]:
    """The next-time function (strictly after a moment), the typical period, daemon.json keys."""
    if cron:
        trigger = parse_cron(cron, zone.key)

        def next_after(moment: datetime) -> datetime:
            return trigger.get_next_fire_time(None, moment + timedelta(microseconds=1))

        first = next_after(utc_now())
        if first is None:
            raise ConfigError(f"cron expression {cron!r} in [schedule] cron never fires")
        return next_after, next_after(first) - first, {"cron": cron}
    if every is None:
        raise ConfigError("no schedule: set [schedule] every (e.g. 1h) or cron in research.toml")
    if every <= timedelta(0):
        raise ConfigError(f"invalid interval {every}: it must be longer than zero")
    return lambda moment: moment + every, every, {"every": format_every(every)}
