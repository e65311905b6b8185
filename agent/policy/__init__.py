"""Decide what a cycle does (scan, learn, deep-read or rest) and say why in one sentence.

Pure: the cycle passes in a `Snapshot` of its state and the time `now`; nothing here reads a
clock, a file or the database, so every decision can be checked by a table of examples.
"""

from __future__ import annotations

from agent.policy.clock import last_announcement, next_announcement
from agent.policy.inputs import (
    CandidateInfo,
    PolicySettings,
    QueuedInfo,
    RecentCycle,
    Snapshot,
    backoff_until,
)
from agent.policy.reasons import describe_snapshot
from agent.policy.rules import choose_action
from agent.schedule import in_active_hours, parse_active_hours

__all__ = [
    "CandidateInfo",
    "PolicySettings",
    "QueuedInfo",
    "RecentCycle",
    "Snapshot",
    "backoff_until",
    "choose_action",
    "describe_snapshot",
    "in_active_hours",
    "last_announcement",
    "next_announcement",
    "parse_active_hours",
]
