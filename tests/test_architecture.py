"""The layout promise: one module owns each vendor library; every command has help."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.cli import run_cli

AGENT = Path(__file__).resolve().parent.parent / "agent"
OWNERS = {
    "arxiv": ("agent/sources/",),
    "openai": ("agent/analyst/llm_client.py",),
    "sqlmodel": ("agent/store/",),
    "sqlalchemy": ("agent/store/",),
    "git": ("agent/journal.py",),
    "apscheduler": ("agent/daemon/",),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_each_vendor_library_is_imported_only_by_its_owner() -> None:
    root = AGENT.parent
    for path in AGENT.rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        for library in imported_modules(path) & set(OWNERS):
            assert relative.startswith(OWNERS[library]), f"{relative} imports {library}"


def test_policy_and_rendering_do_no_io() -> None:
    for module in ("policy.py", "notes.py"):
        imports = imported_modules(AGENT / module)
        assert not imports & {"httpx", "requests", "arxiv", "openai", "sqlmodel", "git",
                              "subprocess", "socket"}, module


COMMANDS = [
    [], ["init"], ["cycle"], ["run"], ["status"], ["demo"], ["triage"], ["queue"],
    ["queue", "add"], ["queue", "drop"], ["rate"], ["tracks"], ["tracks", "set-priority"],
    ["tracks", "pause"], ["tracks", "resume"], ["tracks", "add"], ["log"], ["show"],
    ["digest"], ["papers"], ["papers", "search"], ["papers", "show"], ["export"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, *command, "--help")
    assert result.code == 0
    assert "Usage" in result.out
    lines = [line for line in result.out.splitlines() if line.strip()]
    assert len(lines) >= 3  # usage, a description, options


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from agent import __version__

    result = run_cli(capsys, "--version")
    assert result.code == 0 and __version__ in result.out
