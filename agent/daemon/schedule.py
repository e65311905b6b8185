"""When the daemon's cycles run: cron lines, the first run, the next run, tick backoff.

Pure functions over datetimes (the loop itself lives in loop.py), so tests need no clock. The
grammar shared with config and policy (intervals, zones, active hours) is agent.schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from agent.errors import ConfigError
from agent.schedule import as_utc, failure_backoff, format_every, load_timezone, utc_now

BACKOFF_CAP = timedelta(hours=6)  # after repeated failures, still try at least this often


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
    due = next_after(min(as_utc(last_completed), now))
    return now if due <= now else due


def backoff_ticks(failures: int, period: timedelta) -> int:
    """Ticks to skip after `failures` cycles in a row raised: 0, 1, 3, 7, … (the one doubling
    rule, agent.schedule.failure_backoff, counted in periods), so it still tries every BACKOFF_CAP.
    """
    wait = failure_backoff(failures, period, max(BACKOFF_CAP, period))
    return max(0, int(wait / period) - 1)


def build_schedule(
    every: timedelta | None, cron: str | None, zone: ZoneInfo
) -> tuple[Callable[[datetime], datetime], timedelta, dict[str, str]]:
    """The next-time function (strictly after a moment), the typical period, daemon.json keys."""
    if cron:
        trigger = parse_cron(cron, zone.key)

        def next_after(moment: datetime) -> datetime:
            fire = trigger.get_next_fire_time(None, moment + timedelta(microseconds=1))
            if not isinstance(fire, datetime):
                raise ConfigError(f"cron expression {cron!r} in [schedule] cron never fires")
            return fire

        first = next_after(utc_now())
        return next_after, next_after(first) - first, {"cron": cron}
    if every is None:
        raise ConfigError("no schedule: set [schedule] every (e.g. 1h) or cron in research.toml")
    if every <= timedelta(0):
        raise ConfigError(f"invalid interval {every}: it must be longer than zero")
    return lambda moment: moment + every, every, {"every": format_every(every)}
