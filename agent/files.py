"""Files written whole or not at all, and the one `flock` helper of both inter-process locks.

`write_atomic` is the only place that renames a temporary file over a real one: notes, views,
`state/tracks.toml`, `state/daemon.json` and the full-text cache all go through it, so a power cut
leaves either the old file or the new one, never a torn one. The data is fsynced before the
rename and the directory after it, so the rename itself survives the cut too.

`try_lock`/`lock_within`/`unlock` wrap `fcntl.flock` for the workspace lock (lock.py) and the
git lock (journal.py): the kernel drops an flock when its holder dies, so neither can go stale.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

FileLike = int | IO[str] | IO[bytes]
POLL_SECONDS = 0.05


def write_atomic(path: Path, data: str | bytes, *, encoding: str = "utf-8") -> None:
    """Replace `path` with `data` atomically and durably; on any error `path` is untouched.

    The temporary file sits next to the target (a rename never crosses file systems), hidden
    and named after this process, so two writers never share one; it is removed on failure.
    """
    payload = data.encode(encoding) if isinstance(data, str) else data
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the data itself is synced
    finally:
        os.close(fd)


def try_lock(file: FileLike, *, shared: bool = False) -> bool:
    """Take an flock on `file` without waiting: False when another open file holds it."""
    try:
        fcntl.flock(file, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def lock_within(
    file: FileLike,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Take an exclusive flock, polling until `timeout` seconds passed: False if it never came."""
    deadline = clock() + timeout
    while not try_lock(file):
        if clock() >= deadline:
            return False
        sleep(POLL_SECONDS)
    return True


def unlock(file: FileLike) -> None:
    fcntl.flock(file, fcntl.LOCK_UN)
