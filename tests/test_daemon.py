"""The daemon: schedule decisions as pure functions, the real scheduler with tiny intervals and
max_cycles, and shutdown with real signals sent to a real child process."""

from __future__ import annotations

import json
import logging
import os
import queue
import selectors
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.daemon import (
    DaemonEvent,
    DaemonOptions,
    DaemonOutcome,
    backoff_ticks,
    load_timezone,
    loop,
    parse_cron,
    parse_every,
    plan_first_run,
    run_daemon,
)
from agent.errors import ConfigError
from agent.schedule import failure_backoff

ROOT = Path(__file__).resolve().parents[1]
TICK = timedelta(milliseconds=10)
NOW = datetime(2026, 2, 27, 1, 30, tzinfo=UTC)


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d", timedelta(days=1)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_parse_every(text: str, expected: timedelta):
    assert parse_every(text) == expected


@pytest.mark.parametrize("text", ["", "90", "1 hour", "h", "1h-5m", "0m", "30m1h", "1.5h"])
def test_parse_every_rejects_naming_the_value(text: str):
    with pytest.raises(ConfigError) as raised:
        parse_every(text)
    assert repr(text) in str(raised.value)


def test_cron_weekdays_follow_crontab_not_apscheduler():
    sunday = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # a Sunday
    weekdays = parse_cron("0 9 * * 1-5").get_next_fire_time(None, sunday)
    assert weekdays == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday, as crontab means
    sundays = parse_cron("0 9 * * 0").get_next_fire_time(None, sunday)
    assert sundays == datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
    whole_week = parse_cron("0 9 * * 0-6").get_next_fire_time(None, sunday)
    assert whole_week == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("expr", ["0 9 * *", "61 * * * *", "0 9 * * 8", "every night"])
def test_bad_cron_is_a_config_error_naming_it(expr: str):
    with pytest.raises(ConfigError) as raised:
        parse_cron(expr)
    assert repr(expr) in str(raised.value)


def test_cron_that_never_fires_is_a_config_error():
    with pytest.raises(ConfigError, match="never fires"):
        run_daemon(lambda stop: None, DaemonOptions(
            every=None, cron="0 0 31 2 *", timezone="UTC", max_cycles=1, shutdown_grace=1,
            last_completed=None, install_signals=False))  # fmt: skip


def test_unknown_timezone_is_a_config_error():
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        load_timezone("Mars/Olympus")


def test_no_schedule_is_a_config_error():
    with pytest.raises(ConfigError, match="no schedule"):
        run_daemon(lambda stop: None, DaemonOptions(
            every=None, cron=None, timezone="UTC", max_cycles=1, shutdown_grace=1,
            last_completed=None, install_signals=False))  # fmt: skip


# --- decisions (pure) -----------------------------------------------------------------------


def hourly(moment: datetime) -> datetime:
    return moment + timedelta(hours=1)


def test_first_run_is_now_when_nothing_ever_ran():
    assert plan_first_run(NOW, None, hourly) == NOW


def test_first_run_is_now_when_overdue():
    # The laptop was off all night: one cycle now, not one per missed hour.
    assert plan_first_run(NOW, NOW - timedelta(hours=8), hourly) == NOW


def test_first_run_waits_for_the_interval_when_not_due():
    assert plan_first_run(NOW, NOW - timedelta(minutes=20), hourly) == NOW + timedelta(minutes=40)


def test_first_run_treats_naive_last_as_utc():
    naive = (NOW - timedelta(minutes=20)).replace(tzinfo=None)  # as SQLite gives it back
    assert plan_first_run(NOW, naive, hourly) == NOW + timedelta(minutes=40)


def test_as_utc_takes_naive_times_as_utc_converts_aware_ones_and_keeps_none():
    from zoneinfo import ZoneInfo

    from agent.schedule import as_utc

    assert as_utc(None) is None
    assert as_utc(datetime(2026, 1, 5, 9, 30)) == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    paris = datetime(2026, 1, 5, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))
    assert as_utc(paris).tzinfo is UTC and as_utc(paris).hour == 9


