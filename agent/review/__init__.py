"""The morning side: what the agent did (log, notes, digest), tracks, papers, and exports.

Read-only: nothing here writes the store, the notes or git, so every function is safe to call
while the daemon runs. The CLI (`agent/cli/morning.py`) formats what these return.

The names below are imported from their submodule on first use (PEP 562), so `status`, which
needs only `agent.review.cycles`, does not import the digest, the notes and the exports. The
digest itself is `agent.review.digest.digest`: the submodule has the function's name, and once
anything imports the submodule Python binds `agent.review.digest` to it, so the package does not
offer the function (it would be the module or the function depending on import order).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.review.cycles import (
        Note,
        cycle_log,
        note_files,
        parse_since,
        read_note,
        split_front_matter,
    )
    from agent.review.export import (
        ExportRecord,
        bibtex_entries,
        bibtex_entry,
        escape_bibtex,
        export_records,
        jsonl_lines,
    )
    from agent.review.papers import paper_report, search_papers, track_rows

HOMES = {
    "agent.review.cycles": ("Note", "cycle_log", "note_files", "parse_since", "read_note",
                            "split_front_matter"),
    "agent.review.export": ("ExportRecord", "bibtex_entries", "bibtex_entry", "escape_bibtex",
                            "export_records", "jsonl_lines"),
    "agent.review.papers": ("paper_report", "search_papers", "track_rows"),
}
HOME = {name: module for module, names in HOMES.items() for name in names}

__all__ = [  # = sorted(HOME), spelled out for linters and type checkers
    "ExportRecord",
    "Note",
    "bibtex_entries",
    "bibtex_entry",
    "cycle_log",
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


def __getattr__(name: str) -> Any:
    if name not in HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(HOME[name]), name)
    globals()[name] = value
    return value
