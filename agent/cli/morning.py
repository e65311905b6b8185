"""Morning commands: log, show, digest, papers search/show, export (all read-only)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli import (
    HelpGroup,
    JsonOption,
    WorkspaceOption,
    app,
    console,
    errors,
    escape,
    print_json,
)
from agent.text import shorten
from agent.workspace import resolve_workspace

if TYPE_CHECKING:
    from rich.table import Column

papers_app = typer.Typer(help="The papers the agent has met: search them, see one in full.",
                         no_args_is_help=True, cls=HelpGroup)
app.add_typer(papers_app, name="papers")


@app.command("log")
def log_command(
    workspace: WorkspaceOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many cycles.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Recent cycles: number, time, action, status, why, papers, tokens, commit."""
    from agent.cli.render import on_clock, workspace_zone, zone_label
    from agent.review import cycle_log

    space = resolve_workspace(workspace)
    rows = cycle_log(space, limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No cycles yet. Run `research-agent cycle`.")
        return
    from rich.table import Table

    zone = workspace_zone(space)
    table = Table(*fixed("#", f"time ({zone_label(zone)})", "action", "status"), flexible("why"),
                  *fixed("papers", "tokens", "commit"), box=None, width=80)
    style = {"committed": "green", "rested": "cyan", "running": "yellow",
             "note_written": "yellow"}
    for row in rows:
        broke = row["status"] in ("failed", "aborted")
        why = (row["error"] or "no reason recorded") if broke else row["reason"]
        colour = style.get(row["status"], "red")
        number = "-" if row["number"] is None else str(row["number"])  # never started
        table.add_row(number, on_clock(row["started"], zone, "%m-%d %H:%M"),
                      escape(row["action"]), f"[{colour}]{escape(row['status'])}[/]",
                      escape(why), str(row["papers"]), tokens_text(row["tokens"]),
                      (row["sha"] or "-")[:7])
    console.print(table)
    for row in rows:  # the table cuts the reason to fit: a failure's is printed whole
        if row["status"] in ("failed", "aborted"):
            reason = escape(row["error"] or "no reason recorded")
            which = "not started" if row["number"] is None else f"cycle {row['number']} " + (
                row["status"])
            console.print(f"{which}: {reason}", soft_wrap=True)


def fixed(*headers: str) -> list[Column]:
    """Columns that keep their content whole (numbers, ids, times)."""
    from rich.table import Column

    return [Column(header, no_wrap=True) for header in headers]


def flexible(header: str) -> Column:
    """The column that takes the rest of the 80 columns, cut with an ellipsis."""
    from rich.table import Column

    return Column(header, ratio=1, no_wrap=True, overflow="ellipsis")


def tokens_text(tokens: int) -> str:
    return str(tokens) if tokens < 10_000 else f"{tokens / 1000:.0f}k"


@app.command()
def show(
    number: Annotated[int | None, typer.Argument(help="Cycle number (default: the latest).",
                                                 show_default=False)] = None,
    workspace: WorkspaceOption = None,
    raw: Annotated[bool, typer.Option("--raw", help="Print the Markdown file as it is.")] = False,
) -> None:
    """One cycle note, rendered in the terminal (or the latest)."""
    from agent.cli.render import on_clock, workspace_zone
    from agent.review import read_note

    space = resolve_workspace(workspace)
    note = read_note(space, number)
    if raw:
        typer.echo(note.text, nl=False)
        return
    meta = note.meta
    zone = workspace_zone(space)
    started = on_clock(str(meta.get("started", "")), zone, "%Y-%m-%d %H:%M %Z")
    facts = [f"cycle {note.number}", str(meta.get("action", "")), started,
             f"analyst {meta.get('analyst', '?')}", str(meta.get("summary", "")), note.path]
    console.print(f"[dim]{escape(' · '.join(f for f in facts if f))}[/]")
    from rich.markdown import Markdown  # markdown-it is slow to import: only for `show`

    console.print(Markdown(note.body))


@app.command()
def digest(
    since: Annotated[str, typer.Option("--since", help="today, yesterday, 3d, 12h or an ISO "
                                       "date (2026-02-27).")] = "yesterday",
    workspace: WorkspaceOption = None,
) -> None:
    """One Markdown page summarising every cycle since then (to stdout)."""
    from agent.review.digest import digest as make_digest

    typer.echo(make_digest(resolve_workspace(workspace), since), nl=False)


@papers_app.command("search")
def papers_search(
    words: Annotated[list[str], typer.Argument(help="Words to look for in the title or abstract; "
                                               "quote a phrase: '\"sparse autoencoder\"'.")],
    workspace: WorkspaceOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many papers.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Find stored papers, most relevant first (the title counts more than the abstract)."""
    from agent.review import search_papers

    rows = search_papers(resolve_workspace(workspace), " ".join(words), limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No stored paper matches these words.")
        return
    from rich.table import Column, Table

    table = Table(*fixed("id"), flexible("title"), *fixed("status"),
                  Column("tracks", max_width=20, overflow="ellipsis", no_wrap=True),
                  *fixed("score"), box=None, width=80)
    for row in rows:
        table.add_row(escape(row["id"]), escape(row["title"]), row["status"] or "-",
                      escape(", ".join(row["tracks"]) or "-"), f"{row['score']:.2f}")
    console.print(table)


@papers_app.command("show")
def papers_show(
    paper: Annotated[str, typer.Argument(help="arXiv id or URL.")],
    workspace: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Everything known about a paper: scores, summaries, ratings, queue, notes citing it."""
    from agent.review import paper_report

    space = resolve_workspace(workspace)
    report = paper_report(space, paper)
    if as_json:
        print_json(report)
    else:
        from agent.cli.render import workspace_zone

        print_paper(report, workspace_zone(space))


def print_paper(report: dict[str, Any], zone: str = "UTC") -> None:
    """A paper in full; every string from the paper, the store or a model is escaped."""
    authors = report["authors"]
    shown = ", ".join(authors[:6]) + (f" +{len(authors) - 6} more" if len(authors) > 6 else "")
    seen = report["first_seen_cycle"]
    console.print(f"[bold]{escape(report['title'])}[/]")
    console.print(escape(f"{report['id']}v{report['version']} · {shown}"))
    console.print(escape(f"{(report['published'] or '')[:10]} · {', '.join(report['categories'])}"
                         f" · status {report['status']}"
                         + (f" · first seen in cycle {seen}" if seen else "")))
    if report["url"]:
        console.print(escape(report["url"]))
    console.print(f"[dim]{escape(shorten(report['abstract'], 700))}[/]")
    if report["scores"]:
        from rich.table import Table

        table = Table("track", "p", "score", "relevant", "matched terms", box=None, width=80)
        for row in report["scores"]:
            table.add_row(escape(row["track_id"]), str(row["priority"] or "-"),
                          f"{row['score']:.2f}", "yes" if row["relevant"] else "no",
                          escape(", ".join(row["terms"])))
        console.print(table)
    for analysis in report["analyses"]:
        print_analysis(analysis)
    print_steering(report, zone)


def print_analysis(analysis: dict[str, Any]) -> None:
    """A summary, deep read or judgement: its main fields as short lines."""
    payload = analysis["payload"]
    fields = {"summary": ("headline", "models", "method", "key_findings", "gap"),
              "deep-read": ("problem", "method", "key_results", "limitations", "follow_ups"),
              "judgement": ("track_id", "score", "reason")}.get(analysis["kind"], ())
    how = ", from the abstract only" if payload.get("source") == "abstract" else ""
    console.print(f"\n[bold]{escape(analysis['kind'])}[/] (cycle {analysis['cycle']}{how})")
    for name in fields:
        value = payload.get(name)
        if isinstance(value, list) and value:
            console.print(f"  {name.replace('_', ' ')}:")
            for item in value[:8]:
                console.print(f"    - {escape(shorten(str(item), 300))}")
        elif value not in (None, "", []):
            console.print(f"  {name.replace('_', ' ')}: {escape(shorten(str(value), 400))}")


def print_steering(report: dict[str, Any], zone: str) -> None:
    """Ratings, the queue entry (dated on the researcher's clock), and the notes citing it."""
    from agent.cli.render import on_clock

    console.print()
    for rating in report["ratings"]:
        scope = f"for {rating['track_id']}" if rating["track_id"] else "for all tracks"
        console.print(f"rated {rating['verdict']} {escape(scope)}")
    queue = report["queue"]
    if queue:
        console.print(f"queued: priority {queue['priority']} by {queue['added_by']} "
                      f"({on_clock(queue['added'], zone, '%Y-%m-%d')}): "
                      f"{escape(queue['reason'])}")
    for note in report["notes"]:
        console.print(f"cited in cycle {note['cycle']}: {escape(note['path'])}")
    if not report["notes"]:
        console.print("[dim]no cycle note cites it yet[/]")


@app.command()
def export(
    bibtex: Annotated[bool, typer.Option("--bibtex", help="BibTeX (the default; Zotero "
                                         "imports it).")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON object per line.")] = False,
    everything: Annotated[bool, typer.Option("--all", help="Every stored paper, not only those "
                                             "summarised, queued or read.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Export papers to stdout: research-agent export --bibtex > radar.bib"""
    from rich.progress import Progress

    from agent.review import bibtex_entries, export_records, jsonl_lines

    if bibtex and jsonl:
        raise typer.BadParameter("choose one of --bibtex and --jsonl")
    records = export_records(resolve_workspace(workspace), everything=everything)
    lines = jsonl_lines(records) if jsonl else bibtex_entries(records)
    with Progress(console=errors, transient=True, disable=not errors.is_terminal) as progress:
        task = progress.add_task("exporting", total=len(records))
        for text in lines:
            sys.stdout.write(text)
            progress.advance(task)
    sys.stdout.flush()
    if not records:
        errors.print("Nothing to export yet: no paper is summarised, queued or read "
                     "(--all exports every stored paper).")
    elif errors.is_terminal:
        errors.print(f"exported {len(records)} papers")
