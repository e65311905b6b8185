"""What the entry point does so that a quick command (`status`, `log`, `tracks`, `--help`)
starts quickly: build only the command asked for, and convert plain option values without
pydantic. Neither changes what a command prints.

typer builds the whole command tree on every run: each command's signature read, its
annotations evaluated, its options made, about 30 ms for our thirty commands, of which a run
uses one. `build` gives typer the root with only the command named on the command line; a
name it does not know (a typo, `--help` of the root) gets the whole tree, so typer's listing
and suggestions are unchanged. `tracks` alone, which lists, is built without its subcommands.

typer (0.29) converts every option value that is not a boolean flag's bool through a pydantic
TypeAdapter built on first use, even a default such as `--limit`'s 20 or a `--workspace` left
unset. Importing pydantic and building the adapters costs about 0.2 s of CPU, more than the
rest of `status`. Here each parameter of the built command gets a converter that returns the
very value typer's own would for the plain cases (a str for a str, a list of the words for a
list[str], an int or a string of digits for an int without bounds, a path for a Path without
path type) and hands every other value to typer's converter, built on first use as typer builds
it. Older typers, which convert without pydantic, have no such converter and are left alone.

This is the one module of agent/ that touches typer's private API (`typer._coercion`,
`typer._param_types`, a parameter's `_runtime_param`; pyproject pins typer below 0.30):
tests/test_cli_startup.py fails loudly on a typer that moves them, and tests/test_architecture.py
keeps every other module off vendors' private internals.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

try:
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_path
except ImportError:  # a typer without runtime coercion: nothing to lighten
    RuntimeParam = None  # type: ignore[assignment,misc]

DIGITS = re.compile(r"[0-9]{1,18}")  # what int() and pydantic read alike


def plain(value: Any, descriptor: Any, param: Any, ctx: Any) -> tuple[bool, Any]:
    """(True, value converted) where typer's converter would give the same; else (False, _)."""
    annotation, info = descriptor.annotation, descriptor.parameter_info
    if info.parser is not None or descriptor.is_file or descriptor.is_choice:
        return False, None
    if annotation is str and isinstance(value, str):
        return True, value
    if annotation == list[str] and isinstance(value, tuple) and value and all(
            type(v) is str for v in value):  # `papers search WORDS`: a list, as typer's gives
        return True, list(value)
    if annotation is int and info.min is None and info.max is None:
        if type(value) is int:
            return True, value
        if isinstance(value, str) and DIGITS.fullmatch(value):
            return True, int(value)
    if annotation is Path and info.path_type is None and isinstance(value, (str, Path)) and value:
        # typer's own path checks (exists, readable, ...) on the Path pydantic would have made
        return True, coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    return False, None


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class PlainFirst(RuntimeParam):
        """typer's converter for one parameter, with the plain cases done here."""

        descriptor: Any

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            done, converted = plain(value, self.descriptor, param, ctx)
            if done:
                return converted
            typer_own = build_runtime_param(self.descriptor)
            return typer_own._coerce_value(value, param=param, ctx=ctx)


def named(app: typer.Typer, name: str | None) -> typer.Typer | None:
    """A copy of `app` holding only its command or group `name`; None when it has no such."""
    from typer.main import get_command_name

    commands = [c for c in app.registered_commands
                if (c.name or get_command_name(c.callback.__name__)) == name]  # type: ignore[union-attr]
    groups = [g for g in app.registered_groups if g.name == name]
    if not (commands or groups):
        return None
    alone = copy.copy(app)  # shallow: the registered app is untouched
    alone.registered_commands, alone.registered_groups = commands, groups
    return alone


def invoked_name(argv: list[str]) -> str | None:
    """The command the arguments name: the first that is not an option (the root's options are
    flags), unless a `--` comes before it; None when there is none."""
    name = next((arg for arg in argv if not arg.startswith("-")), None)
    if name is None or "--" in argv[: argv.index(name)]:
        return None
    return name


def only_invoked(app: typer.Typer, argv: list[str]) -> typer.Typer:
    """`app` with only the command the arguments name, and in a group (`tracks add`) only the
    subcommand named right after it, or none when the group is named alone and lists. Anything
    else (an option before a subcommand, an unknown name, --help of a group) keeps them all."""
    name = invoked_name(argv)
    if name is None:
        return app
    alone = named(app, name)
    if alone is None or not alone.registered_groups:
        return alone or app
    group = copy.copy(alone.registered_groups[0])
    rest = argv[argv.index(name) + 1 :]
    lists = group.typer_instance.info.invoke_without_command is True  # type: ignore[union-attr]
    if not rest and lists and group.typer_instance.info.no_args_is_help is not True:  # type: ignore[union-attr]
        group.typer_instance = copy.copy(group.typer_instance)
        group.typer_instance.registered_commands, group.typer_instance.registered_groups = [], []  # type: ignore[union-attr]
    elif rest:
        group.typer_instance = named(group.typer_instance, rest[0]) or group.typer_instance  # type: ignore[arg-type]
    alone.registered_groups = [group]
    return alone


def build(app: typer.Typer, argv: list[str]) -> Any:
    """The click command typer would run for `app`, with only the invoked command in it
    (`only_invoked`), lightened."""
    from typer.main import get_command

    command = get_command(only_invoked(app, argv))
    lighten(command)
    return command


def lighten(command: Any) -> None:
    """Give every parameter of `command` and its subcommands the plain-first converter."""
    if RuntimeParam is None:
        return
    # --help is an option too, made on first use from the context's help option names: made
    # here with the default names (the app sets none), so it is lightened like the others
    help_option = command.get_help_option(command.context_class(command))
    for param in [*command.params, *([help_option] if help_option else [])]:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is not None and getattr(param, "_runtime_param", 0) is None:
            param._runtime_param = PlainFirst(
                parameter_info=descriptor.parameter_info,
                annotation=descriptor.annotation,
                descriptor=descriptor,
            )
    for sub in getattr(command, "commands", {}).values():
        lighten(sub)
