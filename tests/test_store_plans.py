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


# --- the judge's verdicts: counted from an index, however many papers were judged ---------------


def judged_store(database: Path, judged: int) -> None:
    """100 unread papers scored on 5 tracks (20 relevant) and `judged` more the LLM judged:
    half turned down, half kept, of which 10 still unread and the others summarised."""
    from agent.store import Store

    build(database, 100 + judged)
    with Store(f"sqlite:///{database}") as store:
        ids = [f"2601.{i:05d}" for i in range(100, 100 + judged)]
        with store.transaction():  # one write, not one per verdict
            for i, pid in enumerate(ids):
                store.save_analysis(pid, 2, "judgement", {"paper_id": pid, "track_id": "t-a",
                                                          "score": 8 if i % 2 else 2})
        store.set_status([f"2601.{i:05d}" for i in range(100 + judged)], "ranked")
        store.set_status([p for i, p in enumerate(ids) if i % 2 and i >= 20], "summarized")


def test_what_waits_for_learn_is_counted_from_the_verdict_index_not_per_judged_paper(
    tmp_path: Path,
) -> None:
    """`status` (agent/waiting.py) with an LLM judge: the counts read `ix_papers_verdict` (m009)
    in ranges, so 30 times the judged papers is not 30 times the work (it was a query per 500
    judged papers that read every unread paper: 25 s at a year's 90,000 verdicts)."""
    from agent.waiting import waiting_counts

    work, found = [], []
    for judged in (100, 3000):
        database = tmp_path / f"{judged}.db"
        judged_store(database, judged)
        reader = QuickReader.open(database)
        assert reader is not None
        with reader:
            count = [0]

            def step(count: list[int] = count) -> int:
                count[0] += 1
                return 0

            reader._conn.set_progress_handler(step, 10)
            found.append(waiting_counts(reader, TRACKS, judging=True, floor=0.15))
            reader._conn.set_progress_handler(None, 10)
            work.append(count[0])
            assert found[-1] == (20 + 10, 10)  # the unjudged relevant ones, and those kept
            assert waiting_counts(reader, TRACKS, judging=False) == (20, 0)  # relevant ones
    assert work[1] < 3 * work[0], work


def test_the_verdict_migration_keeps_each_papers_latest_whole_score(tmp_path: Path) -> None:
    """m009 fills `papers.verdict` from the judgements stored before it: the latest one per
    paper, a score that is not a whole number from 0 to 10 left out."""
    from agent.store import MIGRATIONS, Store
    from agent.store.migrations import Migrations

    database = tmp_path / "old.db"
    older = Migrations([m for m in MIGRATIONS._migrations if m.name != "m009_papers_verdict"])
    build(database, 5)
    with sqlite3.connect(database) as conn:  # as an older release left it
        conn.execute("DROP INDEX ix_papers_verdict")
        conn.execute("ALTER TABLE papers DROP COLUMN verdict")
        conn.execute("DELETE FROM schema_migrations WHERE name = 'm009_papers_verdict'")
        rows = [("2601.00000", '{"score": 3}'), ("2601.00000", '{"score": 9}'),
                ("2601.00001", '{"score": 7.5}'), ("2601.00002", '{"score": true}'),
                ("2601.00003", "not json"), ("2601.00004", '{"score": 11}')]
        conn.executemany("INSERT INTO analyses (paper_id, cycle, kind, payload, created_at) "
                         "VALUES (?, 1, 'judgement', ?, '2026-01-01 00:00:00')", rows)
    assert older.names != MIGRATIONS.names
    with Store(f"sqlite:///{database}") as store:
        assert store.judgement_scores() == {"2601.00000": 9}


def test_the_judges_verdicts_are_counted_with_and_without_a_judge(tmp_path: Path) -> None:
    """The same store read with a judge and without one: kept papers count without a judge
    when they are relevant (they are not turned down), papers rated up after a verdict below
    the bar count as kept (the researcher's word stands), the latest verdict wins."""
    from agent.models import Rating
    from agent.waiting import waiting_counts

    with Store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        ids = [f"2601.{i:05d}" for i in range(6)]
        now = datetime(2026, 1, 5, tzinfo=UTC)
        store.upsert_papers([Paper(id=pid, title="T", abstract="A.", authors=("A",),
                                   categories=("cs.CL",), published=now, updated=now)
                             for pid in ids])
        store.set_status(ids, "ranked")
        store.save_matches(Match(pid, "t", 0.9 if i < 2 else 0.3, i < 2) for i, pid in
                           enumerate(ids))
        for pid, score in [(ids[0], 8), (ids[2], 2), (ids[3], 3), (ids[3], 9)]:
            store.save_analysis(pid, 1, "judgement", {"paper_id": pid, "score": score})
        store.add_rating(Rating(ids[2], 1, "t"))
        assert store.judgement_scores() == {ids[0]: 8, ids[2]: 2, ids[3]: 9}
        assert store.kept_unread(5) == [ids[0], ids[3]]
        assert waiting_counts(store, ["t"], judging=True, floor=0.15) == (6, 3)
        assert waiting_counts(store, ["t"], judging=False) == (2, 0)
        # a paused track "u" is scored too: its papers count only while it is active
        store.upsert_papers([Paper(id="2601.00006", title="T", abstract="A.", authors=("A",),
                                   categories=("cs.CL",), published=now, updated=now)])
        store.set_status(["2601.00006"], "ranked")
        store.save_matches([Match("2601.00006", "u", 0.9, True), Match(ids[3], "u", 0.9, True)])
        assert waiting_counts(store, ["t"], judging=True, floor=0.15) == (6, 3)
        assert waiting_counts(store, ["t"], judging=False) == (2, 0)
        assert waiting_counts(store, ["t", "u"], judging=True, floor=0.15) == (7, 3)
        assert waiting_counts(store, ["t", "u"], judging=False) == (4, 0)
        assert waiting_counts(store, ["u"], judging=True, floor=0.15) == (2, 1)
