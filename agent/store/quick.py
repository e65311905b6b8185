"""Read-only queries for the commands that must start fast: `status`, `log`, `tracks`.

Importing SQLAlchemy alone takes longer than these commands may take in all (0.3 s). On a SQLite
file that is already migrated they read through the standard library's `sqlite3`, read-only; any
other database (PostgreSQL, a file not created or migrated yet) gets the full `Store`, which has
the same methods. tests/test_scale.py checks both answer alike; where both must apply one rule
(`CandidateCount`) the Store runs this module's SQL through SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from agent.closing import Closing
from agent.errors import DatabaseDamaged
from agent.models import Match, Paper, QueueItem, Rating
from agent.store.reads import PaperReads, from_text, marks, moment, to_text
from agent.store.records import CycleRecord, check_statuses

if TYPE_CHECKING:
    from agent.store.facade import Store

# The schema these queries read: a database without these migrations gets the full Store.
NEEDED = ("m001_initial_schema", "m002_best_scores", "m009_papers_verdict")
BUSY_TIMEOUT_S = 5.0
# `tracks` joins the year's relevant scores to the dates index twice (counts, then velocity):
# with room for the index (~20 MB at 500k papers) the second join finds its pages in memory.
# SQLite takes the memory only as pages are read.
CACHE_KIB = 65_536
DATES_INDEX = "ix_papers_id_dates"  # m008: (id, first_seen_cycle, published)
DATED_PAPERS = f"papers p INDEXED BY {DATES_INDEX}"
CYCLE_COLUMNS = (
    "number, action, reason, status, step, started, ended, note_path, commit_sha, "
    "tokens_in, tokens_out, error, result_json, pid"
)


class Reader(Protocol):
    """What the fast commands read; `QuickReader` and `Store` both provide it."""

    def recent_cycles(self, limit: int = 20) -> list[CycleRecord]: ...
    def get_cycle(self, number: int) -> CycleRecord | None: ...
    def queue_list(self) -> list[QueueItem]: ...
    def count_papers(self, statuses: Sequence[str] | None = None) -> int: ...
    def count_candidates(
        self,
        statuses: Sequence[str] = ("ranked",),
        relevant_only: bool = False,
        tracks: Sequence[str] | None = None,
    ) -> int: ...
    def tokens_since(self, since: datetime) -> tuple[int, int]: ...
    def relevant_per_track(self) -> dict[str, tuple[int, int | None]]: ...
    def arrivals(self) -> tuple[list[tuple[str, str, datetime]], datetime | None]: ...
    def get_meta(self, key: str) -> str | None: ...
    def new_per_cycle(self, cycles: Sequence[int]) -> dict[int, tuple[int, dict[str, int]]]: ...
    def get_papers(self, ids: Sequence[str]) -> dict[str, Paper]: ...
    def get_paper(self, paper_id: str) -> Paper | None: ...
    def paper_statuses(self, ids: Sequence[str]) -> dict[str, str]: ...
    def paper_status(self, paper_id: str) -> str | None: ...
    def first_seen_cycle(self, paper_id: str) -> int | None: ...
    def matches_for(self, paper_ids: Sequence[str]) -> dict[str, list[Match]]: ...
    def analyses_for(self, paper_id: str, kind: str | None = None) -> list[dict[str, Any]]: ...
    def ratings(self, track_id: str | None = None) -> list[Rating]: ...
    def judgement_scores(self) -> dict[str, int]: ...
    def unread_on_tracks(
        self, ids: Sequence[str], tracks: Sequence[str] | None
    ) -> dict[str, bool]: ...
    def count_by_verdict(
        self, bar: int, floor: float | None, judging: bool, tracks: Sequence[str] | None = None
    ) -> tuple[int, int, int]: ...
    def kept_unread(self, bar: int) -> list[str]: ...
    def verdicts_of(self, ids: Sequence[str]) -> dict[str, int]: ...
    def scored_tracks(self) -> list[str]: ...
    def close(self) -> None: ...
    def __enter__(self) -> Reader: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def open_reader(url: str) -> Reader:
    """A read-only view of the store at `url`: stdlib sqlite3 when it can, the Store otherwise."""
    path = sqlite_path(url)
    if path is not None and path.is_file():
        reader = QuickReader.open(path)
        if reader is not None:
            return reader
    from agent.store.facade import Store

    store: Store = Store(url)
    return store


def sqlite_path(url: str) -> Path | None:
    """The file of a plain SQLite URL (or bare path); None for anything else."""
    if "://" not in url:
        return Path(url).expanduser()
    scheme, _, rest = url.partition(":///")
    if scheme not in ("sqlite", "sqlite+pysqlite") or not rest or "?" in rest:
        return None
    if rest == ":memory:" or rest.startswith("file:"):
        return None
    return Path(rest).expanduser()


class CandidateCount:
    """The counts of relevant papers with one rule for the Store and the QuickReader: SQL with
    :named parameters, which sqlite3 takes as it is and the Store through SQLAlchemy's `text()`
    (on SQLite or PostgreSQL). Each runs it with its own `_table`.

    "Relevant" is the `relevant` column `save_matches` keeps by `agent.rank.worth.is_relevant`.
    A count of relevant scores names its tracks (`track_id IN (...)`): then it walks the
    `(track_id, relevant, ...)` index over the relevant scores only, never every score. Each
    joins its paper's dates from the covering index `ix_papers_id_dates` (m008); SQLite is told
    to (`DATED_PAPERS`), as it takes the primary key's index for `p.id = ?`, then the paper's
    whole row from the table: three times the work at 500k papers."""

    def _table(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    _dates_from: str | None = None

    def _dated_papers(self) -> str:
        """The papers table as the relevant counts join it (alias `p`) for its dates, on SQLite:
        through the covering index when the file has it (the quick reader may read a file an
        older release migrated; then the same rows the slow way). The Store on PostgreSQL
        says plain `papers p`: its planner weighs the index itself."""
        if self._dates_from is None:
            sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = :name"
            found = self._count(sql, {"name": DATES_INDEX})
            self._dates_from = DATED_PAPERS if found else "papers p"
        return self._dates_from

    def kept_unread(self, bar: int) -> list[str]:
        """Unread papers (status "ranked") the judge scored `bar` or more: those waiting for a
        summary on its verdict, an index range however many papers it has read."""
        sql = (f"SELECT id FROM {self._verdict_papers()} WHERE verdict >= :bar "
               "AND status = :status ORDER BY id")
        return [str(row[0]) for row in self._table(sql, {"bar": bar, "status": "ranked"})]

    def _verdict_papers(self) -> str:
        """The papers table as the verdict counts read it: on SQLite through `ix_papers_verdict`
        (m009), which it would pass over for the status index and then read every unread
        paper's row (seconds at 500k papers); PostgreSQL's planner weighs the index itself."""
        return "papers INDEXED BY ix_papers_verdict"

    def _count(self, sql: str, params: dict[str, Any]) -> int:
        return int(self._table(sql, params)[0][0])

    def scored_tracks(self) -> list[str]:
        """Every track id the scores name: one index seek per track (a loose index scan), not
        a read of every score."""
        sql = (
            "WITH RECURSIVE t(id) AS (SELECT MIN(track_id) FROM scores UNION ALL "
            "SELECT (SELECT MIN(track_id) FROM scores WHERE track_id > t.id) FROM t "
            "WHERE t.id IS NOT NULL) SELECT id FROM t WHERE id IS NOT NULL"
        )
        return [str(row[0]) for row in self._table(sql, {})]

    def relevant_per_track(self) -> dict[str, tuple[int, int | None]]:
        """Track id -> (papers relevant to it, the newest cycle that first saw one of them)."""
        named, where = relevant_on(self.scored_tracks())
        sql = (
            "SELECT s.track_id, COUNT(*), MAX(p.first_seen_cycle) FROM scores s "
            f"JOIN {self._dated_papers()} ON p.id = s.paper_id WHERE {where} GROUP BY s.track_id"
        )
        return {track: (int(count), cycle) for track, count, cycle in self._table(sql, named)}

    def new_per_cycle(self, cycles: Sequence[int]) -> dict[int, tuple[int, dict[str, int]]]:
        """Cycle -> (papers it stored first, track id -> how many of those the store now holds
        relevant to the track), for each of `cycles`; two grouped counts, no paper read."""
        found: dict[int, tuple[int, dict[str, int]]] = {n: (0, {}) for n in cycles}
        if not found:
            return found
        span = {"low": min(found), "high": max(found)}
        new = (
            "SELECT first_seen_cycle, COUNT(*) FROM papers "
            "WHERE first_seen_cycle BETWEEN :low AND :high GROUP BY first_seen_cycle"
        )
        for cycle, count in self._table(new, span):
            if cycle in found:
                found[cycle] = (int(count), found[cycle][1])
        named, where = relevant_on(self.scored_tracks())
        relevant = (
            "SELECT p.first_seen_cycle, s.track_id, COUNT(*) FROM scores s "
            f"JOIN {self._dated_papers()} ON p.id = s.paper_id WHERE {where} "
            "AND +p.first_seen_cycle BETWEEN :low AND :high "  # `+`: walk the relevant scores
            "GROUP BY p.first_seen_cycle, s.track_id ORDER BY p.first_seen_cycle, s.track_id"
        )
        for cycle, track, count in self._table(relevant, named | span):
            if cycle in found:
                found[cycle][1][track] = int(count)
        return found

    def arrivals(self) -> tuple[list[tuple[str, str, datetime]], datetime | None]:
        """(paper id, track id, first-version date) of every relevant match, and the oldest
        paper's date (how far back the store reaches), for field velocity."""
        named, where = relevant_on(self.scored_tracks())
        sql = (
            "SELECT s.paper_id, s.track_id, p.published FROM scores s "
            f"JOIN {self._dated_papers()} ON p.id = s.paper_id "
            f"WHERE {where} AND p.published IS NOT NULL"
        )
        pairs = [(str(pid), str(track), when) for pid, track, value in self._table(sql, named)
                 if (when := moment(value)) is not None]
        oldest = moment(self._table("SELECT MIN(published) FROM papers", {})[0][0])
        return pairs, oldest

    def count_candidates(
        self,
        statuses: Sequence[str] = ("ranked",),
        relevant_only: bool = False,
        tracks: Sequence[str] | None = None,
    ) -> int:
        """How many papers `candidates()` would return without a limit (a COUNT, no rows);
        with `tracks`, only papers relevant to one of those tracks count as relevant."""
        check_statuses(statuses)
        params: dict[str, Any] = {f"status{i}": status for i, status in enumerate(statuses)}
        sql = f"SELECT COUNT(*) FROM papers WHERE status IN ({marks(params)})"
        if relevant_only and tracks is not None:
            # best_relevant is not NULL exactly when a paper has a relevant score (save_matches
            # keeps it): the status index then reads relevant papers only, not every paper
            named, where = relevant_on(tracks, alias="")
            sql += (" AND best_relevant IS NOT NULL"
                    f" AND id IN (SELECT paper_id FROM scores WHERE {where})")
            params |= named
        elif relevant_only:
            sql += " AND best_relevant IS NOT NULL"
        return self._count(sql, params)


    def count_by_verdict(
        self, bar: int, floor: float | None, judging: bool, tracks: Sequence[str] | None = None
    ) -> tuple[int, int, int]:
        """Unread papers (status "ranked"), counted on `tracks` (None: every scored track, from
        the papers' best scores alone: index ranges of `ix_papers_verdict`, m009).

        With `judging`: (never judged and scoring at least `floor` on a track, or with `floor`
        None relevant to one; judged `bar` or more and scored on a track, 0). Without: (relevant
        to a track, 0, judged below `bar` and relevant to a track).
        """
        named: dict[str, Any] = {"status": "ranked", "bar": bar, "floor": floor, "no": False,
                                 "relevant": True}
        relevant = "relevant = :relevant"
        listed = {f"track{i}": track for i, track in enumerate(tracks or ())}
        named |= listed

        def on_tracks(condition: str) -> str:
            """The restriction to `tracks`, when there is one, through their scores."""
            if tracks is None:
                return ""
            where = " AND ".join(c for c in (f"track_id IN ({marks(listed)})", condition) if c)
            return f" AND id IN (SELECT paper_id FROM scores WHERE {where})"

        papers = self._verdict_papers()
        if judging:
            best, at = ("best_relevant IS NOT NULL", relevant) if floor is None else (
                "best_score >= :floor", "relevant IN (:no, :relevant) AND score >= :floor")
            sqls = (f"SELECT COUNT(*) FROM {papers} WHERE status = :status AND verdict IS NULL "
                    f"AND {best}{on_tracks(at)}",
                    f"SELECT COUNT(*) FROM {papers} WHERE status = :status "
                    f"AND verdict >= :bar{on_tracks('')}")
        else:
            sqls = ("SELECT COUNT(*) FROM papers WHERE status = :status "
                    f"AND best_relevant IS NOT NULL{on_tracks(relevant)}",
                    f"SELECT COUNT(*) FROM {papers} WHERE status = :status AND verdict < :bar "
                    f"AND best_relevant IS NOT NULL{on_tracks(relevant)}")
        first, second = (self._count(sql, {k: v for k, v in named.items() if f":{k}" in sql})
                         for sql in sqls)
        return (first, second, 0) if judging else (first, 0, second)


