"""The morning commands (`tracks`, `digest`, `papers search`, `papers show`) read a SQLite store
through the standard library, and say exactly what they say through the full Store.

A real workspace: the sample scanned, a learn cycle (summaries, judgements), a rating and a
queued paper. The Store is forced by making the quick reader decline the file, as it declines a
database it cannot read (PostgreSQL, a file not migrated yet). Timings: bench/year_scale.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.cycle import CycleOptions, run_cycle
from agent.review import paper_report, search_papers, track_rows
from agent.review.digest import digest
from agent.steer import queue_add, rate
from agent.store import Store, sqlite_url
from agent.store.quick import QuickReader, open_reader

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def morning(scanned_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scanned workspace after a learn cycle, one rating and one queued paper."""
    path = Path(shutil.copytree(scanned_template, tmp_path_factory.mktemp("m") / "radar",
                                symlinks=True))
    outcome = run_cycle(path, CycleOptions(action="learn", source="sample"))
    assert outcome.status == "committed", outcome.error
    with Store(sqlite_url(str(path / "state" / "agent.db"))) as store:
        summarised = [p.id for p, _ in store.candidates(("summarized",), limit=2)]
        waiting = [p.id for p, _ in store.candidates(("ranked",), limit=1)]
    rate(path, summarised[0], "up", source="sample")
    rate(path, summarised[0], "down", source="sample")  # the latest verdict counts
    queue_add(path, waiting[0], priority=4, note="look at the method", source="sample")
    return path


def shown(workspace: Path) -> dict[str, Any]:
    """What each command prints (as JSON) for the workspace."""
    papers = paper_ids(workspace)
    return {
        "tracks": track_rows(workspace),
        "digest": digest(workspace, "2020-01-01", now=NOW),
        "search": {text: search_papers(workspace, text, limit=30)
                   for text in ("prompt injection", '"sparse autoencoder"', "speech")},
        "show": {pid: paper_report(workspace, pid) for pid in papers},
    }


def paper_ids(workspace: Path) -> list[str]:
    """A summarised and rated paper, a queued one, and one only scanned."""
    with open_reader(sqlite_url(str(workspace / "state" / "agent.db"))) as reader:
        queued = [item.paper_id for item in reader.queue_list()]
        rated = [r.paper_id for r in reader.ratings()]
    search = [row["id"] for row in search_papers(workspace, "speech", limit=3)]
    return sorted({*queued, *rated, *search})


def test_the_quick_reader_shows_what_the_store_shows(
    morning: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = shown(morning)
    monkeypatch.setattr(QuickReader, "open", classmethod(lambda cls, path: None))
    with open_reader(sqlite_url(str(morning / "state" / "agent.db"))) as forced:
        assert not isinstance(forced, QuickReader)
    full = shown(morning)
    assert json.dumps(quick, default=str) == json.dumps(full, default=str)
    # and it said something: the ratings rule, the queue, analyses, scores, counts, velocity
    rated = [report for report in quick["show"].values() if report["ratings"]]
    assert [r["ratings"] for r in rated] == [[{"verdict": "down", "track_id": None}]]
    assert rated[0]["analyses"] and rated[0]["scores"] and rated[0]["notes"]
    assert any(report["queue"] for report in quick["show"].values())
    assert "Summarised:" in quick["digest"] and "look at the method" in quick["digest"]
    assert any(row["papers"] and row["velocity"] for row in quick["tracks"])
    assert all(quick["search"].values())


PROBE = """
import sys
from pathlib import Path
from agent.review import paper_report, search_papers, track_rows
from agent.review.digest import digest
workspace = Path(sys.argv[1])
track_rows(workspace)
page = digest(workspace, "2020-01-01")
found = search_papers(workspace, "speech")
report = paper_report(workspace, found[0]["id"])
heavy = sorted(m for m in ("openai", "sqlalchemy", "sqlmodel", "jinja2") if m in sys.modules)
print(len(page), report["id"], heavy)
"""


def test_the_morning_commands_load_neither_sqlalchemy_nor_openai(morning: Path) -> None:
    """Importing SQLAlchemy alone costs about a third of a second: more than a fast command's
    budget at a year's scale (bench/year_scale.py)."""
    done = subprocess.run([sys.executable, "-c", PROBE, str(morning)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    size, paper, heavy = done.stdout.split(" ", 2)
    assert int(size) > 100 and paper
    assert heavy.strip() == "[]"


def test_dates_read_as_text_are_aware_utc() -> None:
    from agent.store.reads import from_text, to_text

    moment = datetime(2026, 3, 5, 17, 59, 59, 120, tzinfo=UTC)
    assert from_text(to_text(moment)) == moment and from_text(to_text(moment)).tzinfo is UTC
    assert from_text("2026-03-05 17:59:59") == moment.replace(microsecond=0)
    assert from_text("2026-03-05T19:59:59.000120+02:00") == moment  # an offset of its own
    assert from_text(None) is None and from_text("") is None
