"""The researcher's edits and broken local state: nothing destroyed, every error says what to do.

Generated views keep the researcher's section and are never overwritten while edited and not
committed; a damaged database, a read-only state/ and long log lines give clear, bounded output.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest

from agent.cycle import CycleOptions, run_cycle
from agent.logs import MAX_LINE, setup_logging
from agent.views import CYCLES_INDEX, KEEP_MARKER, KNOWLEDGE_GRAPH
from tests.cli import run_cli
from tests.repo import git, git_head

VIEWS = [KNOWLEDGE_GRAPH, CYCLES_INDEX]


@pytest.mark.parametrize("view", VIEWS)
def test_an_uncommitted_edit_of_a_view_is_never_overwritten(
    scanned: Path, view: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scanned / view
    edited = path.read_text(encoding="utf-8").replace("# ", "# (my reading) ", 1)
    path.write_text(edited, encoding="utf-8")
    head = git_head(scanned)
    result = run_cli(capsys, "cycle", "-w", str(scanned), "--source", "sample",
                     "--action", "scan")
    assert result.code != 0 and "Traceback" not in result.err
    assert view in result.err and "not committed" in result.err and "git commit" in result.err
    assert path.read_text(encoding="utf-8") == edited  # the researcher's text, untouched
    assert git_head(scanned) == head  # and nothing committed


def test_the_researchers_section_of_a_view_survives_regeneration(scanned: Path) -> None:
    for view in VIEWS:
        text = (scanned / view).read_text(encoding="utf-8")
        assert text.count(KEEP_MARKER) == 1
        (scanned / view).write_text(text + f"My own note on {view}.\n", encoding="utf-8")
    git(scanned, "commit", "-qam", "my notes")
    outcome = run_cycle(scanned, CycleOptions(action="scan", source="sample"))
    assert outcome.status == "committed", outcome.error
    for view in VIEWS:
        text = (scanned / view).read_text(encoding="utf-8")
        assert text.count(KEEP_MARKER) == 1
        assert text.endswith(f"{KEEP_MARKER}\n## Your notes\n\nMy own note on {view}.\n")
        assert "cycle #2" in text or "latest 2 cycle notes" in text  # regenerated above it


@pytest.mark.parametrize("command", [["status"], ["log"]])
def test_a_damaged_table_read_by_the_fast_path_names_the_file(
    scanned: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`status` and `log` read a migrated file through sqlite3 (store/quick.py), not SQLAlchemy:
    with schema_migrations intact but the cycles table damaged, they say the same as the Store."""
    db = scanned / "state" / "agent.db"
    damage(db, table="cycles")
    result = run_cli(capsys, *command, "-w", str(scanned))
    err = " ".join(result.err.split())
    assert result.code != 0 and "Traceback" not in err
    assert str(db) in err and "damaged" in err and "move the file aside" in err
    assert "SELECT" not in err and "FROM" not in err  # no SQL dump


def damage(db: Path, table: str | None = None) -> None:
    """Overwrite every page but the first (the schema) of a SQLite file with garbage, or only
    the root page of `table`."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sql = "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?"
        root = conn.execute(sql, [table]).fetchone()[0] if table else None
    page = int.from_bytes(db.read_bytes()[16:18], "big")
    data = bytearray(db.read_bytes())
    offsets = [(root - 1) * page] if root else range(page, len(data), page)
    for offset in offsets:
        data[offset : offset + page] = b"\xde\xad\xbe\xef" * (page // 4)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("command", [["status"], ["cycle", "--source", "sample"], ["log"]])
def test_a_damaged_database_names_the_file_and_how_to_recover(
    scanned: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    db = scanned / "state" / "agent.db"
    damage(db)
    result = run_cli(capsys, *command, "-w", str(scanned))
    err = " ".join(result.err.split())
    assert result.code != 0 and "Traceback" not in err
    assert str(db) in err and "damaged" in err and "move the file aside" in err
    assert "in git and intact" in err and "queue" in err and "ratings" in err
    assert "SELECT" not in err and "FROM" not in err  # no SQL dump


def test_log_lines_are_bounded(tmp_path: Path, restore_root_logger) -> None:
    setup_logging(tmp_path)
    logging.getLogger("agent.test").warning("query %s", "all:x OR " * 100_000)
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = (tmp_path / "agent.log").read_text(encoding="utf-8")
    assert max(len(line) for line in text.splitlines()) < MAX_LINE + 200
    assert "more characters]" in text


def test_a_read_only_state_directory_gives_a_clear_message(
    scanned: Path, capsys: pytest.CaptureFixture[str], restore_root_logger
) -> None:
    state = scanned / "state"
    (state / "agent.log").unlink(missing_ok=True)
    state.chmod(0o555)
    try:
        if os.access(state, os.W_OK):
            pytest.skip("running as a user that may write anywhere (root)")
        result = run_cli(capsys, "cycle", "-w", str(scanned), "--source", "sample")
    finally:
        state.chmod(0o755)
    assert "Traceback" not in result.err and "--- Logging error ---" not in result.err
    assert "agent.log" in result.err and "writable" in result.err


def test_an_unwritable_log_file_gives_one_clear_line(
    scanned: Path, capsys: pytest.CaptureFixture[str], restore_root_logger
) -> None:
    (scanned / "state" / "agent.log").unlink(missing_ok=True)
    (scanned / "state" / "agent.log").mkdir()  # as root, chmod cannot make state/ read-only
    result = run_cli(capsys, "cycle", "-w", str(scanned), "--source", "sample")
    assert "Traceback" not in result.err and "--- Logging error ---" not in result.err
    assert "agent.log" in result.err and "stderr only" in result.err
    assert result.code == 0  # the cycle itself did not need the log file


def test_cli_output_keeps_no_part_of_an_escape_sequence() -> None:
    from agent.cli import escape

    for raw in ("\x1b[31mred\x1b[0m", "\x9b31mred\x9b0m", "\x1b[38;5;196mred", "\x1b]0;t\x07red",
                "\x1b]8;;http://x\x1b\\red\x1b]8;;\x1b\\", "\x1bP1$r\x1b\\red", "\x1b(Bred"):
        shown = escape(raw)
        assert shown == "red", (raw, shown)
