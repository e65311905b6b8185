"""Waiting on arXiv: backoff, Retry-After (capped), announcement days, short log lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from agent.schedule import as_utc

BACKOFF_SECONDS = 2.0  # first retry waits this long, then doubles
MAX_BACKOFF_SECONDS = 120.0  # also caps a Retry-After header, so one cycle cannot hang for hours


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before retry `attempt` (1-based): Retry-After if sent, else doubling; capped."""
    if retry_after is not None:
        return float(min(retry_after, MAX_BACKOFF_SECONDS))
    return float(min(BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


def parse_retry_after(response: Any) -> float | None:
    """Seconds a response's Retry-After header asks for (delta-seconds or HTTP date), or None."""
    headers = getattr(response, "headers", None) or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is not None:  # NaN or a negative wait is no answer: the usual backoff then
        return seconds if seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (as_utc(when) - datetime.now(UTC)).total_seconds())


def announcement_days(since: datetime, now: datetime) -> int:
    """arXiv announcement days (Monday to Friday) after `since`'s day up to `now`'s day."""
    day, last = since.date() + timedelta(days=1), now.date()
    count = 0
    while day <= last and count < 10_000:
        count += day.weekday() < 5
        day += timedelta(days=1)
    return count
