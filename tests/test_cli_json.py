"""`--json`: one shared option, one printer; every command that has it prints parseable JSON."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import typer.main

from tests.cli import run_cli

CLI = Path(__file__).resolve().parent.parent / "agent" / "cli"


def json_commands() -> dict[str, Any]:
    """Every command of the real CLI with a --json option, by its words ("papers search")."""
    from agent.cli import app, commands, discover, morning, queue, tracks  # noqa: F401

    found: dict[str, Any] = {}

    def walk(command: Any, words: tuple[str, ...]) -> None:
        for param in command.params:
            if "--json" in getattr(param, "opts", ()):
                found[" ".join(words)] = param
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*words, name))

    walk(typer.main.get_command(app), ())
    return found


def test_json_is_declared_once_for_the_whole_cli() -> None:
    """The option is spelled in one place (agent/cli/__init__.py); commands reuse it."""
    spelled = [
        f"{path.name}:{node.lineno}"
        for path in sorted(CLI.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value == "--json"
    ]
    assert spelled == [spelled[0]] and spelled[0].startswith("__init__.py:"), spelled


def test_every_json_option_reads_the_same() -> None:
    from agent.cli import JSON_HELP

    options = json_commands()
    assert set(options) == set(JSON_RUNS), "a --json command is missing from JSON_RUNS"
    for words, option in options.items():
        assert (option.help, option.is_flag, option.default) == (JSON_HELP, True, False), words


JSON_RUNS = {
    "status": [],
    "log": [],
    "tracks": [],
    "queue": [],
    "papers search": ["audio"],
    "papers show": ["{paper}"],
    "papers discover": ["{track}", "--source", "sample", "--limit", "3"],
}


@pytest.mark.parametrize("words", sorted(JSON_RUNS))
def test_every_json_command_prints_parseable_json(
    words: str, scanned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ["-w", str(scanned)]
    paper = json.loads(run_cli(capsys, "papers", "search", "audio", *ws, "--json").out)[0]["id"]
    track = json.loads(run_cli(capsys, "tracks", *ws, "--json").out)[0]["id"]
    if words == "queue":  # something to list
        assert run_cli(capsys, "queue", "add", paper, "--source", "sample", *ws).code == 0
    args = [a.format(paper=paper, track=track) for a in JSON_RUNS[words]]
    result = run_cli(capsys, *words.split(), *args, *ws, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data, f"{words} --json printed an empty value"
    assert "\x1b" not in result.out  # unstyled, whatever the terminal
