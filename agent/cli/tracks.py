"""Track commands: list, re-prioritise, pause, resume, add (each edit is its own commit)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from agent.cli import WorkspaceOption, console, escape, group_workspace, listing_group, print_json


def tracks_list(workspace: Path, as_json: bool) -> None:
    """List tracks: id, name, priority, active, papers found, velocity, last hit.

    Velocity: relevant papers in the last 2, 6 and 12 weeks by arXiv date, ↑/↓ against the
    same span before (no arrow when the store holds nothing that old)."""
    from agent.review import track_rows

    rows = track_rows(workspace)
    if as_json:
        print_json(rows)
        return
    from rich.table import Column, Table

    table = Table(Column("id", no_wrap=True), "name", "p", "active", "papers",
                  Column("2/6/12 wk", no_wrap=True), Column("last hit", no_wrap=True),
                  box=None, width=80)  # ids stay whole: they are typed into the next command
    for row in rows:
        table.add_row(row["id"], escape(row["name"]), str(row["priority"]),
                      "yes" if row["active"] else "paused", str(row["papers"]),
                      row["velocity"]["short"] if row["velocity"] else "-",
                      row["last_hit"] or "-")
    console.print(table)


tracks_app = listing_group("tracks", "Your research tracks (state/tracks.toml).", tracks_list)


@tracks_app.command("set-priority")
def set_priority(
    ctx: typer.Context,
    track_id: Annotated[str, typer.Argument(help="Track id.")],
    priority: Annotated[int, typer.Argument(help="1 (background) .. 5 (top).")],
    workspace: WorkspaceOption = None,
) -> None:
    """Change a track's priority (committed on its own; the next cycle obeys it)."""
    from agent.steer import change_track

    track, sha = change_track(group_workspace(ctx, workspace), track_id, priority=priority)
    console.print(f"{track.id}: priority {track.priority} ({committed(sha)})")


@tracks_app.command("pause")
def pause(ctx: typer.Context, track_id: Annotated[str, typer.Argument(help="Track id.")],
          workspace: WorkspaceOption = None) -> None:
    """Pause a track: the agent ignores it until resumed."""
    from agent.steer import change_track

    track, sha = change_track(group_workspace(ctx, workspace), track_id, active=False)
    console.print(f"{track.id}: paused ({committed(sha)})")


@tracks_app.command("resume")
def resume(ctx: typer.Context, track_id: Annotated[str, typer.Argument(help="Track id.")],
           workspace: WorkspaceOption = None) -> None:
    """Resume a paused track."""
    from agent.steer import change_track

    track, sha = change_track(group_workspace(ctx, workspace), track_id, active=True)
    console.print(f"{track.id}: active ({committed(sha)})")


def committed(sha: str | None) -> str:
    """How an edit ended: its commit, or nothing to change."""
    return f"commit {sha[:8]}" if sha else "already so; nothing changed"


REQUIRED = {  # flag -> what the guided prompt asks
    "--id": "id (slug, e.g. listen-vs-guess)",
    "--name": "name",
    "--description": "description (the research question)",
    "--keywords": "keywords (comma-separated phrases)",
}


@tracks_app.command("add")
def add(
    ctx: typer.Context,
    track_id: Annotated[str | None, typer.Option("--id", help="Slug, e.g. listen-vs-guess.",
                                                 show_default=False)] = None,
    name: Annotated[str | None, typer.Option(help="Display name.", show_default=False)] = None,
    description: Annotated[str | None, typer.Option(help="The research question.",
                                                    show_default=False)] = None,
    keywords: Annotated[str | None, typer.Option(help="Comma-separated phrases.",
                                                 show_default=False)] = None,
    categories: Annotated[str | None, typer.Option(
        help="arXiv categories, comma-separated (default: none).", show_default=False)] = None,
    priority: Annotated[int | None, typer.Option(
        help="1 (background) .. 5 (top) (default: 3).", show_default=False)] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Add a track. From a script the four flags --id --name --description --keywords suffice;
    on a terminal it asks for each field not given."""
    from agent.models import Track
    from agent.steer import create_track

    given = {"--id": track_id, "--name": name, "--description": description,
             "--keywords": keywords}
    missing = [flag for flag, value in given.items() if not (value or "").strip()]
    guided = bool(missing) and sys.stdin.isatty()
    if missing and not guided:
        raise typer.BadParameter(
            f"missing {', '.join(missing)} (no terminal to ask on); give every one of "
            "--id --name --description --keywords.", param_hint="tracks add")
    for flag in missing:
        given[flag] = typer.prompt(REQUIRED[flag])
    if guided and categories is None:
        categories = typer.prompt("arXiv categories (comma-separated; the scan reads their whole "
                                  "listing; empty: keyword query only)",
                                  default="", show_default=False)
    if guided and priority is None:
        priority = typer.prompt("priority 1..5", default=3, type=int)

    def split(text: str | None) -> tuple[str, ...]:
        return tuple(part.strip() for part in (text or "").split(",") if part.strip())

    track = Track(id=str(given["--id"]).strip(), name=str(given["--name"]).strip(),
                  description=str(given["--description"]).strip(),
                  keywords=split(given["--keywords"]), categories=split(categories),
                  priority=3 if priority is None else priority)
    created, sha = create_track(group_workspace(ctx, workspace), track)
    console.print(f"added track {created.id} (commit {sha[:8]})")
    if not created.categories:
        from agent.sources.categories import coverage_lines

        console.print(escape(coverage_lines([created])[-1]))
