"""What a commit is made of, checked before git is asked: paths inside the workspace that can be
written, a sanitised one-line title, and the `Cycle: N` trailer crash repair matches commits by.
No git here: `journal.py` is the one module that runs it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from agent.errors import JournalError
from agent.text import clean_text

TITLE_LIMIT = 100
TRAILER = re.compile(r"^Cycle: (\d+)[ \t]*$", re.MULTILINE)


def check_path(path: str) -> str:
    """A workspace-relative posix path as given, or JournalError if it could leave the workspace."""
    pure = PurePosixPath(str(path))
    if not str(path) or pure.is_absolute() or ".." in pure.parts or pure.parts[:1] == (".git",):
        raise JournalError(f"{path!r}: journal paths must be relative to the workspace, inside it.")
    return pure.as_posix()


def check_writable(workspace: Path, path: str) -> None:
    """JournalError naming `path` (or the folder in its way) if it could not be written."""
    target = workspace / path
    if target.is_dir():
        raise JournalError(f"{target} is a folder: a cycle needs to write a file there.")
    if os.path.lexists(target):
        if not os.access(target, os.W_OK):
            raise JournalError(f"{target} is read-only: make it writable (chmod u+w).")
        return
    folder = target.parent
    while not folder.exists() and folder != workspace:
        folder = folder.parent
    if not folder.is_dir():
        raise JournalError(f"{folder} is not a folder: a cycle writes {path} there.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise JournalError(f"{folder} is read-only: make it writable (chmod u+w) for {path}.")


def clean_message(message: str) -> str:
    """Each line stripped of control characters; no blank lines at either end."""
    lines = [clean_text(line) for line in str(message).splitlines()]
    return "\n".join(lines).strip() or "research-agent commit"


def commit_message(cycle: int, action: str, summary: str) -> str:
    """`cycle N: action — summary` on one capped line, then the trailer `Cycle: N`."""
    title = f"cycle {int(cycle)}: {clean_text(action, 20)}"
    summary = clean_text(summary)
    if summary:
        title = clean_text(f"{title} — {summary}", TITLE_LIMIT)
    return f"{title}\n\nCycle: {int(cycle)}"


def with_trailer(message: str, cycle: int | None) -> str:
    """The message with `Cycle: N` appended unless it already carries that trailer."""
    if cycle is None or trailer_cycle(message) == cycle:
        return message
    return f"{message}\n\nCycle: {int(cycle)}"


def trailer_cycle(message: str) -> int | None:
    """The cycle number of a message's `Cycle: N` trailer (in its last paragraph), if any."""
    last = message.strip().split("\n\n")[-1]
    found = TRAILER.findall(last)
    return int(found[-1]) if found else None
