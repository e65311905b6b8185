"""Decide what a cycle does (scan, learn, deep-read or rest) and say why in one sentence.

Pure: the cycle passes in a `Snapshot` of its state and the time `now`; nothing here reads a
clock, a file or the database, so every decision can be checked by a table of examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from agent.models import Decision
from agent.rank.worth import reading_order, worth
from agent.schedule import failure_backoff, in_active_hours, parse_active_hours
from agent.schedule import load_timezone as zone_of

if TYPE_CHECKING:
    from agent.settings import Settings

# arXiv announces new listings once per weekday evening at 20:00 US Eastern, on Sunday to
# Thursday evenings (https://info.arxiv.org/help/availability.html). Scanning again before the
# next announcement only re-reads old news. Holidays skip an announcement; rather than keep a
# holiday table, the empty-scan guard below absorbs them.
ARXIV_TZ = ZoneInfo("America/New_York")
ANNOUNCE_TIME = time(20, 0)
ANNOUNCE_WEEKDAYS = frozenset({6, 0, 1, 2, 3})  # date.weekday(): Sunday, Monday .. Thursday


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
        _require_aware(self.started, "RecentCycle.started")


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
                _require_aware(moment, f"Snapshot.{name}")


@dataclass(frozen=True)
class PolicySettings:
    """The knobs of the policy; `from_settings` builds them from a workspace's Settings."""

    timezone: str = "UTC"  # IANA name: the researcher's clock
    active_hours: str = "22-07"  # deep work while the researcher sleeps; "09-17" also works
    daily_token_budget: int = 400_000
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


def _announcement_on(day: date) -> datetime:
    # Built from the wall clock in New York so DST is applied on the right dates.
    return datetime.combine(day, ANNOUNCE_TIME, tzinfo=ARXIV_TZ)


def last_announcement(now: datetime) -> datetime:
    """The latest arXiv announcement at or before `now` (Eastern time)."""
    _require_aware(now, "now")
    day = now.astimezone(ARXIV_TZ).date()
    for back in range(8):
        candidate = _announcement_on(day - timedelta(days=back))
        if candidate.weekday() in ANNOUNCE_WEEKDAYS and candidate <= now:
            return candidate
    raise AssertionError("an announcement happens every week")  # pragma: no cover


def next_announcement(now: datetime) -> datetime:
    """The first arXiv announcement strictly after `now` (Eastern time)."""
    _require_aware(now, "now")
    day = now.astimezone(ARXIV_TZ).date()
    for ahead in range(8):
        candidate = _announcement_on(day + timedelta(days=ahead))
        if candidate.weekday() in ANNOUNCE_WEEKDAYS and candidate > now:
            return candidate
    raise AssertionError("an announcement happens every week")  # pragma: no cover


def backoff_until(snapshot: Snapshot, settings: PolicySettings) -> datetime | None:
    """When the agent may try again after consecutive failures, or None if it need not wait."""
    n = snapshot.consecutive_failures
    if n <= 0 or snapshot.last_failure_at is None:
        return None
    first, cap = (timedelta(minutes=m) for m in (settings.failure_backoff, settings.max_backoff))
    return snapshot.last_failure_at + failure_backoff(n, first, cap)


@dataclass(frozen=True)
class _Facts:
    """What choose_action derives from the snapshot before weighing the options."""

    snapshot: Snapshot
    now: datetime
    local: datetime
    settings: PolicySettings
    night: bool
    budget_spent: bool
    worth: list[CandidateInfo]  # relevant, best match per paper, most valuable first
    irrelevant: int  # papers waiting with no relevant match

    @property
    def can_learn(self) -> bool:
        enough = len(self.worth) >= max(self.settings.min_candidates_to_learn, 1)
        return enough and not self.budget_spent

    @property
    def can_deep_read(self) -> bool:
        s = self.snapshot
        return bool(s.queue) and s.deep_read_enabled and not self.budget_spent


def choose_action(snapshot: Snapshot, now: datetime, settings: PolicySettings) -> Decision:
    """Pick the most useful action for this cycle, with the facts that decided it."""
    _require_aware(now, "now")
    backing_off = _backoff_fact(snapshot, now, settings)
    if backing_off:
        return _decide("rest", [backing_off])
    facts = _gather_facts(snapshot, now, settings)
    scan_due, scan_fact = _scan_due(facts)
    if scan_due and settings.follow_arxiv:
        return _decide("scan", [scan_fact, *_budget_facts(facts)])
    work = _choose_work(facts)
    if work is not None:
        return work
    if scan_due:
        return _decide("scan", ["nothing to learn or deep-read", scan_fact])
    return _decide("rest", _rest_facts(facts, scan_fact))


