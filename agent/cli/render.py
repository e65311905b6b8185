"""Rich output for the terminal: tables that fit 80 columns; untrusted text is escaped."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.cli import console, errors, escape
from agent.workspace import Workspace


def on_clock(when: str | datetime | None, zone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time (UTC if naive) on the researcher's clock, `[schedule] timezone`, as the
    digest and the policy's reasons give it; "" when unknown."""
    if not when:
        return ""
    try:
        moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    except ValueError:  # a hand-edited note's front matter: show it as written
        return str(when)[:16]
    from agent.schedule import as_utc  # the one home of "naive means UTC"

    return as_utc(moment).astimezone(ZoneInfo(zone)).strftime(fmt)


def zone_label(zone: str) -> str:
    """The zone's abbreviation now ("EST", "CET", "UTC"), for a column header."""
    return datetime.now(ZoneInfo(zone)).tzname() or zone


def workspace_zone(workspace: Path) -> str:
    """The researcher's timezone, from the workspace's settings."""
    return Workspace(workspace).settings.schedule.timezone


def print_outcome(outcome: Any) -> None:
    """One cycle's outcome: number, action, reason, note and commit."""
    style = {"committed": "green", "rested": "cyan", "aborted": "yellow"}.get(outcome.status, "red")
    console.print(
        f"[bold]cycle {outcome.number}[/] [{style}]{outcome.status}[/]: "
        f"{escape(outcome.action)} — {escape(outcome.reason)}"
    )
    for notice in outcome.notices:
        console.print(f"  [dim]{escape(notice)}[/]")
    if outcome.note_path:
        console.print(f"  note: {escape(outcome.note_path)}  commit: {(outcome.sha or '')[:8]}")
    if outcome.error:
        errors.print(f"  [red]{escape(outcome.error)}[/]")


def print_status(report: dict[str, Any]) -> None:
    """The status report as a few lines and a table of the last cycles."""
    if report["running"]:
        console.print(
            f"[green]running[/] (pid {report['pid']}); next wake: "
            f"{escape(str(report['next_wake'] or 'unknown'))}; "
            f"schedule: {escape(str(report['schedule'] or '-'))}"
        )
    else:
        console.print("[yellow]not running[/] (start it with `research-agent run`)")
    tokens = report["tokens_today"]
    console.print(
        f"papers: {report['papers']}  queue: {len(report['queue'])}  analyst: "
        f"{report['analyst']}  tokens today: {tokens['in'] + tokens['out']:,} of "
        f"{tokens['budget']:,}"
    )
    console.print(candidates_line(report))
    from rich.table import Table

    zone = report["timezone"]
    table = Table("#", f"started ({zone_label(zone)})", "action", "status", "reason", box=None,
                  width=80)
    for row in report["cycles"]:
        table.add_row(
            str(row["number"]),
            on_clock(row["started"], zone),
            escape(row["action"] or ""),
            escape(row["status"] or ""),
            escape(row["reason"] or ""),
        )
    console.print(table)
    for item in report["queue"][:5]:
        console.print(
            f"  queued: {escape(item['id'])} p{item['priority']} "
            f"({item['added_by']}) {escape(item['title'] or '')}"
        )
    if len(report["queue"]) > 5:
        console.print(f"  … and {len(report['queue']) - 5} more: research-agent queue")


def candidates_line(report: dict[str, Any]) -> str:
    """What the next learn cycle chooses from, split as it chooses (agent/waiting.py)."""
    count, judged = report["candidates"], report["candidates_judged"]
    if report["analyst"] != "llm":
        return f"candidates: {count} (unread, relevant to an active track)"
    return f"candidates: {count} ({judged} kept by the LLM judge, {count - judged} not judged yet)"


def print_demo_end(workspace: Path) -> None:
    """Where the demo's notes are, and its git log."""
    cycles = Workspace(workspace).cycles_dir
    notes = sorted(p.relative_to(workspace) for p in cycles.rglob("*-*.md"))
    console.print(f"\nNotes in {escape(str(cycles))}:")
    for note in notes:
        console.print(f"  {escape(str(note))}")
    from agent import journal  # GitPython: for the demo only

    console.print("\n[bold]git log --oneline[/]")
    console.print(escape(journal.oneline_log(workspace)))
