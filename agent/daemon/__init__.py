"""The long-running loop: wakes `run_one` every interval (or on a cron schedule).

A plain loop over the schedule's next fire time (loop.py); this package is the only code that
imports `apscheduler`, and only its public CronTrigger, to read cron lines. Cycles run one at a
time in a daemon thread, so a cycle stuck in a slow HTTP call can never keep the process alive
after a shutdown: on SIGTERM or SIGINT the schedule stops, the cycle's `stop` event is set, the
cycle gets `shutdown_grace` seconds to abandon cleanly, and after that the daemon calls
`on_abandon` and returns anyway.

The contract for `run_one(stop)`: check `stop.is_set()` between steps and once more right before
committing; when set, undo what is half-written, record the cycle aborted and return
`DaemonOutcome("aborted", ...)`. Report failures by returning `DaemonOutcome("failed", ...)` or by
raising: either way the daemon logs it and goes on. A returned failure was recorded by the cycle,
so the policy backs off from it; only a raised one, which nothing recorded, makes the daemon back
off (skips 0, 1, 3, 7, ... ticks, trying at least every six hours; see agent.schedule).
`on_abandon` runs in another thread while the stuck cycle may still be alive, so it must be safe
to run concurrently with it and quick (it gets 2 s).
"""

from agent.daemon.loop import DaemonEvent, DaemonOptions, DaemonOutcome, RunOne, run_daemon
from agent.daemon.schedule import backoff_ticks, parse_cron, plan_first_run
from agent.schedule import load_timezone, parse_every

__all__ = [
    "DaemonEvent",
    "DaemonOptions",
    "DaemonOutcome",
    "RunOne",
    "backoff_ticks",
    "load_timezone",
    "parse_cron",
    "parse_every",
    "plan_first_run",
    "run_daemon",
]
