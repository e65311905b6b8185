"""The state changes a cycle makes, kept apart from the work that produced them.

A cycle saves its changes (as JSON, in its cycle record) before committing its note and applies
them to the store right after the commit. If the process dies in between, reconcile finds the
commit by its `Cycle: N` trailer and applies the saved changes: nothing is lost or done twice.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from agent.models import Match, Paper, QueueItem
from agent.results import CycleResult

# statuses only move forward; "dismissed" is set by the researcher, never overwritten here
STATUS_ORDER = {"new": 0, "ranked": 1, "summarized": 2, "queued": 3, "read": 4}


@dataclass
class StateChanges:
    papers: list[Paper] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    analyses: list[dict[str, Any]] = field(
        default_factory=list
    )  # paper_id, kind, track_id, payload
    queue_add: list[QueueItem] = field(default_factory=list)
    queue_drop: list[str] = field(default_factory=list)
    cursor_source: str = ""
    cursor: datetime | None = None
    # when the cycle started: queue_drop spares entries the researcher added while it ran
    started: datetime | None = None


def changes_from_result(result: CycleResult) -> StateChanges:
    """What the store must learn from a cycle's result."""
    changes = StateChanges(papers=list(result.new_papers), matches=list(result.matches))
    for paper in result.new_papers:
        changes.statuses.setdefault(paper.id, "ranked")
    for section in result.papers:
        if section.summary is not None:
            changes.statuses[section.paper.id] = "summarized"
            changes.analyses.append(
                {
                    "paper_id": section.paper.id,
                    "kind": "summary",
                    "track_id": None,
                    "payload": section.summary.model_dump(),
                }
            )
        if section.judgement is not None:
            changes.analyses.append(
                {
                    "paper_id": section.paper.id,
                    "kind": "judgement",
                    "track_id": section.judgement.track_id,
                    "payload": section.judgement.model_dump(),
                }
            )
    # verdicts on papers without a section were rejections: kept, so they are not judged again
    shown = {section.paper.id for section in result.papers}
    for judgement in result.judgements:
        if judgement.paper_id not in shown:
            changes.analyses.append(
                {
                    "paper_id": judgement.paper_id,
                    "kind": "judgement",
                    "track_id": judgement.track_id,
                    "payload": judgement.model_dump(),
                }
            )
    for item in result.queued:
        changes.queue_add.append(item)
        changes.statuses[item.paper_id] = "queued"
    if result.deep_read is not None:
        paper_id = result.deep_read.paper_id
        changes.statuses[paper_id] = "read"
        changes.queue_drop.append(paper_id)
        payload = result.deep_read.model_dump()
        payload["source"] = result.full_text.source if result.full_text else "abstract"
        changes.analyses.append(
            {"paper_id": paper_id, "kind": "deep-read", "track_id": None, "payload": payload}
        )
    if result.cursor is not None:
        changes.cursor_source, changes.cursor = result.source, result.cursor
    return changes


def apply_changes(store: Any, changes: StateChanges, cycle: int) -> None:
    """Write the changes into the store; the caller wraps this in one transaction."""
    if changes.papers:
        store.upsert_papers(changes.papers, cycle=cycle)
    if changes.matches:
        store.save_matches(changes.matches)
    for paper_id, status in changes.statuses.items():
        current = store.paper_status(paper_id)
        if current is None or current == "dismissed":
            continue
        if STATUS_ORDER.get(status, 0) > STATUS_ORDER.get(current, 0):
            store.set_status([paper_id], status)
    for analysis in changes.analyses:
        store.save_analysis(
            analysis["paper_id"],
            cycle,
            analysis["kind"],
            analysis["payload"],
            track_id=analysis["track_id"],
        )
    for item in changes.queue_add:
        store.queue_add(item)
    for paper_id in changes.queue_drop:
        store.queue_drop(paper_id, added_before=changes.started)
    if changes.cursor is not None:
        store.set_cursor(changes.cursor_source, changes.cursor)


def dump_changes(changes: StateChanges) -> str:
    """JSON text of the changes, for the cycle record."""
    return json.dumps(asdict(changes), default=encode_value, ensure_ascii=False)


def load_changes(text: str) -> StateChanges:
    """Changes back from `dump_changes` JSON."""
    data = json.loads(text)
    return StateChanges(
        papers=[paper_from_json(p) for p in data["papers"]],
        matches=[Match(**{**m, "terms": tuple(m["terms"])}) for m in data["matches"]],
        statuses=data["statuses"],
        analyses=data["analyses"],
        queue_add=[
            QueueItem(**{**q, "added": parse_dt(q.get("added"))}) for q in data["queue_add"]
        ],
        queue_drop=data["queue_drop"],
        cursor_source=data["cursor_source"],
        cursor=parse_dt(data["cursor"]),
        started=parse_dt(data.get("started")),  # absent from records of older releases
    )


def encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def parse_dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def paper_from_json(data: dict[str, Any]) -> Paper:
    return Paper(
        **{
            **data,
            "authors": tuple(data["authors"]),
            "categories": tuple(data["categories"]),
            "published": parse_dt(data["published"]),
            "updated": parse_dt(data["updated"]),
        }
    )
