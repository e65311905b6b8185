"""Records the store hands out that need no database library to exist (fast commands use them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

PAPER_STATUSES: tuple[str, ...] = ("new", "ranked", "summarized", "queued", "read", "dismissed")
CYCLE_STATUSES: tuple[str, ...] = (
    "running",
    "note_written",
    "committed",
    "failed",
    "aborted",
    "rested",
)
ANALYSIS_KINDS: tuple[str, ...] = ("summary", "deep-read", "judgement")
QUEUE_ADDERS: tuple[str, ...] = ("user", "agent")


def check_statuses(statuses: Iterable[str]) -> None:
    unknown = sorted(set(statuses) - set(PAPER_STATUSES))
    if unknown:
        raise ValueError(f"unknown paper status {unknown}; expected one of {PAPER_STATUSES}")


@dataclass(frozen=True)
class CycleRecord:
    """One cycle as recorded: what it did, how far it got, and what it cost."""

    number: int
    action: str
    reason: str
    status: str
    step: str | None
    started: datetime
    ended: datetime | None
    note_path: str | None
    commit_sha: str | None
    tokens_in: int
    tokens_out: int
    error: str | None
    result_json: str | None
    pid: int | None