def _gather_facts(snapshot: Snapshot, now: datetime, settings: PolicySettings) -> _Facts:
    local = now.astimezone(zone_of(settings.timezone))
    spent = snapshot.llm_enabled and snapshot.tokens_today >= settings.daily_token_budget
    best: dict[str, CandidateInfo] = {}
    for c in snapshot.candidates:
        if c.relevant and (c.paper_id not in best or _value(c) > _value(best[c.paper_id])):
            best[c.paper_id] = c
    waiting = {c.paper_id for c in snapshot.candidates}
    return _Facts(
        snapshot=snapshot,
        now=now,
        local=local,
        settings=settings,
        night=in_active_hours(local, settings.active_hours),
        budget_spent=spent,
        worth=sorted(best.values(), key=_value, reverse=True),
        irrelevant=len(waiting - best.keys()),
    )


def _value(c: CandidateInfo) -> float:
    return worth(c.score, c.priority)


def _scan_due(f: _Facts) -> tuple[bool, str]:
    """Whether a scan would find anything new, and the fact that says so."""
    empty = _empty_scans(f)
    last = f.snapshot.last_scan_at
    if not f.settings.follow_arxiv:
        if empty >= f.settings.max_empty_scans:
            return False, f"the last {empty} scans found nothing new"
        return True, "the source follows no announcement schedule, so a scan may find more"
    announced = last_announcement(f.now)
    upcoming = _et(next_announcement(f.now))
    if empty >= f.settings.max_empty_scans:
        return False, (
            f"{empty} scans since the {_et(announced)} announcement found nothing new; "
            f"next announcement {upcoming}"
        )
    if last is None:
        return True, "no scan yet"
    if last < announced:
        news = f"new arXiv listings announced {_et(announced)}"
        return True, f"{news} since the last scan ({_et(last)})"
    quiet = f"no arXiv announcement since the last scan ({_et(last)})"
    return False, f"{quiet}; next announcement {upcoming}"


def _empty_scans(f: _Facts) -> int:
    """Consecutive recent scans that found nothing new (since the last announcement)."""
    since = last_announcement(f.now) if f.settings.follow_arxiv else None
    count = 0
    for cycle in f.snapshot.recent_cycles:
        if cycle.action == "rest" or cycle.status == "running":
            continue  # resting or in progress says nothing about what a scan finds
        empty = cycle.action == "scan" and cycle.status != "failed" and cycle.new_papers == 0
        if not empty or (since is not None and cycle.started < since):
            break
        count += 1
    return count


def _choose_work(f: _Facts) -> Decision | None:
    """Learn or deep-read if either is worth it, weighing the time of day and the values."""
    if f.can_deep_read and f.can_learn:
        if f.night:
            waiting = f"{_candidates_fact(f)}, left for the day"
            return _decide("deep-read", [_queue_fact(f), _time_fact(f), waiting])
        if _value(f.worth[0]) >= f.settings.high_value:
            later = f"must-read queue ({len(f.snapshot.queue)}) waits for deep-work hours"
            return _decide("learn", [_time_fact(f), _candidates_fact(f), later])
        best = f.worth[0]
        low = f"waiting papers score low (best {best.score:.2f} × priority {best.priority})"
        return _decide("deep-read", [_queue_fact(f), _time_fact(f), low])
    if f.can_deep_read:
        return _decide("deep-read", [_queue_fact(f), _time_fact(f), _candidates_fact(f)])
    if f.can_learn:
        facts = [_queue_fact(f), _time_fact(f), _candidates_fact(f)]
        return _decide("learn", facts + _budget_facts(f))
    return None


def _rest_facts(f: _Facts, scan_fact: str) -> list[str]:
    facts = [scan_fact, *_budget_facts(f)]
    if f.snapshot.queue and not f.budget_spent:
        facts.append(_queue_fact(f))
    facts.append(_candidates_fact(f))
    return facts


def _budget_facts(f: _Facts) -> list[str]:
    s, budget = f.snapshot, f.settings.daily_token_budget
    if f.budget_spent:
        return [f"today's LLM budget is spent ({s.tokens_today:,} of {budget:,} tokens)"]
    if not s.llm_enabled and s.tokens_today >= budget:
        return ["the offline analyst needs no LLM tokens"]
    return []


def _queue_fact(f: _Facts) -> str:
    s = f.snapshot
    if not s.queue:
        if s.queue_exhausted_since is not None:
            return f"must-read queue empty since cycle {s.queue_exhausted_since}"
        return "must-read queue empty"
    papers = _plural(len(s.queue), "paper")
    if not s.deep_read_enabled:
        return f"must-read queue has {papers} but deep reading is not available yet"
    top = _queue_top(s.queue)
    return (
        f"must-read queue has {papers} "
        f"(next {top.paper_id}, priority {top.priority}, added by {top.added_by})"
    )


