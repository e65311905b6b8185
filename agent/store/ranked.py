"""Choosing among stored papers by their stored scores: candidates, counts, learn's pick.

Each paper carries its best score and best relevant score (kept by `save_matches`), indexed
with its status: these read an index or group only relevant scores, whatever the store's size.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from agent.models import Match, Paper
from agent.store.papers import (
    PAPER_COLUMNS,
    PAPERS,
    SCORES,
    PaperStore,
    check_statuses,
    paper_from_row,
)


class RankedStore(PaperStore):
    """Queries that rank or count stored papers by their stored scores."""

    def candidates(
        self,
        statuses: Sequence[str] = ("ranked",),
        relevant_only: bool = False,
        limit: int | None = None,
    ) -> list[tuple[Paper, list[Match]]]:
        """Papers in `statuses` with their matches, best score first; unscored papers last.

        With `relevant_only`, papers relevant to some track, by their best relevant score.
        """
        check_statuses(statuses)
        best = PAPERS.c.best_relevant if relevant_only else PAPERS.c.best_score
        query = sa.select(*PAPER_COLUMNS).where(PAPERS.c.status.in_(statuses))
        if relevant_only:
            query = query.where(best.is_not(None))
        query = query.order_by(best.desc(), PAPERS.c.id).limit(limit)
        papers = [paper_from_row(row) for row in self._rows(query)]
        matches = self.matches_for([p.id for p in papers])
        return [(paper, matches[paper.id]) for paper in papers]

    def best_relevant(
        self,
        priorities: dict[str, int],
        exclude: Sequence[str] = (),
        limit: int = 5,
        statuses: Sequence[str] = ("ranked",),
    ) -> list[tuple[Paper, list[Match]]]:
        """Papers relevant to one of the tracks in `priorities`, by best score x priority.

        Each comes with its relevant matches on those tracks, best score x priority first;
        ties go to the lower id. The stored scores decide: nothing is ranked again.
        """
        check_statuses(statuses)
        if not priorities:
            return []
        weight = sa.case(
            *((SCORES.c.track_id == track, float(p)) for track, p in priorities.items()),
            else_=0.0,
        )
        value = sa.func.max(SCORES.c.score * weight).label("value")
        query = (
            sa.select(SCORES.c.paper_id, value)
            .join(PAPERS, PAPERS.c.id == SCORES.c.paper_id)
            .where(PAPERS.c.status.in_(statuses), PAPERS.c.best_relevant.is_not(None))
            .where(SCORES.c.relevant.is_(True), SCORES.c.track_id.in_(list(priorities)))
            .group_by(SCORES.c.paper_id)
            .order_by(value.desc(), SCORES.c.paper_id)
            .limit(limit + len(exclude))
        )
        skip = set(exclude)
        ids = [row.paper_id for row in self._rows(query) if row.paper_id not in skip][:limit]
        papers = self._paper_rows(ids)
        matches = self.matches_for(ids)

        def usable(paper_id: str) -> list[Match]:
            kept = [m for m in matches[paper_id] if m.relevant and m.track_id in priorities]
            return sorted(kept, key=lambda m: -m.score * priorities[m.track_id])

        return [(papers[pid], usable(pid)) for pid in ids]

    def count_candidates(
        self, statuses: Sequence[str] = ("ranked",), relevant_only: bool = False
    ) -> int:
        """How many papers `candidates()` would return without a limit (a COUNT, no rows)."""
        check_statuses(statuses)
        query = sa.select(sa.func.count()).select_from(PAPERS).where(PAPERS.c.status.in_(statuses))
        if relevant_only:
            query = query.where(PAPERS.c.best_relevant.is_not(None))
        return int(self._rows(query)[0][0])

    def relevant_per_track(self) -> dict[str, tuple[int, int | None]]:
        """Track id -> (papers relevant to it, the newest cycle that first saw one of them)."""
        query = (
            sa.select(SCORES.c.track_id, sa.func.count(), sa.func.max(PAPERS.c.first_seen_cycle))
            .join(PAPERS, PAPERS.c.id == SCORES.c.paper_id)
            .where(SCORES.c.relevant.is_(True))
            .group_by(SCORES.c.track_id)
        )
        return {row[0]: (int(row[1]), row[2]) for row in self._rows(query)}
