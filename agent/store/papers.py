"""Papers, their per-track scores, and the analyst's outputs about them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from agent.models import Match, MemoryItem, Paper
from agent.store import reads
from agent.store.base import StoreBase, chunks
from agent.store.bulk import batches, upsert_statement
from agent.store.reads import PaperReads, paper_of
from agent.store.records import check_statuses
from agent.store.tables import ANALYSIS_KINDS, AnalysisRow, PaperRow, ScoreRow

log = logging.getLogger(__name__)

PAPERS: sa.Table = PaperRow.__table__  # type: ignore[attr-defined]
SCORES: sa.Table = ScoreRow.__table__  # type: ignore[attr-defined]
METADATA = ("version", "title", "authors", "abstract", "categories", "published", "updated",
            "comment")
# The columns `paper_of` maps, in its order (the SQL of agent/store/reads.py names the same)
PAPER_COLUMNS = tuple(PAPERS.c[name] for name in reads.PAPER_COLUMNS.split(", "))


def takeaway_of(kind: str, payload: dict[str, Any], abstract: str) -> str:
    """One line from an analysis: a summary's headline, a deep read's method, else the abstract.

    A deep read's method says what the paper did; its problem is often the field's open
    challenge, which reads as if it were the paper's own finding.
    """
    keys = ("method", "problem") if kind == "deep-read" else ("headline",)
    text = next((payload[k] for k in keys if payload.get(k)), "")
    if isinstance(text, str) and text.strip():
        return text.strip()
    first = abstract.strip().split(". ")[0]
    return first if first.endswith(".") else f"{first}." if first else ""


class PaperStore(PaperReads, StoreBase):
    """Queries over papers, scores and analyses; the plain reads (papers by id, their scores,
    analyses, ratings) are `PaperReads`, whose SQL the quick reader runs too."""

    def _table(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Rows of plain SQL (agent/store/reads.py, agent/store/quick.py) in the current
        transaction; objects added in it are flushed first, as an ORM query would."""
        with self._db_session() as session:
            session.flush()
            statement = sa.text(sql).bindparams(**params)
            return [tuple(row) for row in session.connection().execute(statement)]

    def upsert_papers(self, papers: Iterable[Paper], cycle: int | None = None) -> tuple[int, int]:
        """Store papers: (new, updated); a newer version replaces metadata, status is kept."""
        incoming: dict[str, Paper] = {}
        for paper in papers:  # met twice in one batch: the newest version, counted once
            kept = incoming.get(paper.id)
            if kept is None or paper.version > kept.version:
                incoming[paper.id] = paper
        if not incoming:
            return 0, 0
        now = self._now()
        with self._db_session(write=True) as session:
            conn = session.connection()
            known = self._versions(conn, list(incoming))
            new = sum(1 for pid in incoming if pid not in known)
            updated = sum(
                1 for pid, p in incoming.items() if pid in known and p.version > known[pid]
            )
            rows = [
                {**paper_values(p), "status": "new", "first_seen_cycle": cycle,
                 "first_seen_at": now, "best_score": -1.0, "best_relevant": None}
                for pid, p in incoming.items()
                if pid not in known or p.version > known[pid]
            ]
            statement = upsert_statement(
                self.dialect, PAPERS, ["id"], METADATA,
                only_if=lambda table, excluded: table.c.version < excluded.version,
            )
            for batch in batches(rows):
                conn.execute(statement, list(batch))
        log.debug("upserted papers: %d new, %d updated", new, updated)
        return new, updated

    def _versions(self, conn: sa.Connection, ids: Sequence[str]) -> dict[str, int]:
        versions: dict[str, int] = {}
        for chunk in chunks(sorted(set(ids))):
            query = sa.select(PAPERS.c.id, PAPERS.c.version).where(PAPERS.c.id.in_(chunk))
            versions.update({row.id: row.version for row in conn.execute(query)})
        return versions

    def set_status(self, paper_ids: Iterable[str], status: str) -> None:
        """Set the status of the known papers among `paper_ids`."""
        check_statuses([status])
        for chunk in chunks(sorted(set(paper_ids))):
            self._execute(
                sa.update(PaperRow).where(col(PaperRow.id).in_(chunk)).values(status=status)
            )

    def papers_with_status(self, statuses: Sequence[str], limit: int | None = None) -> list[Paper]:
        """Papers in any of `statuses`, most recently published first."""
        check_statuses(statuses)
        query = (
            sa.select(*PAPER_COLUMNS)
            .where(PAPERS.c.status.in_(statuses))
            .order_by(PAPERS.c.published.desc().nulls_last(), PAPERS.c.id)
            .limit(limit)
        )
        return [paper_of(row) for row in self._rows(query)]

    def count_papers(self, statuses: Sequence[str] | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(PAPERS)
        if statuses is not None:
            check_statuses(statuses)
            query = query.where(PAPERS.c.status.in_(statuses))
        return int(self._rows(query)[0][0])

    def _rows(self, query: sa.Executable) -> list[Any]:
        """Plain result rows of a Core query (no ORM objects)."""
        with self._db_session() as session:
            return list(session.connection().execute(query))

    def search_papers(self, text: str, limit: int = 20) -> list[Paper]:
        """Papers whose title or abstract contains every word of `text` (case-insensitive)."""
        query = sa.select(*PAPER_COLUMNS)
        for word in text.split():
            query = query.where(
                sa.or_(
                    PAPERS.c.title.icontains(word, autoescape=True),
                    PAPERS.c.abstract.icontains(word, autoescape=True),
                )
            )
        query = query.order_by(PAPERS.c.published.desc().nulls_last(), PAPERS.c.id)
        return [paper_of(row) for row in self._rows(query.limit(limit))]

    def first_seen_in(self, cycles: Sequence[int]) -> dict[int, list[str]]:
        """The papers each of `cycles` stored first (the papers new in that cycle), by cycle."""
        found: dict[int, list[str]] = {n: [] for n in cycles}
        numbers = sorted(found)
        with self._db_session() as session:
            for start in range(0, len(numbers), 500):
                chunk = numbers[start : start + 500]
                query = select(PaperRow.id, PaperRow.first_seen_cycle).where(
                    col(PaperRow.first_seen_cycle).in_(chunk)
                )
                for paper_id, cycle in session.exec(query):
                    found[int(cycle or 0)].append(paper_id)  # `in_(chunk)`: never None
        return found

    def save_matches(self, matches: Iterable[Match]) -> None:
        """Insert or replace the score of each (paper, track); the paper must be stored."""
        latest = {(m.paper_id, m.track_id): m for m in matches}  # met twice: the last one counts
        if not latest:
            return
        now = self._now()
        rows = [
            {"paper_id": m.paper_id, "track_id": m.track_id, "score": float(m.score),
             "relevant": bool(m.relevant), "terms": list(m.terms), "updated_at": now}
            for m in latest.values()
        ]
        statement = upsert_statement(
            self.dialect, SCORES, ["paper_id", "track_id"], ["score", "relevant", "terms",
                                                             "updated_at"]
        )
        with self._db_session(write=True) as session:
            conn = session.connection()
            for batch in batches(rows):
                conn.execute(statement, list(batch))
            for chunk in chunks(sorted({m.paper_id for m in latest.values()})):
                conn.execute(refresh_best(chunk))

    def save_analysis(
        self,
        paper_id: str,
        cycle: int,
        kind: str,
        payload: dict[str, Any],
        track_id: str | None = None,
    ) -> None:
        """Keep one analyst output (a summary, deep read or judgement) as JSON."""
        if kind not in ANALYSIS_KINDS:
            raise ValueError(f"unknown analysis kind {kind!r}; expected one of {ANALYSIS_KINDS}")
        row = AnalysisRow(
            paper_id=paper_id,
            cycle=cycle,
            kind=kind,
            track_id=track_id,
            payload=json.dumps(payload, ensure_ascii=False, default=str),
            created_at=self._now(),
        )
        verdict = payload.get("score") if kind == "judgement" else None
        with self._db_session(write=True) as session:
            session.add(row)
            if isinstance(verdict, int) and not isinstance(verdict, bool) and 0 <= verdict <= 10:
                # the paper's latest verdict, read by learn's pick, `status` and the policy
                session.connection().execute(
                    sa.update(PAPERS).where(PAPERS.c.id == paper_id).values(verdict=verdict)
                )

    def recall(self, limit: int = 50, exclude: Sequence[str] = ()) -> list[MemoryItem]:
        """Papers summarised or read in earlier cycles, newest first, with their relevant tracks."""
        query = (
            select(AnalysisRow, PaperRow)
            .join(PaperRow, col(PaperRow.id) == AnalysisRow.paper_id)
            .where(col(AnalysisRow.kind).in_(("summary", "deep-read")))
            .order_by(col(AnalysisRow.cycle).desc(), col(AnalysisRow.id).desc())
        )
        if exclude:
            query = query.where(col(AnalysisRow.paper_id).not_in(list(exclude)))
        latest: dict[str, tuple[AnalysisRow, PaperRow]] = {}
        with self._db_session() as session:
            for analysis, paper in session.exec(query):
                latest.setdefault(paper.id, (analysis, paper))
                if len(latest) >= limit:
                    break
            matches = self.matches_for(list(latest))
        return [memory_item(a, p, matches[p.id]) for a, p in latest.values()]


def paper_values(paper: Paper) -> dict[str, Any]:
    """A paper's arXiv metadata as column values."""
    return {
        "id": paper.id,
        "version": paper.version,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "published": paper.published,
        "updated": paper.updated,
        "comment": paper.comment,
    }


def refresh_best(paper_ids: Sequence[str]) -> sa.Update:
    """Recompute the papers' best score and best relevant score from their scores."""
    scores = SCORES.alias("s")
    own = scores.c.paper_id == PAPERS.c.id
    best = sa.select(sa.func.max(scores.c.score)).where(own).scalar_subquery()
    # one pass over the paper's own scores (a WHERE on `relevant` lures SQLite to its index)
    only_relevant = sa.case((scores.c.relevant.is_(True), scores.c.score))
    relevant = sa.select(sa.func.max(only_relevant)).where(own).scalar_subquery()
    return (
        sa.update(PAPERS)
        .where(PAPERS.c.id.in_(paper_ids))
        .values(best_score=sa.func.coalesce(best, -1.0), best_relevant=relevant)
    )


def memory_item(analysis: AnalysisRow, paper: PaperRow, matches: list[Match]) -> MemoryItem:
    relevant = [m for m in matches if m.relevant]
    return MemoryItem(
        paper_id=paper.id,
        title=paper.title,
        cycle=analysis.cycle,
        takeaway=takeaway_of(analysis.kind, json.loads(analysis.payload), paper.abstract),
        track_ids=tuple(m.track_id for m in relevant),
        score=matches[0].score if matches else 0.0,
    )
