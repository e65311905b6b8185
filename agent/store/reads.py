"""Reads of papers, their scores, analyses and ratings: one SQL and one row mapping for the Store
and the quick reader (no SQLAlchemy here).

Like `CandidateCount` (agent/store/quick.py), `PaperReads` writes plain SQL with :named
parameters; each reader runs it with its own `_table`: the quick reader through the standard
library's `sqlite3`, the Store through SQLAlchemy's `text()` (SQLite or PostgreSQL). Raw rows
differ by driver (SQLite gives JSON and datetimes as text, PostgreSQL as lists and datetimes), so
the mapping below takes either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from agent.models import Match, Paper, Rating
from agent.store.records import PAPER_STATUSES

CHUNK = 500  # ids per IN list (SQLite limits the parameters of one statement)
PAPER_COLUMNS = "id, version, title, authors, abstract, categories, published, updated, comment"
SCORE_COLUMNS = "paper_id, track_id, score, relevant, terms"


def to_text(moment: datetime) -> str:
    """A datetime as the store keeps it in SQLite (UTC, no offset; SQLAlchemy's format)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f")


def from_text(value: str | None) -> datetime | None:
    """A datetime as SQLite keeps it (text, UTC without an offset), aware UTC."""
    if not value:
        return None
    try:  # five times faster than .replace(tzinfo=UTC): `tracks` parses 24k dates a year
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:  # text with an offset of its own
        return moment(datetime.fromisoformat(value))


def moment(value: str | datetime | None) -> datetime | None:
    """A datetime column as a raw query returns it: text from SQLite, a datetime from
    PostgreSQL; aware UTC either way."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return from_text(value)


def json_list(value: str | list[Any] | None) -> list[Any]:
    """A JSON list column as a raw query returns it: text on SQLite (NULL or 'null': []), already
    a list on PostgreSQL."""
    if isinstance(value, list):
        return value
    return (json.loads(value) if value else None) or []


def marks(params: dict[str, Any]) -> str:
    """The placeholders of `params` for an IN list: ":a, :b"; NULL for none (matches nothing,
    where PostgreSQL refuses an empty list)."""
    return ", ".join(f":{name}" for name in params) or "NULL"


def paper_of(row: Sequence[Any]) -> Paper:
    """A Paper from a row of PAPER_COLUMNS, in that order."""
    pid, version, title, authors, abstract, categories, published, updated, comment = row
    return Paper(id=pid, title=title, abstract=abstract, authors=tuple(json_list(authors)),
                 categories=tuple(json_list(categories)), version=version,
                 published=moment(published), updated=moment(updated), comment=comment)


def match_of(row: Sequence[Any]) -> Match:
    """A Match from a row of SCORE_COLUMNS, in that order."""
    paper_id, track_id, score, relevant, terms = row
    return Match(paper_id=paper_id, track_id=track_id, score=score, relevant=bool(relevant),
                 terms=tuple(json_list(terms)))


def in_force(rows: Sequence[Sequence[Any]]) -> list[Rating]:
    """The verdicts in force among rating rows (paper id, track id, value) in the order they
    were given: the latest per (paper, track scope), none cleared (value 0), oldest first."""
    latest: dict[tuple[str, str | None], int] = {}
    for paper_id, track_id, value in rows:
        latest.pop((paper_id, track_id), None)  # re-insert: keep the latest's order
        latest[(paper_id, track_id)] = value
    return [Rating(paper_id=paper_id, value=value, track_id=track_id)
            for (paper_id, track_id), value in latest.items() if value != 0]


class PaperReads:
    """Papers, scores, analyses and ratings by plain SQL; `_table` runs it (see the module)."""

    def _table(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _by_ids(
        self, sql: str, ids: Sequence[str], params: dict[str, Any] | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """Rows of `sql` (its IN list written `{ids}`, other parameters `params`) for the
        distinct `ids`, in chunks."""
        unique = sorted(set(ids))
        for start in range(0, len(unique), CHUNK):
            named = {f"id{i}": pid for i, pid in enumerate(unique[start : start + CHUNK])}
            yield from self._table(sql.format(ids=marks(named)), named | (params or {}))

    def get_papers(self, ids: Sequence[str]) -> dict[str, Paper]:
        """The known papers among `ids`, by id."""
        sql = f"SELECT {PAPER_COLUMNS} FROM papers WHERE id IN ({{ids}})"
        return {str(row[0]): paper_of(row) for row in self._by_ids(sql, ids)}

    def get_paper(self, paper_id: str) -> Paper | None:
        return self.get_papers([paper_id]).get(paper_id)

    def paper_statuses(self, ids: Sequence[str]) -> dict[str, str]:
        """The status of each known paper among `ids`."""
        sql = "SELECT id, status FROM papers WHERE id IN ({ids})"
        return {str(pid): str(status) for pid, status in self._by_ids(sql, ids)}

    def paper_status(self, paper_id: str) -> str | None:
        return self.paper_statuses([paper_id]).get(paper_id)

    def first_seen_cycle(self, paper_id: str) -> int | None:
        rows = self._table("SELECT first_seen_cycle FROM papers WHERE id = :id", {"id": paper_id})
        return rows[0][0] if rows else None

    def matches_for(self, paper_ids: Sequence[str]) -> dict[str, list[Match]]:
        """Every requested id with its matches, best score first (empty if never scored)."""
        sql = f"SELECT {SCORE_COLUMNS} FROM scores WHERE paper_id IN ({{ids}})"
        rows = sorted(self._by_ids(sql, paper_ids), key=lambda r: (-r[2], r[1]))
        found: dict[str, list[Match]] = {paper_id: [] for paper_id in paper_ids}
        for row in rows:
            found[row[0]].append(match_of(row))
        return found

    def analyses_for(self, paper_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """A paper's analyses, oldest first: {"cycle", "kind", "track_id", "payload", "created"}."""
        sql = "SELECT cycle, kind, track_id, payload, created_at FROM analyses WHERE paper_id = :id"
        params: dict[str, Any] = {"id": paper_id}
        if kind is not None:
            sql, params = sql + " AND kind = :kind", params | {"kind": kind}
        rows = self._table(sql + " ORDER BY id", params)
        return [{"cycle": cycle, "kind": what, "track_id": track, "payload": json.loads(payload),
                 "created": moment(created)} for cycle, what, track, payload, created in rows]

    def judgement_scores(self) -> dict[str, int]:
        """Each judged paper's latest LLM judgement score (0-10): the `verdict` save_analysis
        keeps on the paper (m009), read from its index, not from every judgement's JSON."""
        statuses = {f"status{i}": status for i, status in enumerate(PAPER_STATUSES)}
        # one range of ix_papers_verdict (status, verdict, ...) per status
        sql = f"SELECT id, verdict FROM papers WHERE status IN ({marks(statuses)}) " \
            "AND verdict >= 0"
        return {str(pid): int(verdict) for pid, verdict in self._table(sql, statuses)}

    def verdicts_of(self, ids: Sequence[str]) -> dict[str, int]:
        """The latest LLM judge score of each judged paper among `ids`."""
        sql = "SELECT id, verdict FROM papers WHERE id IN ({ids}) AND verdict IS NOT NULL"
        return {str(pid): int(verdict) for pid, verdict in self._by_ids(sql, ids)}

    def unread_on_tracks(
        self, ids: Sequence[str], tracks: Sequence[str] | None
    ) -> dict[str, bool]:
        """The unread papers (status "ranked") among `ids` that have a score on one of `tracks`
        (None: any track), each with whether one of those scores is relevant."""
        named: dict[str, Any] = {f"track{i}": track for i, track in enumerate(tracks or ())}
        on = "" if tracks is None else f" AND s.track_id IN ({marks(named)})"
        sql = (
            "SELECT s.paper_id, MAX(CASE WHEN s.relevant = :relevant THEN 1 ELSE 0 END) "
            "FROM scores s JOIN papers p ON p.id = s.paper_id "
            f"WHERE s.paper_id IN ({{ids}}) AND p.status = :status{on} GROUP BY s.paper_id"
        )
        params = named | {"relevant": True, "status": "ranked"}
        return {str(pid): bool(relevant) for pid, relevant in self._by_ids(sql, ids, params)}

    def ratings(self, track_id: str | None = None) -> list[Rating]:
        """The verdicts in force, oldest first: the latest per (paper, track scope), none cleared.

        For a track: its own ratings plus the paper-wide ones (no track).
        """
        sql, params = "SELECT paper_id, track_id, value FROM ratings", {}
        if track_id is not None:
            sql, params = sql + " WHERE track_id = :track OR track_id IS NULL", {"track": track_id}
        return in_force(self._table(sql + " ORDER BY id", params))