def test_first_run_with_last_in_the_future_waits_one_interval():
    assert plan_first_run(NOW, NOW + timedelta(hours=3), hourly) == NOW + timedelta(hours=1)


def test_first_run_on_a_cron_schedule():
    trigger = parse_cron("0 */2 * * *")

    def next_after(moment: datetime) -> datetime:
        return trigger.get_next_fire_time(None, moment + timedelta(microseconds=1))

    # Last ran at 00:00; the 00:00 + 2h slot (02:00) is still ahead at 01:30.
    assert plan_first_run(NOW, NOW.replace(hour=0, minute=0), next_after) == NOW.replace(
        hour=2, minute=0
    )
    # Last ran yesterday at 22:00: the 00:00 slot was missed, so run now.
    assert plan_first_run(NOW, NOW - timedelta(hours=3, minutes=30), next_after) == NOW


def test_backoff_doubles_and_is_capped():
    hour = timedelta(hours=1)
    assert [backoff_ticks(n, hour) for n in range(6)] == [0, 0, 1, 3, 5, 5]  # 6 h cap
    assert [backoff_ticks(n, timedelta(minutes=10)) for n in range(7)] == [0, 0, 1, 3, 7, 15, 31]
    assert backoff_ticks(80, hour) == 5


def test_backoff_cap_keeps_trying_every_six_hours():
    assert backoff_ticks(99, timedelta(hours=1)) == 5
    assert backoff_ticks(99, timedelta(minutes=15)) == 23
    assert backoff_ticks(99, timedelta(days=1)) == 0


def test_daemon_and_policy_back_off_by_one_rule():
    """The policy's minutes and the daemon's ticks are the same doubling (agent.schedule)."""
    from agent.policy import PolicySettings, Snapshot, backoff_until

    failed_at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    waits = [
        backoff_until(Snapshot(consecutive_failures=n, last_failure_at=failed_at),
                      PolicySettings()) - failed_at
        for n in range(1, 7)
    ]  # fmt: skip
    minutes = [int(w / timedelta(minutes=1)) for w in waits]
    assert minutes == [15, 30, 60, 120, 240, 240]
    assert [failure_backoff(n, timedelta(minutes=15), timedelta(hours=4)) for n in range(1, 7)] \
        == waits  # fmt: skip


# --- the real scheduler, in process ---------------------------------------------------------


def run_quick(run_one, tmp_path: Path, **options) -> tuple[int, list[DaemonEvent]]:
    events: list[DaemonEvent] = []
    settings: dict[str, Any] = dict(  # noqa: C408 (keyword names read as DaemonOptions' own)
        every=TICK, cron=None, timezone="UTC", max_cycles=3, shutdown_grace=5.0,
        last_completed=None, install_signals=False, on_event=events.append, state_dir=tmp_path,
    )  # fmt: skip
    settings.update(options)
    return run_daemon(run_one, DaemonOptions(**settings)), events


def test_max_cycles_stops_after_n_calls(tmp_path: Path):
    seen: list[dict] = []

    def run_one(stop: threading.Event) -> DaemonOutcome:
        assert isinstance(stop, threading.Event) and not stop.is_set()
        seen.append(json.loads((tmp_path / "daemon.json").read_text()))
        return DaemonOutcome("committed", "scan")

    status, events = run_quick(run_one, tmp_path)
    assert status == 0
    assert len(seen) == 3
    assert seen[0]["pid"] == os.getpid() and seen[0]["every"] == "0.01s" and seen[0]["next_run"]
    assert [e.kind for e in events if e.kind == "cycle"] == ["cycle"] * 3
    assert events[-1].kind == "stopped"
    assert not (tmp_path / "daemon.json").exists()  # removed on a clean exit


