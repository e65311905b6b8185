"""The policy's view of the workspace, read from the store; and the decision made from it.

The policy itself (`agent/policy/`) is pure; this module is the one place that feeds it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from agent.changes import cycle_summary
from agent.models import Decision, Track
from agent.policy import (
    CandidateInfo,
    PolicySettings,
    QueuedInfo,
    RecentCycle,
    Snapshot,
    choose_action,
)
from agent.rank.worth import worth
from agent.schedule import local_midnight
from agent.settings import Settings
from agent.store import CycleRecord, Store
from agent.tracks import active_tracks
from agent.waiting import choosable

RECENT = 12  # cycles the policy looks back on
CANDIDATES = 500  # waiting papers it weighs


def take_snapshot(store: Store, tracks: list[Track], settings: Settings, now: datetime) -> Snapshot:
    """What the policy needs to know, from the store and the current tracks."""
    recent = store.recent_cycles(limit=RECENT)
    failed = consecutive_failures(recent)
    last_scan = store.last_cycle(action="scan")
    queue = store.queue_list()
    last_deep = store.last_cycle(action="deep-read")
    return Snapshot(
        last_scan_at=last_scan.started if last_scan else None,
        recent_cycles=[recent_cycle(r) for r in recent],
        candidates=candidate_infos(
            store, tracks, settings.learn.judge_floor if settings.llm.enabled else None
        ),
        queue=[QueuedInfo(q.paper_id, q.priority, q.added_by, q.title) for q in queue],
        queue_exhausted_since=last_deep.number if (last_deep and not queue) else None,
        tokens_today=sum(store.tokens_since(local_midnight(now, settings.schedule.timezone))),
        consecutive_failures=len(failed),
        last_failure_at=failed[0].started if failed else None,
        deep_read_enabled=True,
        llm_enabled=settings.llm.enabled,
    )


def consecutive_failures(recent: list[CycleRecord]) -> list[CycleRecord]:
    """The failed cycles since the last one that worked, newest first.

    Rests and interrupted cycles are skipped, not counted as success: the rest is usually the
    backoff itself, and ending the backoff with it would retry a dead endpoint every other cycle.
    """
    failed = []
    for record in recent:
        if record.status in ("rested", "aborted"):
            continue
        if record.status != "failed":
            break
        failed.append(record)
    return failed


def recent_cycle(record) -> RecentCycle:  # type: ignore[no-untyped-def]
    """A cycle record as the policy sees it (how many papers it stored)."""
    summary = cycle_summary(record.result_json)
    stored = summary.papers if summary else 0
    return RecentCycle(
        number=record.number,
        action=record.action,
        status=record.status,
        started=record.started,
        papers=stored,
        new_papers=stored,
    )


def candidate_infos(
    store: Store, tracks: list[Track], floor: float | None = None
) -> list[CandidateInfo]:
    """Ranked-but-unsummarised papers with their best match on an active track.

    `relevant` says whether the next learn cycle would choose from it (`agent.waiting.choosable`:
    with a judge, `floor` is its floor).
    """
    active = {t.id: t for t in active_tracks(tracks)}
    priorities = {t.id: t.priority for t in active.values()}
    waiting = store.candidates(statuses=("ranked",), limit=CANDIDATES)
    verdicts = store.verdicts_of([p.id for p, _ in waiting]) if floor is not None else {}
    wanted = {r.paper_id for r in store.ratings() if r.value > 0} if verdicts else set()
    infos = []
    for paper, matches in waiting:
        usable = [m for m in matches if m.track_id in active]
        if not usable:
            continue
        eligible = choosable(usable, verdicts.get(paper.id), paper.id in wanted, floor)
        # its eligible match worth most; a paper eligible nowhere still waits, below the bar
        best = max(eligible or usable, key=lambda m: worth(m.score, priorities[m.track_id]))
        track = active[best.track_id]
        infos.append(CandidateInfo(paper.id, track.id, track.name, track.priority, best.score,
                                   bool(eligible)))
    return infos


def decide(
    store: Store,
    tracks: list[Track],
    settings: Settings,
    now: datetime,
    forced: str | None = None,
    source: str = "arxiv",
) -> Decision:
    """The action for this cycle: the researcher's if forced, else the policy's."""
    if forced:
        return Decision(forced, f"Forced by the researcher (--action {forced}).")
    policy_settings = PolicySettings.from_settings(settings)
    if source == "sample":  # a replay has no announcement rhythm: every fetch is a new day
        policy_settings = dataclasses.replace(policy_settings, follow_arxiv=False)
    return choose_action(take_snapshot(store, tracks, settings, now), now, policy_settings)
