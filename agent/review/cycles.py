"""What the cycles did: the log from the store, and the notes from `cycles/`."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.changes import stored_papers
from agent.errors import AgentError, ConfigError
from agent.schedule import as_utc
from agent.store import CycleRecord
from agent.text import strip_controls
from agent.workspace import Workspace

logger = logging.getLogger(__name__)

NOTE_FILE = re.compile(r"^(\d{4,})-(?:scan|learn|deep-read|rest)\.md$")
_SINCE = re.compile(r"^(\d+)\s*(m|min|h|d|w)$")
REFUSAL_KEY = "last_refusal"  # store meta: the latest cycle that could not start, as JSON


def cycle_log(workspace: Path, limit: int = 20) -> list[dict[str, Any]]:
    """The latest cycles, newest first, as plain rows (JSON-ready); the latest cycle that could
    not start (no number) among them in time order."""
    with Workspace(workspace).open_reader() as store:
        rows = [cycle_row(record) for record in store.recent_cycles(limit=limit)]
        refusal = store.get_meta(REFUSAL_KEY)
    if refusal:
        row = refusal_row(refusal)
        if row is not None and (not rows or moment(row) >= moment(rows[-1])):
            rows.append(row)
            rows.sort(key=moment, reverse=True)
    return rows[:limit]


def moment(row: dict[str, Any]) -> datetime:
    """When a log row's cycle started, as an aware time (the store keeps UTC)."""
    when = datetime.fromisoformat(row["started"]) if row["started"] else datetime.min
    return as_utc(when)


def refusal_row(text: str) -> dict[str, Any] | None:
    """The stored refusal as a log row with no number; None if it does not parse."""
    try:
        data = json.loads(text)
        started = datetime.fromisoformat(data["at"]).isoformat()
    except (ValueError, KeyError, TypeError):
        return None
    return {"number": None, "started": started, "action": "none", "status": "failed",
            "reason": "could not start", "papers": 0, "tokens": 0, "sha": None, "note": None,
            "error": str(data.get("error", ""))}


def cycle_row(record: CycleRecord) -> dict[str, Any]:
    return {
        "number": record.number,
        "started": record.started.isoformat() if record.started else None,
        "action": record.action,
        "status": record.status,
        "reason": record.reason,
        "papers": stored_papers(record.result_json) if record.status == "committed" else 0,
        "tokens": (record.tokens_in or 0) + (record.tokens_out or 0),
        "sha": record.commit_sha,
        "note": record.note_path,
        "error": record.error,
    }


@dataclass(frozen=True)
class Note:
    """One cycle note as read from `cycles/`: its front matter and its Markdown body."""

    number: int
    path: str  # relative to the workspace
    meta: dict[str, Any]
    body: str
    text: str  # the whole file, control characters removed


def note_files(workspace: Path) -> dict[int, Path]:
    """The cycle notes in the workspace by number (files, not the store: the DB is not in git)."""
    found: dict[int, Path] = {}
    for path in Workspace(workspace).cycles_dir.glob("*/*/*.md"):
        match = NOTE_FILE.match(path.name)
        if match and path.is_file() and not path.is_symlink():
            found[int(match.group(1))] = path
    return found


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(YAML front matter, body); ({}, text) when there is none or it does not parse."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 3)
    if end < 0:
        return {}, text
    import yaml  # PyYAML: for reading notes, not for `log` or `status`

    try:
        meta = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return {}, text
    if not isinstance(meta, dict):
        return {}, text
    return meta, text[end + 5 :].lstrip("\n")


def read_note(workspace: Path, number: int | None = None) -> Note:
    """The note of cycle `number`, or of the latest cycle that wrote one."""
    files = note_files(workspace)
    cycles = Workspace(workspace).cycles_dir
    if not files:
        raise AgentError(f"{cycles} holds no cycle notes yet. Run `research-agent cycle` first.")
    number = max(files) if number is None else number
    path = files.get(number)
    if path is None:
        raise AgentError(
            f"no note for cycle {number} in {cycles} (failed and rested cycles write none). "
            "`research-agent log` lists the cycles."
        )
    # a note may have been edited by hand: its control characters never reach the terminal
    text = strip_controls(path.read_text(encoding="utf-8", errors="replace"))
    meta, body = split_front_matter(text)
    return Note(number, path.relative_to(workspace).as_posix(), meta, body, text)


def parse_since(text: str, now: datetime, timezone: str = "UTC") -> datetime:
    """When "--since" starts: today, yesterday (local midnights), 3d, 12h, 90m, 2w, an ISO date."""
    zone = ZoneInfo(timezone)
    value = text.strip().lower()
    today = now.astimezone(zone).date()
    if value in ("today", "yesterday"):
        day = today if value == "today" else today - timedelta(days=1)
        return datetime.combine(day, time.min, tzinfo=zone)
    relative = _SINCE.match(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)[0]
        return now - timedelta(
            **{{"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: amount}
        )
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--since {text!r}: not a time I can read. Use today, yesterday, 3d, 12h or an ISO "
            "date like 2026-02-27 (or 2026-02-27T08:00)."
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=zone)
