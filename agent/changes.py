"""The state changes a cycle makes, kept apart from the work that produced them.

A cycle saves its changes (as JSON, in its cycle record) before committing its note and applies
them to the store right after the commit. If the process dies in between, reconcile finds the
commit by its `Cycle: N` trailer and applies the saved changes: nothing is lost or done twice.

Once applied, the record keeps only a summary of them (`CycleSummary`): a scan's changes hold
every paper it stored, and a year of full copies would outweigh the papers themselves.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent.models import Match, Paper, QueueItem

if TYPE_CHECKING:  # only the type: `log` and `status` import this module and must start fast
    from agent.results import CycleResult

RANK_FINGERPRINT = "rank_fingerprint"  # meta key: tracks and ratings the stored scores reflect
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
    meta: dict[str, str] = field(default_factory=dict)  # key/values for the store's meta table


def changes_from_result(result: CycleResult) -> StateChanges:
    """What the store must learn from a cycle's result."""
    changes = StateChanges(papers=list(result.new_papers), matches=list(result.matches))
    for paper in result.new_papers:
        changes.statuses.setdefault(paper.id, "ranked")
    for section in result.papers:
        if section.summary is not None:
            changes.statuses[section.paper.id] = "summarized"
    changes.analyses.extend(judged_and_summarised(result))
    for item in result.queued:
        changes.queue_add.append(item)
        changes.statuses[item.paper_id] = "queued"
    if result.deep_read is not None:
        paper_id = result.deep_read.paper_id
        changes.statuses[paper_id] = "read"
        changes.queue_drop.append(paper_id)
        payload = result.deep_read.model_dump()
        payload["source"] = result.full_text.source if result.full_text else "abstract"
        changes.analyses.append(analysis(paper_id, "deep-read", payload))
    if result.cursor is not None:
        changes.cursor_source, changes.cursor = result.source, result.cursor
    if result.rank_fingerprint:
        changes.meta[RANK_FINGERPRINT] = result.rank_fingerprint
    return changes


def judged_and_summarised(result: CycleResult) -> list[dict[str, Any]]:
    """The summaries and judgements to store: per section its summary, then its judgement; then
    verdicts on papers without a section (rejections: kept, so they are not judged again)."""
    analyses = []
    fresh = {judgement.paper_id for judgement in result.judgements}  # an earlier verdict is stored
    for section in result.papers:
        if section.summary is not None:
            analyses.append(analysis(section.paper.id, "summary", section.summary.model_dump()))
        if section.judgement is not None and section.paper.id in fresh:
            judgement = section.judgement
            analyses.append(analysis(section.paper.id, "judgement", judgement.model_dump(),
                                     judgement.track_id))
    shown = {section.paper.id for section in result.papers}
    for judgement in result.judgements:
        if judgement.paper_id not in shown:
            analyses.append(analysis(judgement.paper_id, "judgement", judgement.model_dump(),
                                     judgement.track_id))
    return analyses


def analysis(
    paper_id: str, kind: str, payload: dict[str, Any], track_id: str | None = None
) -> dict[str, Any]:
    """One analysis row as the store takes it."""
    return {"paper_id": paper_id, "kind": kind, "track_id": track_id, "payload": payload}


def apply_changes(store: Any, changes: StateChanges, cycle: int) -> None:
    """Write the changes into the store; the caller wraps this in one transaction.

    In the same transaction the caller marks the cycle committed and replaces the saved changes
    by `compacted(changes)`: until then they stay whole, so reconcile can apply them after a crash.
    """
    if changes.papers:
        store.upsert_papers(changes.papers, cycle=cycle)
    if changes.matches:
        store.save_matches(changes.matches)
    advance_statuses(store, changes.statuses)
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
    for key, value in changes.meta.items():
        store.set_meta(key, value)


