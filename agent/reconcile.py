"""Bring the store and the git history back into agreement after a crash.

A cycle is a small state machine in the store (running → note_written → committed) and its
commit carries the trailer `Cycle: N`. On start: a commit whose record is missing or unfinished is
recorded (and its saved changes applied); a note never committed is removed and its work redone;
a stale `.git/index.lock` left by our own dead process is cleared.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

from agent import journal
from agent.changes import apply_changes, compacted, load_changes
from agent.errors import AgentError
from agent.lock import pid_alive
from agent.schedule import as_utc
from agent.store import CycleRecord, Store
from agent.workspace import VIEW_FILES

logger = logging.getLogger(__name__)
VIEW_PATHS = VIEW_FILES
MTIME_SLACK = 1.0  # seconds: some file systems round a file's mtime down to the second


def cycle_paths(store: Store, number: int) -> list[str]:
    """The files cycle `number` writes: its note and the regenerated views."""
    record = store.get_cycle(number)
    paths = list(VIEW_PATHS)
    if record is not None and record.note_path:
        paths.insert(0, record.note_path)
    return paths


def reconcile(store: Store, workspace: Path) -> list[str]:
    """Repair what a dead process left; returns one line per repair (also logged)."""
    repairs: list[str] = []
    unfinished = store.unfinished_cycles()
    committing = died_committing(unfinished)
    if committing and journal.clear_stale_index_lock(
        workspace, our_pids_dead=True, not_before=earliest_start(committing) - MTIME_SLACK
    ):
        repairs.append("removed a stale .git/index.lock left by a dead cycle")
    oldest = min((c.number for c in unfinished), default=None)
    commits = journal.find_cycle_commits(workspace, since_cycle=oldest)
    for record in unfinished:
        if record.number in commits:
            repairs.append(finish_committed(store, record, commits[record.number]))
        else:
            repairs.append(roll_back(store, workspace, record))
    repairs.extend(record_orphan_commits(store, workspace))
    for line in repairs:
        logger.warning("reconcile: %s", line)
    return repairs


def died_committing(records: list[CycleRecord]) -> list[CycleRecord]:
    """Unfinished cycles that reached the commit step and whose process is gone.

    Only such a cycle can have left `.git/index.lock`. A cycle of a live process (this daemon's
    own, abandoned on shutdown or failed while the researcher's git held the index) may still
    be inside git, or never took the lock: removing it could break someone's running git.
    """
    return [r for r in records
            if r.status == "note_written" and not (r.pid and pid_alive(r.pid))]


def earliest_start(records: list[CycleRecord]) -> float:
    """Epoch seconds of the earliest start among `records` (naive times are UTC)."""
    return min(as_utc(r.started).timestamp() for r in records)


def finish_committed(store: Store, record, sha: str) -> str:  # type: ignore[no-untyped-def]
    """The commit landed but the process died before recording it: apply and record."""
    with store.transaction():
        summary: dict[str, str] = {}
        if record.result_json:
            changes = load_changes(record.result_json)
            apply_changes(store, changes, record.number)
            summary["result_json"] = compacted(changes)  # applied: a summary is all that is kept
        store.update_cycle(
            record.number,
            status="committed",
            step="recorded",
            commit_sha=sha,
            ended=datetime.now(UTC),
            **summary,
        )
    return f"cycle {record.number} was committed ({sha[:8]}) but not recorded: recorded it"


def roll_back(store: Store, workspace: Path, record) -> str:  # type: ignore[no-untyped-def]
    """The cycle never committed: remove what it wrote; its papers stay pending for the next."""
    journal.discard_uncommitted(workspace, cycle_paths(store, record.number))
    store.update_cycle(
        record.number,
        status="aborted",
        ended=datetime.now(UTC),
        error=f"the process died during step '{record.step or record.status}'; "
        "its files were removed and its work is left for the next cycle",
    )
    return f"cycle {record.number} died before committing: rolled back"


def settle_interrupted(store: Store, workspace: Path, number: int) -> str:
    """Right after Ctrl-C, in the interrupted process: roll cycle `number` back, or record it if
    its commit landed; returns its status. A second Ctrl-C is ignored while this runs."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        record = store.get_cycle(number)
        if record is None or record.status not in ("running", "note_written"):
            return record.status if record else "aborted"
        commit = journal.find_cycle_commits(workspace, since_cycle=number).get(number)
        if commit is not None:
            finish_committed(store, record, commit)
            return "committed"
        why = "interrupted (Ctrl-C) before committing; rolled back, its work is left for the next"
        try:
            journal.discard_uncommitted(workspace, cycle_paths(store, number))
        except AgentError as exc:  # e.g. a git of the researcher's holds the index right now
            store.update_cycle(number, error=f"{why}; its files stay until the next cycle: {exc}")
            return record.status  # unfinished: the next start's reconcile removes the files
        store.update_cycle(number, status="aborted", ended=datetime.now(UTC), error=why)
        logger.warning("cycle %s interrupted: rolled back", number)
        return "aborted"
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def record_orphan_commits(store: Store, workspace: Path) -> list[str]:
    """Commits with a `Cycle: N` trailer newer than any record (e.g. the database was lost)."""
    latest = store.recent_cycles(limit=1)
    newest = latest[0].number if latest else 0
    repairs = []
    for number, sha in sorted(
        journal.find_cycle_commits(workspace, since_cycle=newest + 1).items()
    ):
        store.start_cycle("unknown", "recovered from git history", datetime.now(UTC), number=number)
        store.update_cycle(number, status="committed", commit_sha=sha, step="recorded")
        repairs.append(f"cycle {number} found in git ({sha[:8]}) with no record: recorded it")
    return repairs
