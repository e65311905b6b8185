"""A cycle's deadline: past `[schedule] cycle_deadline` it stops like on SIGTERM.

The cycle runs with a `CycleStop` as its stop signal. The daemon's shutdown sets the outer event;
a timer sets the stop itself when the deadline passes. Either way the actions' checkpoints and
the cycle's last checks before writing and committing see it, and the cycle is rolled back.
"""

from __future__ import annotations

import threading
import time

from agent.actions import Cancelled
from agent.errors import AgentError


class CycleStop(threading.Event):
    """A cycle's stop signal: set by the daemon (SIGTERM) or by the cycle's own deadline.

    The deadline trips the same checkpoints as a shutdown, so a cycle past
    `[schedule] cycle_deadline` is rolled back like one: no note, no commit.
    """

    def __init__(self, outer: threading.Event, seconds: float):
        super().__init__()
        self.outer = outer
        self.seconds = seconds
        self.stop_at = time.monotonic() + seconds  # LLM calls and downloads end by then too
        self._timer = threading.Timer(seconds, self.set)
        self._timer.daemon = True

    def __enter__(self) -> CycleStop:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def is_set(self) -> bool:
        return super().is_set() or self.outer.is_set()

    @property
    def overdue(self) -> bool:
        """True once the deadline (not a shutdown) stopped the cycle."""
        return super().is_set()

    def reason(self) -> str:
        return (
            f"the cycle ran past its deadline of {self.seconds:g}s ([schedule] cycle_deadline) "
            "and was abandoned before committing"
        )


def failure_of(exc: Exception, stop: CycleStop) -> tuple[str, str]:
    """(status, error) of a cycle that did not commit; past its deadline, it was aborted."""
    if stop.overdue:  # whatever broke, the deadline broke it (a cut-off call, a download)
        return "aborted", stop.reason()
    if isinstance(exc, Cancelled):
        return "aborted", str(exc)
    if isinstance(exc, AgentError):
        return "failed", str(exc)
    return "failed", f"{type(exc).__name__}: {exc}"
