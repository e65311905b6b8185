"""Look at a workspace's git repository the way a person would: with the git command."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(path: Path, *args: str) -> str:
    """`git -C PATH ARGS...`, its output; fails the test if git does."""
    return subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=True
    ).stdout


def committed_files(path: Path, rev: str = "HEAD") -> set[str]:
    """The paths one commit touched."""
    out = git(path, "show", "--name-only", "--format=", rev)
    return {line for line in out.splitlines() if line}


def git_head(path: Path) -> str:
    return git(path, "rev-parse", "HEAD").strip()
