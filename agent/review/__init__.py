"""The morning side: what the agent did (log, notes, digest), tracks, papers, and exports.

Read-only: nothing here writes the store, the notes or git, so every function is safe to call
while the daemon runs. The CLI (`agent/cli/morning.py`) formats what these return.
"""

from __future__ import annotations

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
    "track_rows",
]
