"""`papers discover TRACK`: older work for a track, by keyword search (the scan reads listings)."""

from __future__ import annotations

from typing import Annotated

import typer

from agent.cli import JsonOption, WorkspaceOption, console, escape, print_json
from agent.cli.morning import papers_app


@papers_app.command("discover")
def papers_discover(
    track_id: Annotated[str, typer.Argument(help="Track id (see `research-agent tracks`).")],
    workspace: WorkspaceOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many papers to ask for "
                                       "(1..2000).")] = 50,
    source: Annotated[str, typer.Option("--source", help="Search at: arxiv or sample.")] = "arxiv",
    as_json: JsonOption = False,
) -> None:
    """Search older papers matching a track's keywords; store the new ones for `learn`."""
    from agent.discovery import discover_papers
    from agent.workspace import resolve_workspace

    with console.status("searching", spinner="dots") as status:
        found = discover_papers(resolve_workspace(workspace), track_id, limit, source,
                                progress=status.update)
    if as_json:
        print_json([{"id": d.paper.id, "title": d.paper.title, "score": round(d.score, 4),
                     "relevant": d.relevant, "new": d.new,
                     "published": d.paper.published} for d in found])
        return
    if not found:
        console.print(f"No paper matches the keywords of track {escape(track_id)}.")
        return
    from rich.table import Column, Table

    table = Table(Column("id", no_wrap=True), Column("title", ratio=1, overflow="ellipsis"),
                  Column("year", no_wrap=True), Column("score", no_wrap=True),
                  Column("", no_wrap=True), box=None, width=80)
    for d in found:
        year = str(d.paper.published.year) if d.paper.published else "-"
        table.add_row(escape(d.paper.id), escape(d.paper.title), year, f"{d.score:.2f}",
                      "new" if d.new else "known")
    console.print(table)
    new = sum(d.new for d in found)
    relevant = sum(d.relevant and d.new for d in found)
    console.print(f"{new} new papers stored ({relevant} relevant to the track); "
                  "the next learn cycle can pick them.")
