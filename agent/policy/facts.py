"""What `choose_action` derives from a snapshot before weighing the options."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent.policy.inputs import CandidateInfo, PolicySettings, Snapshot
from agent.rank.worth import worth
from agent.schedule import in_active_hours, load_timezone as zone_of


@dataclass(frozen=True)
class Facts:
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


def gather_facts(snapshot: Snapshot, now: datetime, settings: PolicySettings) -> Facts:
    local = now.astimezone(zone_of(settings.timezone))
    spent = snapshot.llm_enabled and snapshot.tokens_today >= settings.daily_token_budget
    best: dict[str, CandidateInfo] = {}
    for c in snapshot.candidates:
        if c.relevant and (c.paper_id not in best or value_of(c) > value_of(best[c.paper_id])):
            best[c.paper_id] = c
    waiting = {c.paper_id for c in snapshot.candidates}
    return Facts(
        snapshot=snapshot,
        now=now,
        local=local,
        settings=settings,
        night=in_active_hours(local, settings.active_hours),
        budget_spent=spent,
        worth=sorted(best.values(), key=value_of, reverse=True),
        irrelevant=len(waiting - best.keys()),
    )


def value_of(c: CandidateInfo) -> float:
    return worth(c.score, c.priority)