def test_failures_are_logged_counted_and_backed_off(tmp_path: Path, caplog):
    calls: list[int] = []

    def run_one(stop: threading.Event) -> DaemonOutcome:
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError("arXiv unreachable")
        return DaemonOutcome("committed", "scan")

    with caplog.at_level(logging.DEBUG, logger="agent.daemon"):
        status, events = run_quick(run_one, tmp_path)
    assert status == 0 and len(calls) == 3  # the daemon kept going
    kinds = [e.kind for e in events if e.kind in ("failed", "backoff", "cycle")]
    assert kinds == ["failed", "failed", "backoff", "cycle"]  # 2nd failure skips one tick
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["cycle failed: RuntimeError: arXiv unreachable"] * 2
    assert all(r.exc_info is None for r in errors)  # one line at error...
    # ...and the traceback at debug
    assert any(r.exc_info and r.levelno == logging.DEBUG for r in caplog.records)


def test_a_returned_failure_is_left_to_the_policy_and_resets_the_count(tmp_path: Path):
    """A cycle that returns "failed" recorded itself; the policy backs off from that record.

    The daemon backs off only from cycles that raised (nothing recorded them), and any cycle that
    returns — failed, rested or committed — ends that streak: the two never count one event.
    """
    outcomes = iter(["raise", "raise", "failed", "raise", "committed"])

    def run_one(stop: threading.Event) -> DaemonOutcome:
        kind = next(outcomes)
        if kind == "raise":
            raise OSError("database is unreachable")
        return DaemonOutcome(kind, "scan", "boom" if kind == "failed" else "")

    status, events = run_quick(run_one, tmp_path, max_cycles=5)
    kinds = [e.kind for e in events if e.kind in ("failed", "backoff", "cycle")]
    # raise, raise (2 in a row: skip one tick), returned failure (streak over: no skip), raise
    assert kinds == ["failed", "failed", "backoff", "failed", "failed", "cycle"]
    assert events[0].kind == "started"


def test_a_cycle_thread_that_cannot_start_is_a_failed_tick_not_the_daemons_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """No thread left for a tick's cycle (RuntimeError from Thread.start) ended the daemon with
    a traceback, its `idle` flag cleared for good; now the tick fails and the next one runs."""
    real_thread = threading.Thread
    refused: list[str] = []

    class NoFirstCycleThread(real_thread):  # type: ignore[misc,valid-type]
        def start(self) -> None:
            if self.name == "research-agent-cycle" and not refused:
                refused.append(self.name)
                raise RuntimeError("can't start new thread")
            super().start()

    monkeypatch.setattr(threading, "Thread", NoFirstCycleThread)
    calls: list[int] = []
    status, events = run_quick(
        lambda stop: calls.append(1) or DaemonOutcome("committed", "scan"), tmp_path,
        max_cycles=2,
    )  # fmt: skip
    assert status == 0 and refused and len(calls) == 2
    kinds = [e.kind for e in events if e.kind in ("failed", "cycle")]
    assert kinds == ["failed", "cycle", "cycle"]
    assert "can't start new thread" in next(e for e in events if e.kind == "failed").message


def run_in_thread(run_one, tmp_path: Path, **options):
    """Start run_daemon in a thread; returns (events queue, stop event, thread, result box)."""
    events: queue.Queue[DaemonEvent] = queue.Queue()
    stop = threading.Event()
    result: list[int] = []
    settings: dict[str, Any] = dict(  # noqa: C408 (keyword names read as DaemonOptions' own)
        every=timedelta(hours=1), cron=None, timezone="UTC", max_cycles=None, shutdown_grace=5.0,
        last_completed=None, install_signals=False, on_event=events.put, state_dir=tmp_path,
        stop=stop,
    )  # fmt: skip
    settings.update(options)
    options = DaemonOptions(**settings)
    thread = threading.Thread(target=lambda: result.append(run_daemon(run_one, options)))
    thread.start()
    return events, stop, thread, result


