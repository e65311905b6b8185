"""Ctrl-C on a cycle run by hand interrupts the main thread at once, whichever thread took it.

Python runs signal handlers in the main thread only, and only when that thread runs bytecode
again. The kernel may hand a process's SIGINT to any of its threads (a request's deadline timer,
the progress spinner, an LLM worker): the C-level handler then only marks the signal, and a main
thread blocked in a system call (a socket read waiting on arXiv, up to `[arxiv] timeout_seconds`)
sleeps on until that call ends. `main_takes_ctrl_c()` closes that gap: the C-level handler writes
to a wakeup fd in whichever thread took the signal, a relay thread reads it and sends SIGINT to
the main thread itself, whose blocked call then fails with EINTR and runs the handler.

The handler raises KeyboardInterrupt once (the cycle rolls back on it); a later SIGINT, the
relay's own or the researcher's second Ctrl-C, is ignored while the rollback runs. The relay
itself, `SignalRelay`, is the daemon's too (daemon/loop.py), which sets a stop event instead of
raising.
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
    relay = _MainInterrupt(threading.main_thread().ident or 0)
    try:  # restore() undoes as much of install() as was done, if it failed halfway
        relay.install()
        yield
    finally:
        relay.restore()


class SignalRelay:
    """Signals routed to a relay thread through `signal.set_wakeup_fd`: the one way this
    program learns of a signal whichever thread the kernel gave it to.

    The C-level handler writes the signal's number to the wakeup fd in the thread that took
    it; the relay thread reads it at once and calls `relay(signum)`. Python's own handler
    (`handle`, run later and only in the main thread) does nothing unless a subclass says so.
    Installed from the main thread only (`install` says whether it was).
    """

    signals: tuple[int, ...] = (signal.SIGINT,)
    thread_name = "research-agent-signals"

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}
        self._previous_wakeup_fd: int | None = None  # None: the wakeup fd is not ours (yet)
        self._write_fd: int | None = None

    def install(self) -> bool:
        if threading.current_thread() is not threading.main_thread():
            logger.debug("not in the main thread: signal handlers not installed")
            return False
        read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        threading.Thread(
            target=self._read, args=(read_fd,), name=self.thread_name, daemon=True
        ).start()
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for signum in self.signals:
            self._previous[signum] = signal.signal(signum, self.handle)
        return True

    def restore(self) -> None:
        """Undo what `install` did, also when it stopped halfway; twice is harmless."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
        if self._previous_wakeup_fd is not None:
            signal.set_wakeup_fd(self._previous_wakeup_fd)
            self._previous_wakeup_fd = None
        if self._write_fd is not None:
            os.close(self._write_fd)  # the relay reads EOF and ends
            self._write_fd = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """Python's handler, in the main thread: replaces the default (exit, KeyboardInterrupt)."""

    def relay(self, signum: int) -> None:
        """In the relay thread, at once, for each of `signals` received."""

    def _read(self, read_fd: int) -> None:
        with open(read_fd, "rb", buffering=0) as pipe:
            while data := pipe.read(64):  # one byte per signal; b"" once restore() ran
                for signum in data:
                    if signum in self.signals:
                        self.relay(signum)


class _MainInterrupt(SignalRelay):
    """The handler (raise once) and the relay (wake the main thread) of `main_takes_ctrl_c`."""

    thread_name = "research-agent-ctrl-c"

    def __init__(self, main_ident: int):
        super().__init__()
        self.main_ident = main_ident
        self.raised = False  # the handler has raised KeyboardInterrupt
        self.relayed = False  # the relay has sent the main thread its SIGINT

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """Runs in the main thread: the first SIGINT interrupts the cycle, later ones wait."""
        if self.raised:
            logger.info("Ctrl-C again: the cycle is already rolling back")
            return
        self.raised = True
        raise KeyboardInterrupt

    def relay(self, signum: int) -> None:
        if not self.relayed and not self.raised:
            self.relayed = True
            signal.pthread_kill(self.main_ident, signal.SIGINT)
