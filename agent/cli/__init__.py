"""The `research-agent` command: thin typer commands over the library.

Errors a user can cause (AgentError) are printed without a traceback and exit non-zero.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from agent.errors import AgentError

if TYPE_CHECKING:
    from rich.console import Console


class HelpGroup(TyperGroup):
    """A command group whose help lists each command with its whole help line, as typer's rich
    help did, where click's plain help cuts it at the first sentence or about 45 characters."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                text = command.short_help or (command.help or "").split("\n\n")[0]
                rows.append((name, " ".join(text.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


# rich_markup_mode=None: typer's plain help (click's layout). The rich one imports typer's
# rich_utils, and with it rich.markdown and markdown_it, for every --help and usage error: about
# 0.15 s of CPU, half of `--help`. The plain help lists the same commands, options, help texts,
# defaults and variables (tests/test_cli_startup.py compares them).
app = typer.Typer(
    name="research-agent",
    help="An autonomous research radar: scans arXiv, judges papers against your research "
    "tracks, writes and commits a cycle note every cycle.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=HelpGroup,
)


class LazyConsole:
    """A rich Console made on first use: rich costs tens of milliseconds at start-up, which
    `--help`, `--json` and `triage` never need. Every attribute is the real console's."""

    def __init__(self, **options: Any) -> None:
        object.__setattr__(self, "_options", options)
        object.__setattr__(self, "_console", None)

    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            object.__setattr__(self, "_console", Console(**self._options))
        return self._console  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.real(), name, value)

    @property
    def width(self) -> int:  # a property here too, so tests can pin it and put it back
        return self.real().width

    @width.setter
    def width(self, value: int) -> None:
        self.real().width = value


# emoji=False: a paper title saying ":warning:" is printed as written, not as an emoji (escape()
# only escapes rich's [markup]; untrusted text must reach the terminal as text)
console: Console = LazyConsole(emoji=False)  # type: ignore[assignment]
errors: Console = LazyConsole(stderr=True, soft_wrap=True, emoji=False)  # type: ignore[assignment]
# (messages carry paths: never wrap them)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="RESEARCH_AGENT_WORKSPACE",
        help="Workspace directory (default: the current directory, or the nearest parent "
        "that is a workspace).",
        show_default=False,
    ),
]
JSON_HELP = "Print JSON for scripts."
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]  # every command's --json


def group_workspace(ctx: typer.Context, workspace: Path | None) -> Path:
    """The subcommand's --workspace, else its group's: `tracks -w X add` works as
    `tracks add -w X` (a -w before the subcommand was silently ignored)."""
    from agent.workspace import resolve_workspace

    if workspace is None and ctx.parent is not None:
        workspace = ctx.parent.params.get("workspace")
    return resolve_workspace(workspace)


def listing_group(name: str, help_text: str, listing: Callable[[Path, bool], None]) -> typer.Typer:
    """A command group (`tracks`, `queue`) that lists when given no subcommand: `listing` gets
    the workspace and --json. Its subcommands find a -w given before them with
    `group_workspace`."""
    group = typer.Typer(help=help_text, invoke_without_command=True, cls=HelpGroup)

    @group.callback()
    def list_unless_subcommand(
        ctx: typer.Context, workspace: WorkspaceOption = None, as_json: JsonOption = False
    ) -> None:
        if ctx.invoked_subcommand is None:
            from agent.workspace import resolve_workspace

            listing(resolve_workspace(workspace), as_json)

    app.add_typer(group, name=name)
    return group


def print_json(data: Any) -> None:
    """What every --json prints: JSON on stdout, unstyled and unwrapped, whatever the terminal."""
    from agent.text import escape_invisible

    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    # json.dumps escapes C0 controls only; C1, bidi and invisible characters from titles would
    # still reach the terminal, so they are written as \uXXXX (the same JSON value).
    typer.echo(escape_invisible(text))


def show_version(value: bool) -> None:
    if value:
        from agent import __version__

        console.print(f"research-agent {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=show_version, is_eager=True, help="Show the version."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug detail.")] = False,
) -> None:
    """research-agent: leave it running overnight; review its commits in the morning."""
    from agent.logs import setup_logging

    setup_logging(None, verbose=verbose)


# The module that registers each quick command: typer builds only the command invoked
# (agent/cli/startup.py), so the others need not be imported. Any other command, or none (the
# root's --help lists them all), imports every module that registers commands.
QUICK_HOMES = {"status": "commands", "log": "morning", "tracks": "tracks"}
COMMAND_MODULES = ("commands", "discover", "morning", "queue", "tracks")


def register(args: list[str]) -> None:
    """Import the modules whose commands `args` may run (importing one registers its commands)."""
    from importlib import import_module

    from agent.cli.startup import invoked_name

    name = invoked_name(args)
    for module in [QUICK_HOMES[name]] if name in QUICK_HOMES else COMMAND_MODULES:
        import_module(f"agent.cli.{module}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and `python -m agent`."""
    from agent.cli.startup import build

    args = sys.argv[1:] if argv is None else argv
    register(args)
    try:
        build(app, args)(args=args)  # app(args=args), started faster; typer handles usage
        # errors, --help and exits itself
    except AgentError as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(exc.exit_code)


def escape(text: str) -> str:
    """Untrusted text made safe to print: no terminal escapes, controls, bidi, or markup."""
    from rich.markup import escape as rich_escape

    # The one definition of terminal-safe text (cycle notes use it too): ANSI/OSC sequences,
    # C0/C1 controls except newline and tab, and bidi overrides/isolates are removed.
    from agent.text import strip_controls

    return rich_escape(strip_controls(text))
