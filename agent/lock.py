"""The workspace lock: one research-agent process works in a workspace at a time.

An OS file lock (`flock` on `state/agent.lock`, via agent.files), so the kernel releases it when
the holder dies, however it dies: there is never a stale lock to clean up by hand. The file also
carries the holder's pid, start time and command, for the error message and `research-agent
status`.
The lock is re-entrant within one process (the daemon holds it for its lifetime and each cycle
takes it again), because two `flock`s from one process on two file descriptions would conflict.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from agent.closing import Closing
from agent.errors import LockedError, WorkspaceError
from agent.files import try_lock, unlock
from agent.logs import redact_secrets

LOCK_NAME = "agent.lock"

# Locks this process holds, by resolved path: fd and how many times it was acquired.
_held: dict[Path, list[int]] = {}
_held_guard = threading.Lock()


@dataclass(frozen=True)
class LockHolder:
    """What the lock file says about the process holding it."""

    pid: int
    started: str = ""
    command: str = ""


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (it may belong to another user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_holder_file(path: Path) -> LockHolder | None:
    """Parse a lock file: first line the pid, then `key=value` lines."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if not lines or not lines[0].strip().isdigit():
        return None
    fields = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
    return LockHolder(int(lines[0]), fields.get("started", ""), fields.get("command", ""))


class WorkspaceLock(Closing):
    """An exclusive, non-blocking, re-entrant (per process) lock on `state_dir/agent.lock`."""

    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / LOCK_NAME
        self._depth = 0

    def acquire(self) -> None:
        """Take the lock or raise LockedError naming the process that holds it."""
        key = self._key()
        with _held_guard:
            if key in _held:
                _held[key][1] += 1
                self._depth += 1
                return
            fd = self._open()
            if not try_lock(fd):
                os.close(fd)
                raise LockedError(self._locked_message())
            _write_holder(fd)
            _held[key] = [fd, 1]
            self._depth += 1

    def release(self) -> None:
        """Give back one acquisition; the last one clears the file and unlocks."""
        if self._depth == 0:
            return
        key = self._key()
        with _held_guard:
            self._depth -= 1
            entry = _held.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _held[key]
            fd = entry[0]
            # Clear before unlocking so nobody reads our pid once we no longer hold the lock.
            os.ftruncate(fd, 0)
            unlock(fd)
            os.close(fd)

    def holder(self) -> int | None:
        """The pid of the live process holding the lock, or None when it is free."""
        info = self.holder_info()
        return info.pid if info else None

    def holder_info(self) -> LockHolder | None:
        """What the holder wrote, if anyone holds the lock; never takes it for long."""
        if self._key() in _held:
            return read_holder_file(self.path) or LockHolder(os.getpid())
        if not self.path.exists():
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            if not try_lock(fd, shared=True):
                return _read_live_holder(self.path)
            unlock(fd)
            return None
        finally:
            os.close(fd)

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def close(self) -> None:
        """Leaving a `with` block releases the lock."""
        self.release()

    def _key(self) -> Path:
        return self.path.resolve()

    def _open(self) -> int:
        try:
            self.state_dir.mkdir(exist_ok=True)
            # Never replace or delete this file: the lock lives on its inode.
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            raise WorkspaceError(
                f"workspace {self.state_dir.parent} does not exist; "
                "run `research-agent init` there first"
            ) from None

    def _locked_message(self) -> str:
        info = read_holder_file(self.path)
        who = f"research-agent pid {info.pid}" if info else "another research-agent process"
        started = f" (started {info.started})" if info and info.started else ""
        return (
            f"workspace {self.state_dir.parent} is in use by {who}{started}; "
            "stop it first, or wait"
        )


def _read_live_holder(path: Path) -> LockHolder:
    """The holder of a held lock; pid 0 if it has not written its details yet."""
    for _ in range(3):
        # The holder writes right after locking; a re-read covers that instant.
        info = read_holder_file(path)
        if info and pid_alive(info.pid):
            return info
    return LockHolder(0)


def _write_holder(fd: int) -> None:
    """Write pid, start time and command in place (pwrite then truncate: no empty moment)."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    command = redact_secrets(" ".join([Path(sys.argv[0]).name, *sys.argv[1:]]))
    command = command.replace("\n", " ")[:300]
    data = f"{os.getpid()}\nstarted={started}\ncommand={command}\n".encode()
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))
