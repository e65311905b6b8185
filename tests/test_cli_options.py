"""Option values converted without pydantic (agent/cli/options.py) are the values typer's own
converter gives, and every value it does not convert plainly still gets typer's conversion and
typer's error message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main

from agent.cli import app
from agent.cli.options import lighten
from tests.cli import run_cli

_coercion = pytest.importorskip("typer._coercion")  # typers before 0.2x convert without pydantic


def parameters() -> dict[str, Any]:
    """Every parameter of the real command tree, by `command path:name`, lightened."""
    from agent.cli import commands, discover, morning, queue, tracks  # noqa: F401  (registers)

    root = typer.main.get_command(app)
    lighten(root)
    found: dict[str, Any] = {}

    def walk(command: Any, path: str) -> None:
        for param in command.params:
            found[f"{path}:{param.name}"] = param
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(root, "")
    return found


VALUES: list[tuple[str, Any]] = [
    (" log:limit", 20), (" log:limit", "5"), (" log:limit", "007"), (" log:limit", "-3"),
    (" log:limit", " 5"), (" log:limit", "5.0"), (" log:limit", "abc"), (" log:limit", ""),
    (" status:workspace", "."), (" status:workspace", "/no/such/dir"),
    (" status:workspace", Path("rel/ws")), (" status:workspace", ""),
    (" cycle:source", "arxiv"), (" cycle:action", "scan"), (" digest:since", "yesterday"),
    (" tracks add:priority", "2"), (" triage:papers", "papers.jsonl"),
]


def convert(runtime: Any, value: Any, param: Any) -> tuple[str, Any]:
    ctx = typer.main.get_command(app).make_context("research-agent", [], resilient_parsing=True)
    try:
        return "value", runtime.coerce(value, param=param, ctx=ctx)
    except Exception as exc:  # typer's BadParameter: its message is what a user reads
        return type(exc).__name__, exc.format_message()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("where", "value"), VALUES)
def test_plain_conversion_gives_what_typer_gives(where: str, value: Any) -> None:
    param = parameters()[where]
    ours = convert(param._runtime_param, value, param)
    typers = convert(_coercion.build_runtime_param(param.type_descriptor), value, param)
    assert ours == typers
    assert type(ours[1]) is type(typers[1])


def test_a_bad_value_still_gets_typers_message(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = run_cli(capsys, "log", "-w", str(workspace), "--limit", "many")
    assert bad.code == 2
    assert "Invalid value for '--limit'" in bad.err  # typer's (pydantic's) own wording
    good = run_cli(capsys, "log", "-w", str(workspace), "--limit", "1", "--json")
    assert good.code == 0, good.err
