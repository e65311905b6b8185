"""The morning digest: one Markdown page summarising every cycle since a given time."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.changes import cycle_summary
from agent.models import Match, Paper, Track
from agent.notes import arxiv_link, format_time
from agent.review.cycles import parse_since
from agent.store import CycleRecord
from agent.store.quick import Reader
from agent.text import escape_md, plural
from agent.tracks import load_tracks
from agent.workspace import Workspace

logger = logging.getLogger(__name__)


def cycles_since(store: Reader, start: datetime, end: datetime) -> list[CycleRecord]:
    """The cycles started in [start, end], oldest first."""
    limit = 100
    while True:
        records = store.recent_cycles(limit=limit)
        if len(records) < limit or records[-1].started < start:
            break
        limit *= 10
    return [r for r in reversed(records) if start <= r.started <= end]


@dataclass
class DigestCycle:
    """What the digest says about one cycle."""

    record: CycleRecord
    new_papers: int = 0
    relevant: dict[str, int] = field(default_factory=dict)  # track id -> relevant new papers
    read: list[tuple[str, str]] = field(default_factory=list)  # (paper id, analysis kind)
    queued: list[tuple[str, int]] = field(default_factory=list)  # (paper id, priority)
    abstract_only: set[str] = field(default_factory=set)  # deep-read from the abstract alone
    takeaways: dict[str, str] = field(default_factory=dict)


def digest_cycle(record: CycleRecord, new_papers: int = 0,
                 relevant: Mapping[str, int] | None = None) -> DigestCycle:
    """A cycle's changes, as summarised in its record, reduced to what a person reviews.

    `new_papers` are the papers this cycle stored first (not a newer version of a known paper,
    not one a deep read fetched again); `relevant` counts those the store now holds relevant to
    each track, as `research-agent tracks` counts them (`Store.new_per_cycle` gives both).
    """
    item = DigestCycle(record)
    summary = cycle_summary(record.result_json) if record.status == "committed" else None
    if summary is None:
        return item
    item.new_papers = new_papers
    item.relevant = dict(relevant or {})
    for paper_id, kind, takeaway in summary.read:
        item.read.append((paper_id, kind))
        item.takeaways[paper_id] = takeaway
    item.queued = list(summary.queued)
    item.abstract_only = set(summary.abstract_only)
    return item


def digest(workspace: Path, since: str, now: datetime | None = None) -> str:
    """One Markdown page summarising every cycle since `since` (see `parse_since`)."""
    space = Workspace(workspace)
    settings = space.settings
    now = now or datetime.now(UTC)
    zone = settings.schedule.timezone
    start = parse_since(since, now, zone)
    tracks = load_tracks(space.tracks_file)
    with space.open_reader() as store:  # sqlite3 on a SQLite file: no SQLAlchemy to import
        records = cycles_since(store, start, now)
        new = store.new_per_cycle([r.number for r in records])  # counts, not papers
        items = [digest_cycle(r, *new[r.number]) for r in records]
        ids = [pid for item in items for pid, _ in [*item.read, *item.queued]]
        papers = store.get_papers(ids)
        matches = store.matches_for(ids)
        queue = store.queue_list()
    page = DigestPage(tracks, papers, matches, ZoneInfo(zone))
    return page.render(items, start, queue)


@dataclass
class DigestPage:
    """Renders the digest; every string from a paper, a model or the store is escaped."""

    tracks: list[Track]
    papers: dict[str, Paper]
    matches: dict[str, list[Match]]
    zone: ZoneInfo

    def render(self, items: list[DigestCycle], start: datetime, queue: list[Any]) -> str:
        lines = [f"# Digest since {format_time(start.astimezone(self.zone))}", ""]
        if not items:
            lines += ["No cycles ran in this period.", ""]
        else:
            lines += [self.totals(items), ""]
            for item in items:
                lines += self.cycle_lines(item)
            lines += self.track_lines(items)
        lines += ["## The must-read queue now", ""]
        lines += [f"- {arxiv_link(q.paper_id)} p{q.priority} ({q.added_by}): "
                  f"{escape_md(q.title, 120)} — {escape_md(q.reason, 120)}" for q in queue[:10]]
        if len(queue) > 10:
            lines.append(f"- … and {len(queue) - 10} more: `research-agent queue` lists them all.")
        lines += [] if queue else ["The queue is empty."]
        return "\n".join(lines).rstrip() + "\n"

    def totals(self, items: list[DigestCycle]) -> str:
        statuses = [item.record.status for item in items]
        tokens = sum(i.record.tokens_in + i.record.tokens_out for i in items)
        counts = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses))
        deep = sum(kind == "deep-read" for i in items for _, kind in i.read)
        new = sum(i.new_papers for i in items)
        summarised = sum(len(i.read) for i in items) - deep
        return (f"**{plural(len(items), 'cycle')}** ({counts}) · {plural(new, 'new paper')} · "
                f"{summarised} summarised · {plural(deep, 'deep read')} · {tokens:,} tokens")

    def cycle_lines(self, item: DigestCycle) -> list[str]:
        record = item.record
        when = format_time(record.started.astimezone(self.zone))
        lines = [f"## Cycle #{record.number} — {when} · {record.action} ({record.status})", "",
                 f"*Why*: {escape_md(record.reason, 300)}", ""]
        if record.status == "failed":
            lines.append(f"- **Failed**: {escape_md(record.error or 'no error recorded', 300)}")
        if item.new_papers:
            # today's scores (ratings and track edits since change them), not the cycle's own
            lines.append(f"- {plural(item.new_papers, 'new paper')} stored; relevant now: "
                         f"{self.per_track(item.relevant) or 'none'}")
        for paper_id, kind in item.read:
            lines.append(self.paper_line(paper_id, kind, item.takeaways.get(paper_id, ""),
                                         item.abstract_only))
        for paper_id, priority in item.queued:
            lines.append(f"- Queued for a deep read: {arxiv_link(paper_id)} (priority {priority})")
        if record.note_path:
            sha = (record.commit_sha or "")[:8]
            lines.append(f"- Note: `{escape_md(record.note_path, 80)}` · commit `{sha}`")
        return [*lines, ""]

    def paper_line(self, paper_id: str, kind: str, takeaway: str,
                   abstract_only: set[str] | frozenset[str] = frozenset()) -> str:
        paper = self.papers.get(paper_id)
        title = escape_md(paper.title, 200) if paper else ""
        verb = "Deep-read" if kind == "deep-read" else "Summarised"
        if kind == "deep-read" and paper_id in abstract_only:
            verb += " (abstract only)"
        line = f"- {verb}: {arxiv_link(paper_id)} **{title}**"
        if takeaway:
            line += f" — {escape_md(takeaway, 300)}"
        best = self.matches.get(paper_id) or []
        if best:
            name = self.track_name(best[0].track_id)
            line += f" *({escape_md(name, 80)}, {best[0].score:.2f})*"
        return line

    def track_lines(self, items: list[DigestCycle]) -> list[str]:
        lines = ["## Tracks", "", "| Track | Priority | Relevant new papers | Summarised or read |",
                 "|---|---|---|---|"]
        for track in sorted(self.tracks, key=lambda t: (-t.priority, t.id)):
            found = sum(i.relevant.get(track.id, 0) for i in items)
            # papers, not readings: one summarised and then deep-read counts once
            read = len({pid for i in items for pid, _ in i.read
                        if track.id in self.read_tracks(pid)})
            paused = "" if track.active else " (paused)"
            lines.append(f"| {escape_md(track.name, 80)}{paused} | {track.priority} | {found} | "
                         f"{read} |")
        return [*lines, ""]

    def read_tracks(self, paper_id: str) -> set[str]:
        """The tracks a paper read counts for: every track it is relevant to, as the relevant
        column counts it; else (a paper the judge or a rating chose) its best track."""
        matches = self.matches.get(paper_id) or []
        relevant = {m.track_id for m in matches if m.relevant}
        return relevant or {m.track_id for m in matches[:1]}

    def per_track(self, counts: dict[str, int]) -> str:
        """'Track A 3, Track B 1', in the order of the Tracks table (unknown tracks last)."""
        order = {t.id: i for i, t in enumerate(sorted(self.tracks, key=lambda t: (-t.priority,
                                                                                  t.id)))}
        ranked = sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        return ", ".join(f"{escape_md(self.track_name(t), 60)} {n}" for t, n in ranked)

    def track_name(self, track_id: str) -> str:
        return next((t.name for t in self.tracks if t.id == track_id), track_id)
