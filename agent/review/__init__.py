"""The morning side: what the agent did (log, notes, digest), tracks, papers, and exports.

Read-only: nothing here writes the store, the notes or git, so every function is safe to call
while the daemon runs. The CLI (`agent/cli/morning.py`) formats what these return.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.notes import strip_controls
    from agent.review.cycles import (
        Note,
        cycle_log,
        note_files,
        parse_since,
        read_note,
        split_front_matter,
    )
    from agent.review.digest import digest
    from agent.review.export import (
        ExportRecord,
        bibtex_entries,
        bibtex_entry,
        escape_bibtex,
        export_records,
        jsonl_lines,
    )
    from agent.review.papers import paper_report, search_papers, track_rows

__all__ = [
    "ExportRecord",
    "Note",
    "bibtex_entries",
    "bibtex_entry",
    "cycle_log",
    "digest",
    "escape_bibtex",
    "export_records",
    "jsonl_lines",
    "note_files",
    "paper_report",
    "parse_since",
    "read_note",
    "search_papers",
    "split_front_matter",
    "strip_controls",
    "track_rows",
]

# Each name is imported on first use: `log` and `tracks` must not pay for the digest, the
# exports and the note renderer (jinja2, pydantic) that they never call.
_HOMES = {
    "Note": "agent.review.cycles",
    "cycle_log": "agent.review.cycles",
    "note_files": "agent.review.cycles",
    "parse_since": "agent.review.cycles",
    "read_note": "agent.review.cycles",
    "split_front_matter": "agent.review.cycles",
    "strip_controls": "agent.notes",
    "digest": "agent.review.digest",
    "ExportRecord": "agent.review.export",
    "bibtex_entries": "agent.review.export",
    "bibtex_entry": "agent.review.export",
    "escape_bibtex": "agent.review.export",
    "export_records": "agent.review.export",
    "jsonl_lines": "agent.review.export",
    "paper_report": "agent.review.papers",
    "search_papers": "agent.review.papers",
    "track_rows": "agent.review.papers",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'agent.review' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
