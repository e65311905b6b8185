"""Steering commands: the must-read queue and ratings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli import (
    WorkspaceOption,
    app,
    console,
    escape,
    group_workspace,
    listing_group,
    print_json,
)
from agent.workspace import resolve_workspace

SourceOption = Annotated[
    str, typer.Option("--source", help="Look unknown ids up at: arxiv or sample.")
]


def queue_list(workspace: Path, as_json: bool) -> None:
    """List the queue: id, title, priority, why, who added it, when."""
    from agent.steer import queue_list as list_items

    items = list_items(workspace)
    if as_json:
        print_json([{**item.__dict__, "added": str(item.added)} for item in items])
        return
    if not items:
        console.print("The must-read queue is empty. Add with `research-agent queue add ID`.")
        return
    from rich.table import Table

    from agent.cli.render import on_clock, workspace_zone, zone_label
    from agent.text import clean_text  # untrusted titles and reasons: one clean line, cut with …

    zone = workspace_zone(workspace)
    table = Table("id", "p", "title", "why", "by", f"added ({zone_label(zone)})", width=80)
    for item in items:
        table.add_row(
            item.paper_id,
            str(item.priority),
            escape(clean_text(item.title, 60)),
            escape(clean_text(item.reason, 80)),
            item.added_by,
            on_clock(item.added, zone, "%m-%d %H:%M"),
        )
    console.print(table)


queue_app = listing_group(
    "queue", "The must-read queue: papers waiting for a deep read.", queue_list
)


@queue_app.command("add")
def queue_add(
    ctx: typer.Context,
    paper: Annotated[
        str,
        typer.Argument(help="arXiv id or URL (2602.15307, …/abs/2602.15307v2, hep-th/9901001)."),
    ],
    priority: Annotated[int, typer.Option(help="1 (whenever) .. 5 (next).")] = 3,
    note: Annotated[str, typer.Option(help="Why: what to look for.")] = "",
    workspace: WorkspaceOption = None,
    source: SourceOption = "arxiv",
) -> None:
    """Queue a paper for a deep read (your entries outrank the agent's at equal priority)."""
    from agent.steer import queue_add as add

    item = add(group_workspace(ctx, workspace), paper, priority=priority, note=note, source=source)
    console.print(f"queued {item.paper_id} (priority {item.priority}): {escape(item.title)}")


@queue_app.command("drop")
def queue_drop(
    ctx: typer.Context,
    paper: Annotated[str, typer.Argument(help="arXiv id or URL.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Remove a paper from the queue."""
    from agent.steer import queue_drop as drop

    if drop(group_workspace(ctx, workspace), paper):
        console.print(f"dropped {escape(paper)}")
    else:
        console.print(f"{escape(paper)} was not in the queue")
        raise typer.Exit(1)


@app.command()
def rate(
    paper: Annotated[str, typer.Argument(help="arXiv id or URL.")],
    verdict: Annotated[str, typer.Argument(help="up, down, or clear (take your verdict back).")],
    track: Annotated[str | None, typer.Option("--track", help="Only for this track id.")] = None,
    workspace: WorkspaceOption = None,
    source: SourceOption = "arxiv",
) -> None:
    """Rate a paper up or down (the ranker learns; a paper rated down is not proposed again).

    Your latest verdict counts, and one for a track beats one for all tracks. `clear` takes
    your verdict back: for that track with --track, else every verdict on the paper.
    """
    from agent.steer import rate as rate_paper

    rating = rate_paper(resolve_workspace(workspace), paper, verdict, track_id=track, source=source)
    scope = f"for track {track}" if track else "for all tracks"
    if rating is None:
        console.print(f"you had not rated {escape(paper)} {scope}; nothing changed")
    elif rating.value == 0:
        console.print(f"cleared your rating of {rating.paper_id} {scope}")
    else:
        console.print(f"rated {rating.paper_id} {verdict} {scope}")
