"""Papers, their per-track scores, and the analyst's outputs about them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agent.models import Match, MemoryItem, Paper
from agent.store.base import StoreBase, chunks
from agent.store.tables import ANALYSIS_KINDS, PAPER_STATUSES, AnalysisRow, PaperRow, ScoreRow

log = logging.getLogger(__name__)


def paper_from_row(row: PaperRow) -> Paper:
    return Paper(
        id=row.id,
        title=row.title,
        abstract=row.abstract,
        authors=tuple(row.authors or ()),
        categories=tuple(row.categories or ()),
        version=row.version,
        published=row.published,
        updated=row.updated,
        comment=row.comment,
    )


def copy_metadata(row: PaperRow, paper: Paper) -> None:
    """Overwrite a row's arXiv metadata with `paper`'s; status and first-seen stay."""
    row.version = paper.version
    row.title = paper.title
    row.abstract = paper.abstract
    row.authors = list(paper.authors)
    row.categories = list(paper.categories)
    row.published = paper.published
    row.updated = paper.updated
    row.comment = paper.comment


def match_from_row(row: ScoreRow) -> Match:
    return Match(
        paper_id=row.paper_id,
        track_id=row.track_id,
        score=row.score,
        relevant=row.relevant,
        terms=tuple(row.terms or ()),
    )


def check_statuses(statuses: Iterable[str]) -> None:
    unknown = sorted(set(statuses) - set(PAPER_STATUSES))
    if unknown:
        raise ValueError(f"unknown paper status {unknown}; expected one of {PAPER_STATUSES}")


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


class PaperStore(StoreBase):
    """Queries over papers, scores and analyses."""

    def upsert_papers(self, papers: Iterable[Paper], cycle: int | None = None) -> tuple[int, int]:
        """Store papers: (new, updated); a newer version replaces metadata, status is kept."""
        incoming = list(papers)
        new = updated = 0
        with self._session(write=True) as session:
            rows = self._paper_rows(session, [p.id for p in incoming])
            for paper in incoming:
                row = rows.get(paper.id)
                if row is None:
                    row = PaperRow(id=paper.id, title="", abstract="", first_seen_at=self._now())
                    row.first_seen_cycle = cycle
                    copy_metadata(row, paper)
                    session.add(row)
                    rows[paper.id] = row
                    new += 1
                elif paper.version > row.version:
                    copy_metadata(row, paper)
                    if row not in session.new:  # met twice in one batch: still just new
                        updated += 1
        log.debug("upserted papers: %d new, %d updated", new, updated)
        return new, updated

    def _paper_rows(self, session: Session, ids: Sequence[str]) -> dict[str, PaperRow]:
        rows: dict[str, PaperRow] = {}
        for chunk in chunks(sorted(set(ids))):
            for row in session.exec(select(PaperRow).where(col(PaperRow.id).in_(chunk))):
                rows[row.id] = row
        return rows

    def get_paper(self, paper_id: str) -> Paper | None:
        with self._session() as session:
            row = session.get(PaperRow, paper_id)
            return paper_from_row(row) if row else None

    def get_papers(self, ids: Sequence[str]) -> dict[str, Paper]:
        """The known papers among `ids`, by id."""
        with self._session() as session:
            rows = self._paper_rows(session, ids)
            return {paper_id: paper_from_row(row) for paper_id, row in rows.items()}

    def paper_status(self, paper_id: str) -> str | None:
        with self._session() as session:
            return session.exec(select(PaperRow.status).where(PaperRow.id == paper_id)).first()

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
            select(PaperRow)
            .where(col(PaperRow.status).in_(statuses))
            .order_by(col(PaperRow.published).desc().nulls_last(), col(PaperRow.id))
            .limit(limit)
        )
        with self._session() as session:
            return [paper_from_row(row) for row in session.exec(query)]

    def count_papers(self, statuses: Sequence[str] | None = None) -> int:
        query = select(sa.func.count()).select_from(PaperRow)
        if statuses is not None:
            check_statuses(statuses)
            query = query.where(col(PaperRow.status).in_(statuses))
        with self._session() as session:
            return session.exec(query).one()

    def search_papers(self, text: str, limit: int = 20) -> list[Paper]:
        """Papers whose title or abstract contains every word of `text` (case-insensitive)."""
        query = select(PaperRow)
        for word in text.split():
            query = query.where(
                sa.or_(
                    col(PaperRow.title).icontains(word, autoescape=True),
                    col(PaperRow.abstract).icontains(word, autoescape=True),
                )
            )
        query = query.order_by(col(PaperRow.published).desc().nulls_last(), col(PaperRow.id))
        with self._session() as session:
            return [paper_from_row(row) for row in session.exec(query.limit(limit))]

    def first_seen_cycle(self, paper_id: str) -> int | None:
        with self._session() as session:
            query = select(PaperRow.first_seen_cycle).where(PaperRow.id == paper_id)
            return session.exec(query).first()

    def first_seen_in(self, cycles: Sequence[int]) -> dict[int, list[str]]:
        """The papers each of `cycles` stored first (the papers new in that cycle), by cycle."""
        found: dict[int, list[str]] = {n: [] for n in cycles}
        numbers = sorted(found)
        with self._session() as session:
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
        incoming = list(matches)
        with self._session(write=True) as session:
            rows = self._score_rows(session, [m.paper_id for m in incoming])
            for match in incoming:
                key = (match.paper_id, match.track_id)
                row = rows.get(key)
                if row is None:
                    row = ScoreRow(
                        paper_id=match.paper_id,
                        track_id=match.track_id,
                        score=0.0,
                        updated_at=self._now(),
                    )
                    session.add(row)
                    rows[key] = row
                row.score = float(match.score)
                row.relevant = bool(match.relevant)
                row.terms = list(match.terms)
                row.updated_at = self._now()

    def _score_rows(self, session: Session, ids: Sequence[str]) -> dict[tuple[str, str], ScoreRow]:
        rows: dict[tuple[str, str], ScoreRow] = {}
        for chunk in chunks(sorted(set(ids))):
            for row in session.exec(select(ScoreRow).where(col(ScoreRow.paper_id).in_(chunk))):
                rows[(row.paper_id, row.track_id)] = row
        return rows

    def matches_for(self, paper_ids: Sequence[str]) -> dict[str, list[Match]]:
        """Every requested id with its matches, best score first (empty if never scored)."""
        found: dict[str, list[Match]] = {paper_id: [] for paper_id in paper_ids}
        with self._session() as session:
            rows = self._score_rows(session, paper_ids)
        ordered = sorted(rows.values(), key=lambda r: (-r.score, r.track_id))
        for row in ordered:
            found[row.paper_id].append(match_from_row(row))
        return found

    def candidates(
        self,
        statuses: Sequence[str] = ("ranked",),
        relevant_only: bool = False,
        limit: int | None = None,
    ) -> list[tuple[Paper, list[Match]]]:
        """Papers in `statuses` with their matches, best score first; unscored papers last."""
        check_statuses(statuses)
        best = select(ScoreRow.paper_id, sa.func.max(ScoreRow.score).label("best")).group_by(
            col(ScoreRow.paper_id)
        )
        if relevant_only:
            best = best.where(col(ScoreRow.relevant).is_(True))
        scored = best.subquery()
        query = (
            select(PaperRow)
            .join(scored, scored.c.paper_id == PaperRow.id, isouter=not relevant_only)
            .where(col(PaperRow.status).in_(statuses))
            .order_by(sa.func.coalesce(scored.c.best, -1.0).desc(), col(PaperRow.id))
            .limit(limit)
        )
        with self._session() as session:
            papers = [paper_from_row(row) for row in session.exec(query)]
            matches = self.matches_for([p.id for p in papers])
        return [(paper, matches[paper.id]) for paper in papers]

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
        with self._session(write=True) as session:
            session.add(row)

    def analyses_for(self, paper_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """A paper's analyses, oldest first: {"cycle", "kind", "track_id", "payload", "created"}."""
        query = select(AnalysisRow).where(AnalysisRow.paper_id == paper_id)
        if kind is not None:
            query = query.where(AnalysisRow.kind == kind)
        with self._session() as session:
            rows = list(session.exec(query.order_by(col(AnalysisRow.id))))
        return [
            {
                "cycle": row.cycle,
                "kind": row.kind,
                "track_id": row.track_id,
                "payload": json.loads(row.payload),
                "created": row.created_at,
            }
            for row in rows
        ]

    def judgement_scores(self) -> dict[str, int]:
        """Each judged paper's latest LLM judgement score (0-10)."""
        query = select(AnalysisRow.paper_id, AnalysisRow.payload).where(
            AnalysisRow.kind == "judgement"
        )
        with self._session() as session:
            rows = list(session.exec(query.order_by(col(AnalysisRow.id))))
        scores: dict[str, int] = {}
        for paper_id, payload in rows:  # oldest first: a later verdict replaces an earlier one
            score = json.loads(payload).get("score")
            if isinstance(score, int):
                scores[paper_id] = score
        return scores

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
        with self._session() as session:
            for analysis, paper in session.exec(query):
                latest.setdefault(paper.id, (analysis, paper))
                if len(latest) >= limit:
                    break
            matches = self.matches_for(list(latest))
        return [memory_item(a, p, matches[p.id]) for a, p in latest.values()]


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