def relevant_on(tracks: Sequence[str], alias: str = "s.") -> tuple[dict[str, Any], str]:
    """The parameters and condition of the scores relevant to one of `tracks`."""
    named: dict[str, Any] = {f"track{i}": track for i, track in enumerate(tracks)}
    where = f"{alias}track_id IN ({marks(named)}) AND {alias}relevant = :relevant"
    return named | {"relevant": True}, where


class QuickReader(PaperReads, CandidateCount, Closing):
    """The `Reader` queries in plain SQL over a read-only sqlite3 connection."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path

    @classmethod
    def open(cls, path: Path) -> QuickReader | None:
        """A reader of the file, or None when it is not a database migrated this far."""
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S
            )
        except sqlite3.Error:
            return None
        try:
            applied = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
        except sqlite3.Error:
            applied = set()
        if not set(NEEDED) <= applied:
            conn.close()
            return None
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        return cls(conn, path)

    def close(self) -> None:
        self._conn.close()

    def _all(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        try:
            return list(self._conn.execute(sql, params))
        except sqlite3.DatabaseError as e:
            # The Store's engine says this for SQLAlchemy; this path reads without it.
            from agent.store import engine

            reason = engine.damage_reason(e)
            if reason is None:
                raise
            raise DatabaseDamaged(engine.damaged_message(str(self._path), reason)) from None

    def recent_cycles(self, limit: int = 20) -> list[CycleRecord]:
        sql = f"SELECT {CYCLE_COLUMNS} FROM cycles ORDER BY number DESC LIMIT ?"
        return [cycle_record(row) for row in self._all(sql, [limit])]

    def get_cycle(self, number: int) -> CycleRecord | None:
        rows = self._all(f"SELECT {CYCLE_COLUMNS} FROM cycles WHERE number = ?", [number])
        return cycle_record(rows[0]) if rows else None

    def queue_list(self) -> list[QueueItem]:
        sql = (
            "SELECT q.paper_id, q.priority, q.reason, q.added_by, q.added, p.title FROM queue q "
            "LEFT OUTER JOIN papers p ON p.id = q.paper_id ORDER BY q.priority DESC, "
            "CASE WHEN q.added_by = 'user' THEN 0 ELSE 1 END, q.added, q.paper_id"
        )
        return [
            QueueItem(paper_id=pid, priority=priority, reason=reason, added_by=added_by,
                      added=from_text(added), title=title or "")
            for pid, priority, reason, added_by, added, title in self._all(sql)
        ]

    def count_papers(self, statuses: Sequence[str] | None = None) -> int:
        if statuses is None:
            return int(self._all("SELECT COUNT(*) FROM papers")[0][0])
        return self.count_candidates(statuses)

    def _table(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return self._all(sql, params)

    def tokens_since(self, since: datetime) -> tuple[int, int]:
        sql = (
            "SELECT COALESCE(SUM(tokens_in), 0), COALESCE(SUM(tokens_out), 0) FROM llm_calls "
            "WHERE started >= ?"
        )
        tokens_in, tokens_out = self._all(sql, [to_text(since)])[0]
        return int(tokens_in), int(tokens_out)

    def get_meta(self, key: str) -> str | None:
        rows = self._all("SELECT value FROM meta WHERE key = ?", [key])
        return str(rows[0][0]) if rows else None


def cycle_record(row: tuple[Any, ...]) -> CycleRecord:
    (number, action, reason, status, step, started, ended, note_path, commit_sha,
     tokens_in, tokens_out, error, result_json, pid) = row
    started_at = from_text(started)
    assert started_at is not None  # NOT NULL in the schema
    return CycleRecord(
        number=number, action=action, reason=reason, status=status, step=step,
        started=started_at, ended=from_text(ended), note_path=note_path,
        commit_sha=commit_sha, tokens_in=tokens_in, tokens_out=tokens_out, error=error,
        result_json=result_json, pid=pid,
    )
