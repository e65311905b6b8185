"""Field velocity (in every note and in `status`), `tracks` and `status` read the relevant scores
and the oldest stored paper: the work must not grow with a year of papers that are scored on
every track but relevant to none.

Measured as SQLite VM steps (a count of work, not a time) at two store sizes.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from agent.models import Match, Paper
from agent.store import Store
from agent.store.quick import DATED_PAPERS, QuickReader

TRACKS = ("t-a", "t-b", "t-c", "t-d", "t-e")
READS = {  # what `tracks`, `status` and every note's field velocity read
    "relevant_per_track": lambda r: r.relevant_per_track(),
    "arrivals": lambda r: len(r.arrivals()[0]),
    "candidates": lambda r: r.count_candidates(("new",), relevant_only=True, tracks=TRACKS[:2]),
    "digest": lambda r: r.new_per_cycle([2]),  # the digest of the last cycle
}
EXPECTED = {"relevant_per_track": dict.fromkeys(TRACKS, (20, 2)), "arrivals": 20 * len(TRACKS),
            "candidates": 20, "digest": {2: (20, dict.fromkeys(TRACKS, 20))}}


def build(database: Path, papers: int) -> None:
    """`papers` papers scored on 5 tracks: the first 20 relevant, the others not (a scan stores
    and scores every listed paper)."""
    now = datetime(2026, 1, 5, tzinfo=UTC)
    rows = [Paper(id=f"2601.{i:05d}", title="T", abstract="A.", authors=("A",),
                  categories=("cs.CL",), published=now, updated=now) for i in range(papers)]
    with Store(f"sqlite:///{database}") as store:
        store.upsert_papers(rows[20:], cycle=1)
        store.upsert_papers(rows[:20], cycle=2)  # the latest cycle stored the relevant ones
        store.save_matches(Match(p.id, track, 0.9 if i < 20 else 0.1, i < 20)
                           for i, p in enumerate(rows) for track in TRACKS)


def steps(reader: QuickReader, read: str) -> tuple[int, object]:
    """The VM steps (to the nearest 10) of calling `reader.<read>()`, and what it returned."""
    count = [0]

    def step() -> int:
        count[0] += 1
        return 0

    reader._conn.set_progress_handler(step, 10)
    try:
        found = READS[read](reader)
    finally:
        reader._conn.set_progress_handler(None, 10)
    return count[0] * 10, found


def test_relevant_counts_read_the_relevant_scores_not_every_score(tmp_path: Path) -> None:
    work: dict[str, list[int]] = {read: [] for read in READS}
    for papers in (100, 3000):
        build(tmp_path / f"{papers}.db", papers)
        reader = QuickReader.open(tmp_path / f"{papers}.db")
        assert reader is not None
        with reader:
            for read, counts in work.items():
                count, found = steps(reader, read)
                counts.append(count)
                assert found == EXPECTED[read], (read, found)
    for read, (small, large) in work.items():
        assert large < 3 * small, (read, small, large)  # 30x the papers, not 30x the work


def test_relevant_counts_join_the_papers_dates_from_the_covering_index(tmp_path: Path) -> None:
    """Each relevant score is joined to its paper's dates: one lookup in `ix_papers_id_dates`
    (m008), never the paper's whole row (abstract and all) from the table; through the quick
    reader and the Store (on SQLite) alike, which run the same SQL."""
    database = tmp_path / "a.db"
    build(database, 100)
    joined: list[str] = []
    reader = QuickReader.open(database)
    assert reader is not None
    with reader:
        reader._conn.set_trace_callback(joined.append)
        for read in READS.values():
            read(reader)
        reader._conn.set_trace_callback(None)
        joins = [sql for sql in joined if "JOIN papers" in sql]
        assert len(joins) == 3  # relevant per track, arrivals, relevant new papers per cycle
        for sql in joins:
            plan = " / ".join(row[3] for row in reader._conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "SEARCH p USING COVERING INDEX ix_papers_id_dates (id=?)" in plan, plan
    with Store(f"sqlite:///{database}") as store:
        assert store._dated_papers() == reader._dated_papers() == DATED_PAPERS
        assert store.relevant_per_track() == EXPECTED["relevant_per_track"]


def test_a_file_without_the_dates_index_is_read_the_slow_way(tmp_path: Path) -> None:
    """A file an older release migrated (no m008 yet) still answers through the quick reader."""
    database = tmp_path / "a.db"
    build(database, 100)
    with sqlite3.connect(database) as conn:
        conn.execute("DROP INDEX ix_papers_id_dates")
    reader = QuickReader.open(database)
    assert reader is not None
    with reader:
        for read, expected in EXPECTED.items():
            assert READS[read](reader) == expected, read