def wait_for(events: queue.Queue, kind: str) -> DaemonEvent:
    while True:
        event = events.get(timeout=10)
        if event.kind == kind:
            return event


def test_not_overdue_waits_until_last_plus_interval(tmp_path: Path):
    last = datetime.now(UTC) - timedelta(minutes=20)
    calls: list[int] = []
    events, stop, thread, result = run_in_thread(lambda s: calls.append(1), tmp_path,
                                                 last_completed=lambda: last)  # fmt: skip
    started = wait_for(events, "started")
    state = json.loads((tmp_path / "daemon.json").read_text())
    stop.set()
    thread.join(timeout=10)
    assert started.next_run == last + timedelta(hours=1)
    assert datetime.fromisoformat(state["next_run"]) == last + timedelta(hours=1)
    assert calls == [] and result == [0]


def test_overdue_runs_one_catch_up_then_waits_an_interval(tmp_path: Path):
    last = datetime.now(UTC) - timedelta(hours=8)
    calls: list[datetime] = []
    events, stop, thread, result = run_in_thread(
        lambda s: calls.append(datetime.now(UTC)), tmp_path, last_completed=lambda: last
    )
    wait_for(events, "cycle")
    scheduled = wait_for(events, "scheduled")
    while scheduled.next_run is None or scheduled.next_run <= calls[0]:
        scheduled = wait_for(events, "scheduled")
    stop.set()
    thread.join(timeout=10)
    assert len(calls) == 1 and result == [0]
    assert timedelta(minutes=59) < scheduled.next_run - calls[0] <= timedelta(hours=1)


def test_cooperative_cycle_stops_within_grace_without_abandon(tmp_path: Path):
    abandoned: list[int] = []

    def run_one(stop: threading.Event) -> DaemonOutcome:
        stop.wait()  # a cycle checking stop between steps
        return DaemonOutcome("aborted", "learn")

    events, stop, thread, result = run_in_thread(
        run_one, tmp_path, on_abandon=lambda: abandoned.append(1)
    )
    wait_for(events, "scheduled")
    stop.set()
    thread.join(timeout=10)
    assert result == [0] and abandoned == []


def test_blocked_cycle_is_abandoned_after_grace(tmp_path: Path):
    blocker, entered = threading.Event(), threading.Event()
    abandoned: list[int] = []

    def run_one(stop: threading.Event) -> None:
        entered.set()
        blocker.wait()  # stuck in a slow call that ignores stop

    events, stop, thread, result = run_in_thread(
        run_one, tmp_path, shutdown_grace=0.05, on_abandon=lambda: abandoned.append(1)
    )
    assert entered.wait(timeout=10)
    stop.set()
    thread.join(timeout=10)
    blocker.set()
    assert result == [0] and abandoned == [1]
    assert "abandoned" in [e.kind for e in list(events.queue)]


