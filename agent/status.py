"""What `research-agent status` reports: plain data gathered from the lock, the daemon file and
the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.lock import WorkspaceLock
from agent.review.cycles import cycle_row
from agent.schedule import local_midnight  # not agent.snapshot: the policy is not needed
from agent.waiting import waiting_counts
from agent.workspace import Workspace

DAEMON_FILE = "daemon.json"


def collect_status(workspace: Path, now: datetime | None = None) -> dict[str, Any]:
    """Is it running, the last cycles, next wake, queue, candidates, tokens today.

    `candidates`: the unread papers the next learn cycle chooses from; `candidates_judged`: how
    many of them an LLM judge kept in an earlier cycle (0 without an LLM)."""
    space = Workspace(workspace)
    settings = space.settings
    now = now or datetime.now(UTC)
    holder = WorkspaceLock(settings.state_dir).holder_info()
    report: dict[str, Any] = {
        "workspace": str(workspace),
        "running": holder is not None,
        "pid": holder.pid if holder else None,
        "next_wake": None,
        "schedule": None,
    }
    daemon_file = settings.state_dir / DAEMON_FILE
    if holder is not None and daemon_file.is_file():
        try:
            daemon = json.loads(daemon_file.read_text(encoding="utf-8"))
            report["next_wake"] = daemon.get("next_run")
            report["schedule"] = daemon.get("every") or daemon.get("cron")
        except (OSError, ValueError):
            pass
    with space.open_reader() as store:
        report["cycles"] = [cycle_row(c) for c in store.recent_cycles(limit=5)]
        report["queue"] = [
            {"id": q.paper_id, "priority": q.priority, "added_by": q.added_by, "title": q.title}
            for q in store.queue_list()
        ]
        # what the next learn cycle chooses from (agent/waiting.py): not every off-topic paper a
        # scan stored, not a paused track's papers; with an LLM, the papers its judge kept too
        report["candidates"], report["candidates_judged"] = waiting_counts(
            store, active_track_ids(space), judging=settings.llm.enabled,
            floor=settings.learn.judge_floor,
        )
        report["papers"] = store.count_papers()
        tokens_in, tokens_out = store.tokens_since(local_midnight(now, settings.schedule.timezone))
        report["tokens_today"] = {
            "in": tokens_in,
            "out": tokens_out,
            "budget": settings.llm.daily_token_budget,
        }
        report["timezone"] = settings.schedule.timezone  # the times above are UTC
        report["analyst"] = "llm" if settings.llm.enabled else "offline"
        report["model"] = settings.llm.model if settings.llm.enabled else None
    return report


def active_track_ids(space: Workspace) -> list[str] | None:
    """The active tracks' ids, or None (count every track) when tracks.toml cannot be read:
    `status` must still answer while the researcher mends the file."""
    from agent.errors import AgentError
    from agent.tracks import load_tracks

    try:
        return [t.id for t in load_tracks(space.settings.tracks_path) if t.active]
    except AgentError:
        return None
