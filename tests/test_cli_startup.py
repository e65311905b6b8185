"""The quick start (agent/cli/startup.py) changes no output: option values converted without
pydantic are the values typer's own converter gives (every other value still gets typer's
conversion and message), a command built alone prints what it prints in the whole tree, and the
plain help says everything typer's rich help said: every command with its whole help line,
every option with its help, default and variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# typer 0.29's private conversion, bridged by agent/cli/startup.py (pyproject pins typer < 0.30):
# a typer that moves it fails this file loudly instead of bringing pydantic back unnoticed
import typer._coercion as _coercion
import typer.main

from agent.cli import app, startup
from agent.cli.startup import lighten
from tests.cli import run_cli


def whole_tree() -> Any:
    """The click command typer itself builds from the app: every command, typer's converters."""
    from agent.cli import commands, discover, morning, queue, tracks  # noqa: F401  (registers)

    return typer.main.get_command(app)


def parameters() -> dict[str, Any]:
    """Every parameter of the real command tree, by `command path:name`, lightened."""
    root = whole_tree()
    lighten(root)
    found: dict[str, Any] = {}

    def walk(command: Any, path: str) -> None:
        for param in command.params:
            found[f"{path}:{param.name}"] = param
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(root, "")
    return found


# (parameter, value, converted here rather than by typer's pydantic converter)
VALUES: list[tuple[str, Any, bool]] = [
    (" log:limit", 20, True), (" log:limit", "5", True), (" log:limit", "007", True),
    (" log:limit", "-3", False), (" log:limit", " 5", False), (" log:limit", "5.0", False),
    (" log:limit", "abc", False), (" log:limit", "", False),
    (" status:workspace", ".", True), (" status:workspace", "/no/such/dir", True),
    (" status:workspace", Path("rel/ws"), True), (" status:workspace", "", False),
    (" cycle:source", "arxiv", True), (" cycle:action", "scan", True),
    (" digest:since", "yesterday", True), (" tracks add:priority", "2", True),
    (" triage:papers", "papers.jsonl", True),
    (" papers search:words", ("speech", "tokenizer"), True), (" papers search:words", ("x",), True),
    (" papers search:words", (), False), (" papers search:words", ("a", 5), False),
]


def test_typer_still_reads_the_converter_the_quick_start_gives_it() -> None:
    """The bridge's two private hooks: typer._coercion's RuntimeParam, and a parameter's
    `_runtime_param`, which typer's own `get_runtime_param` must still return."""
    assert startup.RuntimeParam is _coercion.RuntimeParam, "agent/cli/startup.py lost typer's hook"
    param = parameters()[" log:limit"]
    assert type(param.get_runtime_param()).__name__ == "PlainFirst"


def convert(runtime: Any, value: Any, param: Any) -> tuple[str, Any]:
    ctx = typer.main.get_command(app).make_context("research-agent", [], resilient_parsing=True)
    try:
        return "value", runtime.coerce(value, param=param, ctx=ctx)
    except Exception as exc:  # typer's BadParameter: its message is what a user reads
        return type(exc).__name__, exc.format_message()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("where", "value", "here"), VALUES)
def test_plain_conversion_gives_what_typer_gives(where: str, value: Any, here: bool) -> None:
    param = parameters()[where]
    ctx = typer.main.get_command(app).make_context("research-agent", [], resilient_parsing=True)
    assert startup.plain(value, param.type_descriptor, param, ctx)[0] is here
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


BOX = str.maketrans("", "", "│╭╮╰╯─")


def words(text: str) -> str:
    """Text as a reader takes it in: no box drawing, no wrapping, no alignment."""
    return " ".join(text.translate(BOX).split())


def rich_help(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """What typer's default (rich) help printed for `args`, the whole tree built."""
    rich_app = typer.Typer()
    rich_app.__dict__.update(app.__dict__, rich_markup_mode="rich")
    capsys.readouterr()
    with pytest.raises(SystemExit):
        typer.main.get_command(rich_app)(args=args)
    return capsys.readouterr().out


def what_help_says(command: Any) -> list[str]:
    """Each command's name and help line, each option's names, help, default and variable."""
    said = []
    for name, sub in getattr(command, "commands", {}).items():
        said.append(words(f"{name} {sub.short_help or sub.help.split(chr(10) * 2)[0]}"))
    for param in command.params:
        said += [*param.opts, *param.secondary_opts]
        if getattr(param, "help", None):
            said.append(words(param.help))
        if param.default not in (None, False, ""):
            said.append(f"[default: {param.default}]")
        if getattr(param, "envvar", None):
            said.append(f"[env var: {param.envvar}]")
    return said


@pytest.mark.parametrize("args", [[], ["log"], ["tracks"], ["tracks", "add"]])
def test_plain_help_says_what_rich_help_said(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    plain = run_cli(capsys, *args, "--help")
    assert plain.code == 0, plain.err
    rich = rich_help([*args, "--help"], capsys)
    command = whole_tree()
    for name in args:
        command = command.commands[name]
    said = what_help_says(command)
    assert len(said) > 5
    for piece in said:
        assert piece in words(rich), piece  # what typer's rich help said ...
        assert piece in words(plain.out), piece  # ... the plain help says too
    assert "..." not in plain.out.replace("[ARGS]...", "")  # no help line cut short
    usage = words(plain.out.split("Usage: ")[1].splitlines()[0])
    assert f"Usage: {usage}" in words(rich)


@pytest.mark.parametrize("args", [
    ["status"], ["status", "--help"], ["-v", "log", "-n", "1"], ["log", "--limit"], ["tracks"],
    ["tracks", "--json"], ["tracks", "--help"], ["tracks", "add", "--help"], ["tracks", "pause"],
    ["tracks", "-w", "pause", "resume", "x"], ["papers"], ["queue"], ["sttus"], ["--help"],
])
def test_a_command_built_alone_prints_what_the_whole_tree_printed(
    args: list[str], workspace: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(workspace)
    run_cli(capsys, "status")  # the store made (its migrations are logged once)
    alone = run_cli(capsys, *args)
    monkeypatch.setattr(startup, "only_invoked", lambda app, argv: app)
    whole = run_cli(capsys, *args)
    assert alone == whole


def test_only_the_invoked_command_is_built() -> None:
    whole_tree()  # registers every command
    assert list(startup.build(app, ["-v", "status", "--json"]).commands) == ["status"]
    assert startup.build(app, ["tracks"]).commands["tracks"].commands == {}  # it lists
    added = startup.build(app, ["tracks", "add", "--id", "x"]).commands["tracks"]
    assert list(added.commands) == ["add"]
    assert len(startup.build(app, ["tracks", "-w", "ws", "add"]).commands["tracks"].commands) == 4
    assert len(startup.build(app, ["sttus"]).commands) == len(whole_tree().commands)
