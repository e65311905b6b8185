"""The decision: scan, learn, deep-read or rest, from the facts (the reasons say why)."""

from __future__ import annotations

from datetime import datetime

from agent.models import Decision
from agent.policy.clock import et, last_announcement, next_announcement
from agent.policy.facts import Facts, gather_facts, value_of
from agent.policy.inputs import PolicySettings, Snapshot, require_aware
from agent.policy.reasons import (
    backoff_fact,
    budget_facts,
    candidates_fact,
    queue_fact,
    rest_facts,
    time_fact,
)


def choose_action(snapshot: Snapshot, now: datetime, settings: PolicySettings) -> Decision:
    """Pick the most useful action for this cycle, with the facts that decided it."""
    require_aware(now, "now")
    backing_off = backoff_fact(snapshot, now, settings)
    if backing_off:
        return decide("rest", [backing_off])
    facts = gather_facts(snapshot, now, settings)
    scan_due, scan_fact = _scan_due(facts)
    if scan_due and settings.follow_arxiv:
        return decide("scan", [scan_fact, *budget_facts(facts)])
    work = choose_work(facts)
    if work is not None:
        return work
    if scan_due:
        return decide("scan", ["nothing to learn or deep-read", scan_fact])
    return decide("rest", rest_facts(facts, scan_fact))


def _scan_due(f: Facts) -> tuple[bool, str]:
    """Whether a scan would find anything new, and the fact that says so."""
    empty = empty_scans(f)
    last = f.snapshot.last_scan_at
    if not f.settings.follow_arxiv:
        if empty >= f.settings.max_empty_scans:
            return False, f"the last {empty} scans found nothing new"
        return True, "the source follows no announcement schedule, so a scan may find more"
    announced = last_announcement(f.now)
    upcoming = et(next_announcement(f.now))
    if empty >= f.settings.max_empty_scans:
        return False, (
            f"{empty} scans since the {et(announced)} announcement found nothing new; "
            f"next announcement {upcoming}"
        )
    if last is None:
        return True, "no scan yet"
    if last < announced:
        news = f"new arXiv listings announced {et(announced)}"
        return True, f"{news} since the last scan ({et(last)})"
    quiet = f"no arXiv announcement since the last scan ({et(last)})"
    return False, f"{quiet}; next announcement {upcoming}"


def empty_scans(f: Facts) -> int:
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


def choose_work(f: Facts) -> Decision | None:
    """Learn or deep-read if either is worth it, weighing the time of day and the values."""
    if f.can_deep_read and f.can_learn:
        if f.night:
            waiting = f"{candidates_fact(f)}, left for the day"
            return decide("deep-read", [queue_fact(f), time_fact(f), waiting])
        if value_of(f.worth[0]) >= f.settings.high_value:
            later = f"must-read queue ({len(f.snapshot.queue)}) waits for deep-work hours"
            return decide("learn", [time_fact(f), candidates_fact(f), later])
        best = f.worth[0]
        low = f"waiting papers score low (best {best.score:.2f} × priority {best.priority})"
        return decide("deep-read", [queue_fact(f), time_fact(f), low])
    if f.can_deep_read:
        return decide("deep-read", [queue_fact(f), time_fact(f), candidates_fact(f)])
    if f.can_learn:
        facts = [queue_fact(f), time_fact(f), candidates_fact(f)]
        return decide("learn", facts + budget_facts(f))
    return None


def decide(action: str, facts: list[str]) -> Decision:
    text = "; ".join(fact for fact in facts if fact)
    return Decision(action=action, reason=f"{text[:1].upper()}{text[1:]} → {action}")
