"""Atomic writes and the flock helper: a file is whole or untouched; a lock excludes others."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from agent import files
from agent.files import lock_within, try_lock, unlock, write_atomic

AGENT = Path(__file__).resolve().parent.parent / "agent"


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "note.md"
    target.write_text("old", encoding="utf-8")
    write_atomic(target, "new — with ünïcode")
    assert target.read_text(encoding="utf-8") == "new — with ünïcode"
    write_atomic(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["note.md"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "tracks.toml"
    target.write_text("old", encoding="utf-8")

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["tracks.toml"]


def test_the_data_and_the_rename_are_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}") if Path("/proc/self").exists() else "?")
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    write_atomic(tmp_path / "daemon.json", "{}")
    assert len(synced) == 2  # the temporary file's data, then the directory holding the rename
    if synced[1] != "?":
        assert synced[1] == str(tmp_path)


def test_no_other_module_renames_a_temporary_file_by_hand() -> None:
    by_hand = re.compile(r"\bos\.(replace|rename)\(|\b(tmp|temporary)\.(replace|rename)\(")
    offenders = [
        path.relative_to(AGENT).as_posix()
        for path in AGENT.rglob("*.py")
        if path.name != "files.py" and by_hand.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_try_lock_excludes_a_second_open_file_until_unlocked(tmp_path: Path) -> None:
    path = tmp_path / "agent.lock"
    with open(path, "a+") as first, open(path, "a+") as second:
        assert try_lock(first)
        assert not try_lock(second)
        assert not try_lock(second, shared=True)
        unlock(first)
        assert try_lock(second, shared=True)


def test_lock_within_polls_until_its_deadline(tmp_path: Path) -> None:
    path = tmp_path / "git.lock"
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    with open(path, "a+") as holder, open(path, "a+") as waiter:
        assert try_lock(holder)
        assert not lock_within(waiter, 0.2, sleep=sleep, clock=lambda: now[0])
        assert len(waits) == 4 and now[0] >= 0.2  # no real sleep: the clock is the test's
        unlock(holder)
        assert lock_within(waiter, 0.2, sleep=sleep, clock=lambda: now[0])
