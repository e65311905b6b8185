"""The scheduler loop: wait for the next fire time, run the cycle in a daemon thread, stop.

A plain loop over the schedule's public `next_after(moment)` (schedule.py): nothing here reaches
into a scheduler library's internals, so a minor APScheduler release cannot break it. What the
loop promises: one cycle at a time (a tick that comes while a cycle runs is skipped), ticks missed
while the machine slept or a cycle ran long become one catch-up cycle (coalescing), however late,
and the clock is looked at least every MAX_WAIT_SECONDS.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent.daemon.schedule import backoff_ticks, build_schedule, plan_first_run
from agent.files import write_atomic
from agent.interrupt import SignalRelay
from agent.logs import flush_logs
from agent.schedule import load_timezone, utc_now

logger = logging.getLogger(__name__)

DAEMON_FILE = "daemon.json"
# Cap on how long the loop sleeps between looks at the clock: its waits run on the
# monotonic clock, which stands still while a laptop sleeps, so an uncapped wait would overrun.
MAX_WAIT_SECONDS = 60.0
# After the grace period: how long on_abandon may take, then how long the interpreter gets to
# exit normally before os._exit. With the default 10 s grace the process is gone within 15 s.
ABANDON_TIMEOUT_SECONDS = 2.0
EXIT_WATCHDOG_SECONDS = 2.0

RunOne = Callable[[threading.Event], "DaemonOutcome | None"]


@dataclass(frozen=True)
class DaemonOutcome:
    """How one cycle ended, so a failure can be reported without raising."""

    status: str  # "committed" | "rested" | "aborted" | "failed"
    action: str = ""
    detail: str = ""
    counts: bool = True  # False: the cycle never started (no number), not one of max_cycles

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass(frozen=True)
class DaemonEvent:
    """Something the daemon did, for a CLI that wants to show progress."""

    kind: str  # started | scheduled | cycle | failed | backoff | stopping | abandoned | stopped
    message: str
    next_run: datetime | None = None
    outcome: DaemonOutcome | None = None


@dataclass(frozen=True)
class DaemonOptions:
    """How `run_daemon` runs: its schedule (`every` or `cron`, in `timezone`), when it stops, and
    the hooks it calls. The first six have no default: each caller says them."""

    every: timedelta | None
    cron: str | None
    timezone: str
    max_cycles: int | None
    shutdown_grace: float  # seconds a running cycle gets to stop before it is abandoned
    last_completed: Callable[[], datetime | None] | None  # for the catch-up of a missed cycle
    install_signals: bool = True  # SIGTERM/SIGINT stop it (only in the main thread)
    clock: Callable[[], datetime] = utc_now
    on_event: Callable[[DaemonEvent], None] | None = None
    on_abandon: Callable[[], None] | None = None  # a cycle did not stop within the grace
    state_dir: Path | None = None  # where daemon.json says the pid and the next run
    stop: threading.Event | None = None  # set it to stop the daemon (a fresh one if None)


class _Daemon:
    """The state of one run_daemon call, shared by the main thread and the cycle thread."""

    def __init__(
        self,
        run_one: RunOne,
        stop: threading.Event,
        options: DaemonOptions,
        period: timedelta,
        description: dict[str, Any],
    ):
        self.run_one, self.stop, self.max_cycles = run_one, stop, options.max_cycles
        self.period, self.on_event = period, options.on_event
        state_dir = options.state_dir
        self.state_file = Path(state_dir) / DAEMON_FILE if state_dir is not None else None
        self.description = description
        self.idle = threading.Event()
        self.idle.set()
        self.attempts = self.failures = self.skip = 0
        self._written: Any = object()

    def tick(self) -> None:
        """The scheduled job: one cycle attempt, or a tick skipped to back off."""
        if self.stop.is_set():
            return
        if self.skip > 0:
            self.skip -= 1
            self.emit("backoff", f"skipping a tick after {self.failures} failed cycles")
            return
        self.attempts += 1
        try:
            outcome = self.run_one(self.stop)
        except Exception as exc:  # a failed cycle must never stop the daemon
            self._raised(exc)
        else:
            # It returned, so it recorded itself: a failure is the policy's to back off from.
            self.failures = 0
            if outcome is not None and not outcome.counts:
                self.attempts -= 1  # it never started: no number, not one of max_cycles
            if outcome is not None and outcome.failed:
                self.emit("failed", outcome.detail or "cycle failed", outcome=outcome)
            else:
                self.emit("cycle", outcome.status if outcome else "done", outcome=outcome)
        if self.max_cycles is not None and self.attempts >= self.max_cycles:
            logger.info("stopping after %d cycles (max cycles reached)", self.attempts)
            self.stop.set()

    def _raised(self, exc: Exception) -> None:
        """A cycle that raised recorded nothing, so the daemon itself backs off from it."""
        logger.error("cycle failed: %s: %s", type(exc).__name__, exc)
        logger.debug("traceback of the failed cycle", exc_info=True)
        self.failures += 1
        self.skip = backoff_ticks(self.failures, self.period)
        if self.skip:
            logger.warning(
                "%d cycles raised in a row; skipping the next %d ticks", self.failures, self.skip
            )
        outcome = DaemonOutcome("failed", detail=f"{type(exc).__name__}: {exc}")
        self.emit("failed", outcome.detail, outcome=outcome)

    def start_cycle(self) -> None:
        """Run one tick in a daemon thread, unless the previous cycle is still running."""
        if not self.idle.is_set():
            # Normal for a long deep read: the tick is skipped, not queued.
            logger.info("the previous cycle is still running; skipping this tick")
            return
        self.idle.clear()
        thread = threading.Thread(target=self._run_tick, name="research-agent-cycle", daemon=True)
        try:
            thread.start()
        except Exception as exc:  # it never ran (e.g. no threads left): a failed tick, backed off
            self.idle.set()
            self._raised(exc)

    def _run_tick(self) -> None:
        try:
            self.tick()
        except BaseException:  # tick() catches what run_one raises; this is the last guard
            logger.exception("the daemon's tick failed")
        finally:
            self.idle.set()

    def publish(self, next_run: datetime | None) -> None:
        """Publish the next run time if it changed (daemon.json and a "scheduled" event)."""
        if next_run != self._written:
            self.write_state(next_run)
            self.emit("scheduled", f"next cycle at {next_run}", next_run=next_run)

    def write_state(self, next_run: datetime | None) -> None:
        """Publish pid, schedule and next run in state/daemon.json for `research-agent status`."""
        self._written = next_run
        if self.state_file is None:
            return
        data = {**self.description, "next_run": next_run.isoformat() if next_run else None}
        try:
            write_atomic(self.state_file, json.dumps(data, indent=2) + "\n")
        except OSError as exc:
            logger.warning("could not write %s: %s", self.state_file, exc)

    def remove_state(self) -> None:
        if self.state_file is not None:
            self.state_file.unlink(missing_ok=True)

    def emit(self, kind: str, message: str, **extra: Any) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(DaemonEvent(kind, message, **extra))
        except Exception:
            logger.exception("on_event callback failed on %r", kind)


class _SignalRelay(SignalRelay):
    """SIGTERM/SIGINT set `stop` (agent/interrupt.py's relay: the kernel may deliver the signal
    to a cycle thread while the main thread sleeps in the scheduler's wait). The handler itself
    does nothing: a handler that takes a lock can deadlock the main thread, and one that raises
    can be swallowed.
    """

    signals = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, stop: threading.Event):
        super().__init__()
        self.stop = stop
        self.hurry = False  # a signal after stop: stop waiting for the running cycle

    def relay(self, signum: int) -> None:
        if self.stop.is_set():
            self.hurry = True
            return
        logger.info("received %s: stopping", signal.Signals(signum).name)
        self.stop.set()


def run_daemon(run_one: RunOne, options: DaemonOptions) -> int:
    """Run `run_one(stop)` on the schedule until a signal, `stop`, or max_cycles; return 0."""
    zone = load_timezone(options.timezone)
    next_after, period, schedule = build_schedule(options.every, options.cron, zone)
    last = options.last_completed() if options.last_completed is not None else None
    first_run = plan_first_run(options.clock(), last, next_after)
    description = {
        "pid": os.getpid(),
        "started": utc_now().isoformat(timespec="seconds"),
        **schedule,
        "timezone": zone.key,
    }
    stop = options.stop if options.stop is not None else threading.Event()
    daemon = _Daemon(run_one, stop, options, period, description)
    relay = _SignalRelay(stop)
    try:
        if options.install_signals:
            relay.install()
        _serve(daemon, next_after, first_run, options.clock)
        _finish(daemon, options, relay)
    finally:
        relay.restore()
        stop.set()
        daemon.remove_state()
    logger.info("daemon stopped after %d cycles", daemon.attempts)
    daemon.emit("stopped", f"stopped after {daemon.attempts} cycles")
    return 0


def _serve(
    daemon: _Daemon,
    next_after: Callable[[datetime], datetime],
    first_run: datetime,
    clock: Callable[[], datetime],
) -> None:
    """Fire on the schedule until `stop` is set; a stop wakes the wait at once."""
    daemon.write_state(first_run)
    schedule = ", ".join(
        f"{key} {daemon.description[key]}" for key in ("every", "cron") if key in daemon.description
    )
    logger.info("daemon started (%s); first cycle at %s", schedule, first_run.isoformat())
    daemon.emit("started", f"first cycle at {first_run.isoformat()}", next_run=first_run)
    next_run = first_run
    try:
        while not daemon.stop.is_set():
            now = clock()
            if now >= next_run:
                daemon.start_cycle()
                next_run = next_fire(next_after, next_run, now)
                daemon.publish(next_run)
            wait = min((next_run - now).total_seconds(), MAX_WAIT_SECONDS)
            daemon.stop.wait(max(wait, 0.0))
    except KeyboardInterrupt:  # only without our handlers (install_signals=False)
        logger.info("interrupted: stopping")
        daemon.stop.set()


def next_fire(
    next_after: Callable[[datetime], datetime], fired: datetime, now: datetime
) -> datetime:
    """The run after the one due at `fired`: ticks already missed by `now` coalesce into none."""
    upcoming = next_after(fired)
    return upcoming if upcoming > now else next_after(now)


def _finish(daemon: _Daemon, options: DaemonOptions, relay: _SignalRelay) -> None:
    """Give a running cycle `shutdown_grace` seconds to stop; past that, abandon it (and, when
    the daemon owns the process's signals, make sure the process ends)."""
    grace, on_abandon = options.shutdown_grace, options.on_abandon
    daemon.stop.set()
    if daemon.idle.wait(min(grace, 0.1)):  # idle, or a cycle that noticed stop at once
        return
    logger.info("waiting up to %.1fs for the running cycle to stop", grace)
    daemon.emit("stopping", f"waiting up to {grace:g}s for the running cycle to stop")
    deadline = time.monotonic() + grace
    # Short waits, so a second signal (which only sets a flag) cuts the grace short.
    while not daemon.idle.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
        if relay.hurry or time.monotonic() >= deadline:
            break
    if daemon.idle.is_set():
        return
    logger.warning("the running cycle did not stop within %.1fs: abandoning it", grace)
    if on_abandon is not None:
        _call_abandon(on_abandon, ABANDON_TIMEOUT_SECONDS)
    daemon.emit("abandoned", "the running cycle was abandoned")
    if options.install_signals:
        _arm_exit_watchdog(EXIT_WATCHDOG_SECONDS)


def _call_abandon(on_abandon: Callable[[], None], timeout: float) -> None:
    """Run the abandon hook, but not for ever: it may wait on a lock the stuck cycle holds."""

    def call() -> None:
        try:
            on_abandon()
        except Exception:
            logger.exception("on_abandon failed")

    thread = threading.Thread(target=call, name="research-agent-abandon", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        logger.warning("on_abandon still running after %.1fs; exiting without it", timeout)


def _arm_exit_watchdog(seconds: float) -> None:
    """End the process if its normal exit hangs on the abandoned cycle.

    The abandoned cycle runs in a daemon thread, which never delays exit, but whatever it is
    blocked on may be a non-daemon thread (a ThreadPoolExecutor worker inside an HTTP client)
    that the interpreter joins at exit, forever. os._exit is the only way past that join, so
    it is used only then, after `seconds` and after the logs are flushed.
    """

    def exit_now() -> None:
        time.sleep(seconds)
        logger.warning("process did not exit %.1fs after abandoning a cycle; forcing exit", seconds)
        flush_logs()
        os._exit(0)

    threading.Thread(target=exit_now, name="research-agent-exit-watchdog", daemon=True).start()
