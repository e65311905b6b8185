"""What the policy is given: a `Snapshot` of the agent's state and its `PolicySettings`;
and `backoff_until`, when consecutive failures let it try again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from agent.schedule import failure_backoff, load_timezone as zone_of, parse_active_hours

if TYPE_CHECKING:
    from agent.settings import Settings


@dataclass(frozen=True)
class RecentCycle:
    """One earlier cycle, as the policy needs it."""

    number: int
    action: str
    status: str  # "running", "committed", "failed", "rested"
    started: datetime
    papers: int = 0
    new_papers: int = 0

    def __post_init__(self) -> None:
        require_aware(self.started, "RecentCycle.started")


@dataclass(frozen=True)
class CandidateInfo:
    """A paper ranked against one track but not yet summarised."""

    paper_id: str
    track_id: str
    track_name: str
    priority: int  # the track's, 1 .. 5
    score: float  # 0 .. 1
    relevant: bool


@dataclass(frozen=True)
class QueuedInfo:
    """A paper on the must-read queue."""

    paper_id: str
    priority: int
    added_by: str  # "user" or "agent"
    title: str = ""


@dataclass(frozen=True)
class Snapshot:
    """Everything the policy looks at, gathered by the cycle from the store."""

    last_scan_at: datetime | None = None
    recent_cycles: Sequence[RecentCycle] = ()  # newest first
    candidates: Sequence[CandidateInfo] = ()
    queue: Sequence[QueuedInfo] = ()
    queue_exhausted_since: int | None = None  # cycle number
    tokens_today: int = 0
    consecutive_failures: int = 0
    last_failure_at: datetime | None = None
    deep_read_enabled: bool = False
    llm_enabled: bool = False

    def __post_init__(self) -> None:
        for name in ("last_scan_at", "last_failure_at"):
            moment = getattr(self, name)
            if moment is not None:
                require_aware(moment, f"Snapshot.{name}")


@dataclass(frozen=True)
class PolicySettings:
    """The knobs of the policy; `from_settings` builds them from a workspace's Settings."""

    timezone: str = "UTC"  # IANA name: the researcher's clock
    active_hours: str = "22-07"  # deep work while the researcher sleeps; "09-17" also works
    daily_token_budget: int = 600_000
    learn_batch: int = 5
    min_candidates_to_learn: int = 1
    max_empty_scans: int = 2
    failure_backoff: float = 15.0  # minutes after the first failure, doubled per failure
    max_backoff: float = 240.0  # minutes
    high_value: float = 2.0  # score × priority at which a waiting paper counts as high-scoring
    follow_arxiv: bool = True  # False for sources with no announcement rhythm (sample replay)

    def __post_init__(self) -> None:
        zone_of(self.timezone)
        parse_active_hours(self.active_hours)

    @classmethod
    def from_settings(cls, settings: Settings) -> PolicySettings:
        """The policy's view of a workspace's resolved settings."""
        return cls(
            timezone=settings.schedule.timezone,
            active_hours=settings.schedule.active_hours,
            daily_token_budget=settings.llm.daily_token_budget,
            learn_batch=settings.learn.max_papers,
        )


def backoff_until(snapshot: Snapshot, settings: PolicySettings) -> datetime | None:
    """When the agent may try again after consecutive failures, or None if it need not wait."""
    n = snapshot.consecutive_failures
    if n <= 0 or snapshot.last_failure_at is None:
        return None
    first, cap = (timedelta(minutes=m) for m in (settings.failure_backoff, settings.max_backoff))
    return snapshot.last_failure_at + failure_backoff(n, first, cap)


def require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")