def advance_statuses(store: Any, statuses: dict[str, str]) -> None:
    """Move each known paper forward to its new status (never back, never off "dismissed")."""
    current = store.paper_statuses(list(statuses))
    moves: dict[str, list[str]] = {}
    for paper_id, status in statuses.items():
        now = current.get(paper_id)
        if now is None or now == "dismissed":
            continue
        if STATUS_ORDER.get(status, 0) > STATUS_ORDER.get(now, 0):
            moves.setdefault(status, []).append(paper_id)
    for status, paper_ids in moves.items():
        store.set_status(paper_ids, status)


def dump_changes(changes: StateChanges) -> str:
    """JSON text of the changes, for the cycle record."""
    data = shallow(changes)  # dataclasses.asdict deep-copies: seconds for a day's papers
    for name in ("papers", "matches", "queue_add"):
        data[name] = [shallow(item) for item in data[name]]
    return json.dumps(data, default=encode_value, ensure_ascii=False)


def shallow(item: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, values as they are (json writes tuples as lists)."""
    return {f.name: getattr(item, f.name) for f in fields(item)}


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
        meta=data.get("meta", {}),
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


# --- the summary a committed cycle keeps -----------------------------------------------------


@dataclass
class CycleSummary:
    """What `log`, `digest`, the policy and the cycles index need of a committed cycle."""

    papers: int = 0  # papers stored (new or a newer version)
    analysed: int = 0  # distinct papers summarised or read (a learn judges ~50 to summarise 5)
    relevant: dict[str, int] = field(default_factory=dict)  # track -> relevant stored papers
    read: list[tuple[str, str, str]] = field(default_factory=list)  # (paper, kind, takeaway)
    queued: list[tuple[str, int]] = field(default_factory=list)  # (paper, priority)
    abstract_only: list[str] = field(default_factory=list)  # deep reads of the abstract alone

    @property
    def shown(self) -> int:
        """The papers a cycle is known by: those it read, else those it stored."""
        return self.analysed or self.papers


def summarise(changes: StateChanges) -> CycleSummary:
    """The summary of a cycle's changes."""
    from agent.store.papers import takeaway_of

    summary = CycleSummary(papers=len(changes.papers))
    summary.analysed = len({a["paper_id"] for a in changes.analyses if a["kind"] != "judgement"})
    new_ids = {p.id for p in changes.papers}
    for match in changes.matches:
        if match.relevant and match.paper_id in new_ids:
            summary.relevant[match.track_id] = summary.relevant.get(match.track_id, 0) + 1
    for analysis in changes.analyses:
        if analysis["kind"] in ("summary", "deep-read"):
            takeaway = takeaway_of(analysis["kind"], analysis["payload"], "")
            summary.read.append((analysis["paper_id"], analysis["kind"], takeaway))
        if analysis["kind"] == "deep-read" and analysis["payload"].get("source") == "abstract":
            summary.abstract_only.append(analysis["paper_id"])
    summary.queued = [(q.paper_id, q.priority) for q in changes.queue_add]
    return summary


def dump_summary(summary: CycleSummary) -> str:
    return json.dumps({"summary": 1, **asdict(summary)}, ensure_ascii=False)


def compacted(changes: StateChanges) -> str:
    """What a cycle record keeps once its changes are applied: their summary, as JSON."""
    return dump_summary(summarise(changes))


def cycle_summary(result_json: str | None) -> CycleSummary | None:
    """The summary of a cycle record's saved result: compacted, or full changes not yet applied."""
    if not result_json:
        return None
    data = json.loads(result_json)
    if "summary" not in data:  # full changes (a cycle not yet applied, or an older release)
        return summarise(load_changes(result_json))
    return CycleSummary(
        papers=int(data["papers"]),
        analysed=int(data["analysed"]),
        relevant={str(k): int(v) for k, v in data["relevant"].items()},
        read=[(str(p), str(k), str(t)) for p, k, t in data["read"]],
        queued=[(str(p), int(n)) for p, n in data["queued"]],
        abstract_only=[str(p) for p in data.get("abstract_only", [])],  # older: not recorded
    )


def stored_papers(result_json: str | None) -> int:
    """How many papers a committed cycle stored or read (from its saved result)."""
    summary = cycle_summary(result_json)
    return summary.shown if summary else 0