def test_a_hanging_abandon_hook_does_not_hang_the_daemon(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(loop, "ABANDON_TIMEOUT_SECONDS", 0.05)
    blocker, entered = threading.Event(), threading.Event()

    def run_one(stop: threading.Event) -> None:
        entered.set()
        blocker.wait()

    events, stop, thread, result = run_in_thread(
        run_one, tmp_path, shutdown_grace=0.05, on_abandon=blocker.wait  # blocks too
    )
    assert entered.wait(timeout=10)
    stop.set()
    thread.join(timeout=10)
    blocker.set()
    assert result == [0]


# --- signals, in a real child process -------------------------------------------------------

CHILD = r"""
import sys, threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
import agent.daemon.loop as loop
from agent.daemon import DaemonOptions, DaemonOutcome, run_daemon

mode, state, grace = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
loop.EXIT_WATCHDOG_SECONDS = 0.2
blocker, out = threading.Event(), threading.Lock()

def say(text):
    with out:  # two threads print: keep lines whole
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

def run_one(stop):
    say("cycle")
    if mode == "pool":  # blocked inside a non-daemon worker thread, as HTTP clients may be
        from concurrent.futures import ThreadPoolExecutor
        ThreadPoolExecutor(1).submit(blocker.wait).result()
    blocker.wait()
    return DaemonOutcome("committed", "scan")

def abandon():
    (state / "abandoned").write_text("yes")

last = (lambda: datetime.now(UTC)) if mode == "idle" else (lambda: None)
sys.exit(run_daemon(run_one, DaemonOptions(
    every=timedelta(hours=1), cron=None, timezone="UTC", max_cycles=None, shutdown_grace=grace,
    last_completed=last, on_event=lambda event: say(event.kind), on_abandon=abandon,
    state_dir=state)))
"""


class Child:
    """The daemon in a child process, with its stdout read line by line under a deadline."""

    def __init__(self, tmp_path: Path, mode: str, grace: float):
        script = tmp_path / "child.py"
        script.write_text(CHILD)
        self.state = tmp_path
        self.proc = subprocess.Popen(
            [sys.executable, str(script), mode, str(tmp_path), str(grace)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        self.lines: list[str] = []
        self._buffer = b""

    def wait_for(self, line: str, timeout: float = 60) -> None:
        assert self.proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while line not in self.lines:
            ready = selector.select(max(0.0, deadline - time.monotonic()))
            assert ready, f"no {line!r} in time; got {self.lines}, {self._buffer!r}"
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            assert chunk, f"child exited before {line!r}: {self.proc.communicate()[1]!r}"
            self._buffer += chunk
            *done, self._buffer = self._buffer.split(b"\n")
            self.lines += [d.decode() for d in done]

    def terminate_and_wait(self, timeout: float = 90) -> tuple[int, float, str]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, time.monotonic() - started, err.decode()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def child(tmp_path: Path):
    children: list[Child] = []

    def start(mode: str, grace: float = 0.2) -> Child:
        children.append(Child(tmp_path, mode, grace))
        return children[-1]

    yield start
    for each in children:
        each.kill()


def test_sigterm_while_idle_exits_zero_promptly(child, tmp_path: Path):
    daemon = child("idle")
    daemon.wait_for("started")
    info = json.loads((tmp_path / "daemon.json").read_text())
    assert info["pid"] == daemon.proc.pid and info["every"] == "1h"
    status, elapsed, _ = daemon.terminate_and_wait()
    assert status == 0 and elapsed < 60  # not the hour it would sleep
    assert "cycle" not in daemon.lines
    assert not (tmp_path / "daemon.json").exists()
    assert not (tmp_path / "abandoned").exists()


def test_sigterm_during_a_blocked_cycle_abandons_it_and_exits_zero(child, tmp_path: Path):
    daemon = child("block")
    daemon.wait_for("cycle")
    status, elapsed, _ = daemon.terminate_and_wait()
    assert status == 0 and elapsed < 60  # the cycle itself never returns
    assert (tmp_path / "abandoned").read_text() == "yes"  # on_abandon ran
    assert not (tmp_path / "daemon.json").exists()


def test_cycle_stuck_in_a_non_daemon_thread_still_exits(child, tmp_path: Path):
    daemon = child("pool")
    daemon.wait_for("cycle")
    status, elapsed, err = daemon.terminate_and_wait()
    assert status == 0 and elapsed < 60  # the thread never ends
    assert (tmp_path / "abandoned").exists()
    assert "forcing exit" in err  # the watchdog, not a clean interpreter exit, ended it


def test_second_signal_cuts_the_grace_short(child, tmp_path: Path):
    daemon = child("block", grace=600)
    daemon.wait_for("cycle")
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    daemon.wait_for("stopping")
    daemon.proc.send_signal(signal.SIGINT)
    daemon.proc.communicate(timeout=90)
    assert daemon.proc.returncode == 0 and time.monotonic() - started < 60  # not the 600 s grace
    assert (tmp_path / "abandoned").exists()