def _queue_top(queue: Sequence[QueuedInfo]) -> QueuedInfo:
    return min(queue, key=lambda q: reading_order(q.priority, q.added_by))


def _candidates_fact(f: _Facts) -> str:
    n, minimum = len(f.worth), f.settings.min_candidates_to_learn
    if n == 0:
        if f.irrelevant:
            below = _plural(f.irrelevant, "paper")
            return f"no relevant papers waiting ({below} below their tracks' thresholds)"
        return "nothing waiting to learn"
    if n < minimum:
        return f"only {_plural(n, 'relevant paper')} waiting (learning needs {minimum})"
    high = sum(1 for c in f.worth if _value(c) >= f.settings.high_value)
    tracks = {c.track_id for c in f.worth}
    best = f.worth[0]  # the paper learned first: its track, score and priority, together
    value = f"{best.score:.2f} × priority {best.priority}"
    where = f"on {best.track_name} (best {value})" if len(tracks) == 1 else (
        f"best on {best.track_name} ({value})")
    text = f"{_plural(n, 'relevant paper')} waiting"
    if high:
        text += f", {high} high-scoring"
    text += f", {where}"
    if n > f.settings.learn_batch:
        text += f"; the best {f.settings.learn_batch} this cycle"
    return text


def _time_fact(f: _Facts) -> str:
    inside = "inside" if f.night else "outside"
    return (
        f"{f.local:%a %H:%M} {f.settings.timezone}, "
        f"{inside} deep-work hours {f.settings.active_hours}"
    )


def _backoff_fact(s: Snapshot, now: datetime, settings: PolicySettings) -> str | None:
    until = backoff_until(s, settings)
    if until is None or s.last_failure_at is None or now >= until:
        return None
    zone = zone_of(settings.timezone)
    minutes = round((until - s.last_failure_at).total_seconds() / 60)
    failures = _plural(s.consecutive_failures, "consecutive failure")
    return (
        f"{failures}, the last at {s.last_failure_at.astimezone(zone):%a %H:%M}; "
        f"backing off {minutes} min until {until.astimezone(zone):%a %H:%M} {settings.timezone}"
    )


def _decide(action: str, facts: list[str]) -> Decision:
    text = "; ".join(fact for fact in facts if fact)
    return Decision(action=action, reason=f"{text[:1].upper()}{text[1:]} → {action}")


def _et(moment: datetime) -> str:
    return f"{moment.astimezone(ARXIV_TZ):%a %H:%M} ET"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")


def describe_snapshot(snapshot: Snapshot, timezone: str = "UTC") -> str:
    """A few plain lines about the agent's state, for `research-agent status`."""
    zone = zone_of(timezone)

    def when(moment: datetime | None) -> str:
        return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} {timezone}" if moment else "never"

    s = snapshot
    lines = [f"Last scan: {when(s.last_scan_at)}"]
    relevant = {c.paper_id for c in s.candidates if c.relevant}
    waiting = {c.paper_id for c in s.candidates}
    lines.append(f"Waiting to learn: {len(relevant)} relevant of {_plural(len(waiting), 'paper')}")
    if s.queue:
        top = _queue_top(s.queue)
        title = _clean(top.title)
        lines.append(
            f"Must-read queue: {_plural(len(s.queue), 'paper')}; next {top.paper_id} "
            f"(priority {top.priority}, added by {top.added_by}){': ' + title if title else ''}"
        )
    elif s.queue_exhausted_since is not None:
        lines.append(f"Must-read queue: empty since cycle {s.queue_exhausted_since}")
    else:
        lines.append("Must-read queue: empty")
    analyst = "LLM" if s.llm_enabled else "offline analyst"
    lines.append(f"Tokens today: {s.tokens_today:,} ({analyst})")
    if s.consecutive_failures:
        failures = _plural(s.consecutive_failures, "consecutive failure")
        lines.append(f"Failures: {failures}, the last at {when(s.last_failure_at)}")
    for c in s.recent_cycles[:5]:
        lines.append(
            f"Cycle {c.number}: {c.action}, {c.status}, {when(c.started)}, "
            f"{_plural(c.papers, 'paper')}, {c.new_papers} new"
        )
    return "\n".join(lines)


def _clean(title: str, limit: int = 80) -> str:
    # A title is untrusted text: one line, no control characters, bounded length.
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in title).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
