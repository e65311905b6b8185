"""Field velocity (in every note and in `status`) reads the relevant scores and the oldest
stored paper: the work must not grow with a year of papers that are not relevant.

Measured as SQLite VM steps (a count of work, not a time) at two store sizes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agent.models import Match, Paper
from agent.store import Store
from agent.store.quick import QuickReader

TRACKS = ("t-a", "t-b", "t-c", "t-d", "t-e")


def build(database: Path, papers: int) -> None:
    """`papers` papers; the first 20 scored relevant on 5 tracks, the others not scored."""
    now = datetime(2026, 1, 5, tzinfo=UTC)
    rows = [Paper(id=f"2601.{i:05d}", title="T", abstract="A.", authors=("A",),
                  categories=("cs.CL",), published=now, updated=now) for i in range(papers)]
    with Store(f"sqlite:///{database}") as store:
        store.upsert_papers(rows)
        store.save_matches(Match(p.id, track, 0.9, True) for p in rows[:20] for track in TRACKS)


def steps(reader: QuickReader, read: str) -> tuple[int, object]:
    count = [0]

    def step() -> int:
        count[0] += 1
        return 0

    reader._conn.set_progress_handler(step, 10)
    try:
        found = getattr(reader, read)()
    finally:
        reader._conn.set_progress_handler(None, 10)
    return count[0] * 10, found


def test_velocity_finds_the_oldest_paper_without_reading_every_paper(tmp_path: Path) -> None:
    work: dict[str, list[int]] = {"relevant_per_track": [], "arrivals": []}
    for papers in (100, 3000):
        build(tmp_path / f"{papers}.db", papers)
        reader = QuickReader.open(tmp_path / f"{papers}.db")
        assert reader is not None
        with reader:
            for read, counts in work.items():
                count, found = steps(reader, read)
                counts.append(count)
                if read == "arrivals":
                    assert len(found[0]) == 20 * len(TRACKS)  # type: ignore[index]
                else:
                    assert found == dict.fromkeys(TRACKS, (20, None))
    for read, (small, large) in work.items():
        assert large < 3 * small, (read, small, large)  # 30x the papers, not 30x the work
