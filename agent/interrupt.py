"""Ctrl-C on a cycle run by hand interrupts the main thread at once, whichever thread took it.

Python runs signal handlers in the main thread only, and only when that thread runs bytecode
again. The kernel may hand a process's SIGINT to any of its threads (a request's deadline timer,
the progress spinner, an LLM worker): the C-level handler then only marks the signal, and a main
thread blocked in a system call (a socket read waiting on arXiv, up to `[arxiv] timeout_seconds`)
sleeps on until that call ends. `main_takes_ctrl_c()` closes that gap: the C-level handler writes
to a wakeup fd in whichever thread took the signal, a relay thread reads it and sends SIGINT to
the main thread itself, whose blocked call then fails with EINTR and runs the handler.

The handler raises KeyboardInterrupt once (the cycle rolls back on it); a later SIGINT, the
relay's own or the researcher's second Ctrl-C, is ignored while the rollback runs. The daemon
has its own relay (daemon/loop.py), which sets a stop event instead of raising.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)


@contextmanager
def main_takes_ctrl_c() -> Iterator[None]:
    """Within the block, SIGINT raises KeyboardInterrupt in the main thread once, at once.

    Outside the main thread (a cycle under `run`), nothing is installed: signals are the
    daemon's.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    relay = _MainInterrupt(threading.main_thread().ident or 0)
    relay.install()
    try:
        yield
    finally:
        relay.restore()


class _MainInterrupt:
    """The handler (raise once) and the relay (wake the main thread) of `main_takes_ctrl_c`."""

    def __init__(self, main_ident: int):
        self.main_ident = main_ident
        self.raised = False  # the handler has raised KeyboardInterrupt
        self.relayed = False  # the relay has sent the main thread its SIGINT
        self._previous_handler: Any = None
        self._previous_wakeup_fd = -1
        self._write_fd: int | None = None

    def install(self) -> None:
        read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        threading.Thread(
            target=self._relay, args=(read_fd,), name="research-agent-ctrl-c", daemon=True
        ).start()
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        self._previous_handler = signal.signal(signal.SIGINT, self._handle)

    def restore(self) -> None:
        signal.signal(signal.SIGINT, self._previous_handler)
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        if self._write_fd is not None:
            os.close(self._write_fd)  # the relay reads EOF and ends
            self._write_fd = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        """Runs in the main thread: the first SIGINT interrupts the cycle, later ones wait."""
        if self.raised:
            logger.info("Ctrl-C again: the cycle is already rolling back")
            return
        self.raised = True
        raise KeyboardInterrupt

    def _relay(self, read_fd: int) -> None:
        with open(read_fd, "rb", buffering=0) as pipe:
            while data := pipe.read(64):  # one byte per signal; b"" once restore() ran
                if signal.SIGINT in data and not self.relayed and not self.raised:
                    self.relayed = True
                    signal.pthread_kill(self.main_ident, signal.SIGINT)
