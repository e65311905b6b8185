"""The sentences a decision gives as its reasons, and `describe_snapshot` for `status`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from agent.policy.facts import Facts, value_of
from agent.policy.inputs import PolicySettings, QueuedInfo, Snapshot, backoff_until
from agent.rank.worth import reading_order
from agent.schedule import load_timezone as zone_of
from agent.text import plural


def rest_facts(f: Facts, scan_fact: str) -> list[str]:
    facts = [scan_fact, *budget_facts(f)]
    if f.snapshot.queue and not f.budget_spent:
        facts.append(queue_fact(f))
    facts.append(candidates_fact(f))
    return facts


def budget_facts(f: Facts) -> list[str]:
    s, budget = f.snapshot, f.settings.daily_token_budget
    if f.budget_spent:
        return [f"today's LLM budget is spent ({s.tokens_today:,} of {budget:,} tokens)"]
    if not s.llm_enabled and s.tokens_today >= budget:
        return ["the offline analyst needs no LLM tokens"]
    return []


def queue_fact(f: Facts) -> str:
    s = f.snapshot
    if not s.queue:
        if s.queue_exhausted_since is not None:
            return f"must-read queue empty since cycle {s.queue_exhausted_since}"
        return "must-read queue empty"
    papers = plural(len(s.queue), "paper")
    if not s.deep_read_enabled:
        return f"must-read queue has {papers} but deep reading is not available yet"
    top = queue_top(s.queue)
    return (
        f"must-read queue has {papers} "
        f"(next {top.paper_id}, priority {top.priority}, added by {top.added_by})"
    )


def queue_top(queue: Sequence[QueuedInfo]) -> QueuedInfo:
    return min(queue, key=lambda q: reading_order(q.priority, q.added_by))


def candidates_fact(f: Facts) -> str:
    """What waits to be learnt: with an LLM, the judge's candidates (papers at its floor or
    kept by it earlier, agent/waiting.py); without, the papers relevant to a track."""
    n, minimum = len(f.worth), f.settings.min_candidates_to_learn

    def waiting(count: int) -> str:
        if f.snapshot.llm_enabled:
            return f"{plural(count, 'candidate')} for the judge"
        return plural(count, "relevant paper")

    if n == 0:
        if f.irrelevant:
            below = plural(f.irrelevant, "paper")
            if f.snapshot.llm_enabled:
                return f"no candidates for the judge ({below} below its floor or turned down)"
            return f"no relevant papers waiting ({below} below their tracks' thresholds)"
        return "nothing waiting to learn"
    if n < minimum:
        return f"only {waiting(n)} waiting (learning needs {minimum})"
    high = sum(1 for c in f.worth if value_of(c) >= f.settings.high_value)
    tracks = {c.track_id for c in f.worth}
    best = f.worth[0]  # the paper learned first: its track, score and priority, together
    value = f"{best.score:.2f} × priority {best.priority}"
    where = f"on {best.track_name} (best {value})" if len(tracks) == 1 else (
        f"best on {best.track_name} ({value})")
    text = f"{waiting(n)} waiting"
    if high:
        text += f", {high} high-scoring"
    text += f", {where}"
    if n > f.settings.learn_batch:
        text += f"; the best {f.settings.learn_batch} this cycle"
    return text


def time_fact(f: Facts) -> str:
    inside = "inside" if f.night else "outside"
    return (
        f"{f.local:%a %H:%M} {f.settings.timezone}, "
        f"{inside} deep-work hours {f.settings.active_hours}"
    )


def backoff_fact(s: Snapshot, now: datetime, settings: PolicySettings) -> str | None:
    until = backoff_until(s, settings)
    if until is None or s.last_failure_at is None or now >= until:
        return None
    zone = zone_of(settings.timezone)
    minutes = round((until - s.last_failure_at).total_seconds() / 60)
    failures = plural(s.consecutive_failures, "consecutive failure")
    return (
        f"{failures}, the last at {s.last_failure_at.astimezone(zone):%a %H:%M}; "
        f"backing off {minutes} min until {until.astimezone(zone):%a %H:%M} {settings.timezone}"
    )




def describe_snapshot(snapshot: Snapshot, timezone: str = "UTC") -> str:
    """A few plain lines about the agent's state, for `research-agent status`."""
    zone = zone_of(timezone)

    def when(moment: datetime | None) -> str:
        return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} {timezone}" if moment else "never"

    s = snapshot
    lines = [f"Last scan: {when(s.last_scan_at)}"]
    relevant = {c.paper_id for c in s.candidates if c.relevant}
    waiting = {c.paper_id for c in s.candidates}
    lines.append(f"Waiting to learn: {len(relevant)} relevant of {plural(len(waiting), 'paper')}")
    if s.queue:
        top = queue_top(s.queue)
        title = one_line(top.title)
        lines.append(
            f"Must-read queue: {plural(len(s.queue), 'paper')}; next {top.paper_id} "
            f"(priority {top.priority}, added by {top.added_by}){': ' + title if title else ''}"
        )
    elif s.queue_exhausted_since is not None:
        lines.append(f"Must-read queue: empty since cycle {s.queue_exhausted_since}")
    else:
        lines.append("Must-read queue: empty")
    analyst = "LLM" if s.llm_enabled else "offline analyst"
    lines.append(f"Tokens today: {s.tokens_today:,} ({analyst})")
    if s.consecutive_failures:
        failures = plural(s.consecutive_failures, "consecutive failure")
        lines.append(f"Failures: {failures}, the last at {when(s.last_failure_at)}")
    for c in s.recent_cycles[:5]:
        lines.append(
            f"Cycle {c.number}: {c.action}, {c.status}, {when(c.started)}, "
            f"{plural(c.papers, 'paper')}, {c.new_papers} new"
        )
    return "\n".join(lines)


def one_line(title: str, limit: int = 80) -> str:
    # A title is untrusted text: one line, no control characters, bounded length.
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in title).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
