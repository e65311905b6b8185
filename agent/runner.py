"""`research-agent run`: the daemon loop wired to cycles, under one workspace lock.

daemon.py knows scheduling and signals; cycle.py knows a cycle; this is where the two meet.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.cycle import CycleOptions, CycleOutcome, record_refusal, run_cycle
from agent.daemon import DaemonOptions, DaemonOutcome, parse_every, run_daemon
from agent.errors import AgentError
from agent.lock import WorkspaceLock
from agent.logs import setup_logging
from agent.settings import ScheduleSettings
from agent.store import Store
from agent.tracks import load_tracks
from agent.workspace import Workspace

logger = logging.getLogger(__name__)


def choose_schedule(
    every: str | None, cron: str | None, schedule: ScheduleSettings
) -> tuple[timedelta | None, str | None]:
    """(interval, cron line) to run on: a flag wins over research.toml, and within the file a
    `cron` line wins over `every` (the CLI refuses --every together with --cron)."""
    if every:
        return parse_every(every), None
    if cron:
        return None, cron
    if schedule.cron:
        return None, schedule.cron
    return parse_every(schedule.every), None


@dataclass(frozen=True)
class RunFlags:
    """What `run` or `demo` asked for; a schedule flag left None leaves research.toml's."""

    every: str | None = None
    cron: str | None = None
    max_cycles: int | None = None
    source: str = "arxiv"
    demo: bool = False  # the first cycle runs at once, whenever the last one ran


def run_forever(
    workspace: Path,
    flags: RunFlags,
    report: Callable[[CycleOutcome], None] | None = None,
) -> int:
    """Run cycles on a schedule until stopped or `max_cycles` ran; returns the exit status."""
    settings = Workspace(workspace).settings
    load_tracks(settings.tracks_path)  # refuse to start on a broken tracks file
    setup_logging(settings.state_dir)
    interval, cron = choose_schedule(flags.every, flags.cron, settings.schedule)
    url = settings.database_url
    with WorkspaceLock(settings.state_dir):

        def run_one(stop: threading.Event) -> DaemonOutcome:
            try:
                outcome = run_cycle(workspace, CycleOptions(source=flags.source, stop=stop))
            except AgentError as exc:  # e.g. tracks.toml broken overnight: record it, go on
                outcome = record_refusal(workspace, exc)
            if report is not None:
                report(outcome)
            release_memory()
            # a cycle that never started takes no number and no turn of --max-cycles
            return DaemonOutcome(outcome.status, outcome.action, outcome.error or "",
                                 counts=outcome.number is not None)

        return run_daemon(
            run_one,
            DaemonOptions(
                every=interval,
                cron=cron,
                timezone=settings.schedule.timezone,
                max_cycles=flags.max_cycles,
                shutdown_grace=settings.schedule.shutdown_grace,
                last_completed=None if flags.demo else lambda: last_completed(url),
                on_abandon=lambda: abandon_in_flight(url),
                state_dir=settings.state_dir,
            ),
        )


def release_memory() -> None:
    """Give the heap a cycle freed back to the OS: the daemon then idles for hours.

    CPython frees objects, but glibc keeps the freed pages of the cycle's peak (ranking, parsing)
    mapped; malloc_trim returns them. Elsewhere (macOS, musl) there is nothing to call.
    """
    gc.collect()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


def last_completed(database_url: str) -> datetime | None:
    """When the last cycle that did its work (committed or rested) ended."""
    with Store(database_url) as store:
        record = store.last_cycle(statuses=("committed", "rested"))
        return (record.ended or record.started) if record else None


def abandon_in_flight(database_url: str) -> None:
    """The cycle did not stop within the grace period: record it aborted before the process exits.

    Only a cycle still `running` is touched: it has written nothing yet (files are written after
    `note_written` is recorded). One that got further may be committing in its thread right now;
    repairing it here would race that thread, so the next start's reconcile does it instead, once
    this process (its pid) is gone.
    """
    with Store(database_url) as store:
        for record in store.unfinished_cycles():
            if record.status == "running":
                store.update_cycle(
                    record.number,
                    status="aborted",
                    ended=datetime.now(UTC),
                    error="shutdown: the cycle did not stop within the grace "
                    "period; nothing was written, its work is left for the next",
                )
                logger.warning("shutdown: cycle %s abandoned", record.number)
