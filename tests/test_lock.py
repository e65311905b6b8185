"""The workspace lock, against a real second process holding it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import LockedError, WorkspaceError
from agent.lock import WorkspaceLock, pid_alive, read_holder_file

ROOT = Path(__file__).resolve().parents[1]

HOLDER_SCRIPT = """
import sys
from pathlib import Path
from agent.lock import WorkspaceLock

with WorkspaceLock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def holder(state_dir: Path):
    """A second process that holds the lock until its stdin closes or it is killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER_SCRIPT, str(state_dir)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_acquire_writes_pid_and_release_frees(state_dir: Path):
    lock = WorkspaceLock(state_dir)
    with lock:
        info = read_holder_file(state_dir / "agent.lock")
        assert info is not None and info.pid == os.getpid() and info.started
        assert lock.holder() == os.getpid()
    assert lock.holder() is None
    assert (state_dir / "agent.lock").read_text() == ""  # no stale pid left behind


def test_lock_is_reentrant_within_a_process(state_dir: Path):
    outer, inner = WorkspaceLock(state_dir), WorkspaceLock(state_dir)
    with outer:
        with inner:  # the daemon holds the lock and each cycle takes it again
            assert inner.holder() == os.getpid()
        assert outer.holder() == os.getpid()
    assert outer.holder() is None


def test_second_process_is_refused_naming_the_holder(state_dir: Path, holder):
    lock = WorkspaceLock(state_dir)
    with pytest.raises(LockedError) as raised:
        lock.acquire()
    message = str(raised.value)
    assert f"pid {holder.pid}" in message
    assert str(state_dir.parent) in message and "stop it first" in message
    assert lock.holder() == holder.pid


def test_lock_is_free_after_the_holder_is_killed(state_dir: Path, holder):
    holder.kill()  # SIGKILL: no cleanup code runs; the kernel drops the lock
    holder.wait(timeout=10)
    lock = WorkspaceLock(state_dir)
    assert lock.holder() is None
    with lock:
        assert lock.holder() == os.getpid()


def test_lock_is_free_after_the_holder_exits(state_dir: Path, holder):
    holder.communicate("\n", timeout=10)
    assert holder.returncode == 0
    assert WorkspaceLock(state_dir).holder() is None


def test_holder_of_a_never_used_workspace_is_none(state_dir: Path):
    assert WorkspaceLock(state_dir).holder() is None
    assert not state_dir.exists()  # asking does not create anything


def test_missing_workspace_is_a_workspace_error(tmp_path: Path):
    with pytest.raises(WorkspaceError, match="does not exist"):
        WorkspaceLock(tmp_path / "nowhere" / "state").acquire()


def test_command_in_lock_file_has_keys_redacted(state_dir: Path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["research-agent", "run", "--key", "sk-fakekey0123456"])
    with WorkspaceLock(state_dir):
        info = read_holder_file(state_dir / "agent.lock")
    assert info is not None
    assert "research-agent run --key" in info.command
    assert "sk-abc" not in info.command


def test_pid_alive():
    assert pid_alive(os.getpid())
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=10)
    assert not pid_alive(proc.pid)  # reaped: the pid names no process
    assert not pid_alive(0) and not pid_alive(-5)
