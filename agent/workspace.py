"""Create a workspace: settings, example tracks, state/ and cycles/ folders, a git repo."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from agent import journal
from agent.errors import WorkspaceError

WORKSPACE_FILES = {
    "research.toml": "research.toml",
    "state/tracks.toml": "tracks.toml",
    "state/.gitignore": "state.gitignore",
}
CYCLES_README = """# Cycles

One Markdown note per cycle, in `YYYY/MM/NNNN-<action>.md`. This page is regenerated and
committed with every cycle.
"""
KNOWLEDGE_GRAPH = """# Knowledge graph

Nothing read yet: the agent fills this page from its store after its first learn cycle.
"""


def default_file(name: str) -> str:
    """Text of a file shipped in agent/defaults/."""
    return (resources.files("agent") / "defaults" / name).read_text(encoding="utf-8")


def is_workspace(directory: Path) -> bool:
    """Whether `directory` holds a workspace (its tracks file is the mark)."""
    return (directory / "state" / "tracks.toml").is_file()


def find_workspace(start: Path) -> Path | None:
    """The workspace holding `start`: itself or the nearest parent that is one, as git finds
    its repository from a subdirectory; None if there is none up to the filesystem root."""
    start = start.expanduser().resolve()
    return next((d for d in (start, *start.parents) if is_workspace(d)), None)


def init_workspace(directory: Path) -> tuple[Path, str]:
    """Create a workspace in `directory` (made if missing) and commit it; returns (path, sha)."""
    directory = directory.expanduser().resolve()
    existing = [name for name in WORKSPACE_FILES if (directory / name).exists()]
    if existing:
        raise WorkspaceError(
            f"{directory} already holds a workspace ({existing[0]} exists); nothing was changed. "
            "Use it as it is, or choose an empty directory."
        )
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for relative, shipped in WORKSPACE_FILES.items():
        write_new(directory / relative, default_file(shipped))
        written.append(relative)
    for relative, text in (
        ("cycles/README.md", CYCLES_README),
        ("state/knowledge-graph.md", KNOWLEDGE_GRAPH),
    ):
        if not (directory / relative).exists():
            write_new(directory / relative, text)
            written.append(relative)
    sha = journal.init_repo(
        directory,
        written,
        "research-agent: new workspace\n\nExample tracks "
        "in state/tracks.toml; settings in research.toml.",
    )
    return directory, sha


def write_new(path: Path, text: str) -> None:
    """Write a file that must not exist yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
