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
)
from agent.store.quick import CandidateCount
from agent.store.reads import paper_of
from agent.store.records import check_statuses


class RankedStore(PaperStore, CandidateCount):
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
        papers = [paper_of(row) for row in self._rows(query)]
        matches = self.matches_for([p.id for p in papers])
        return [(paper, matches[paper.id]) for paper in papers]

    def best_relevant(
        self,
        priorities: dict[str, int],
        exclude: Sequence[str] = (),
        limit: int = 5,
        statuses: Sequence[str] = ("ranked",),
        floor: float | None = None,
        unjudged_only: bool = False,
    ) -> list[tuple[Paper, list[Match]]]:
        """Papers relevant to one of the tracks in `priorities`, by best score x priority.

        Each comes with its relevant matches on those tracks, best score x priority first;
        ties go to the lower id. With `floor`, "relevant" is a score of at least `floor`
        instead of the ranker's flag (an LLM judge reads further down than the ranker's bar);
        with `unjudged_only`, papers with a judge's verdict are left out in the query.
        The stored scores decide: nothing is ranked again. Each of the best papers is among the
        best of the track that gives its value, so only the top of each track is read (an index
        walk), whatever the store's size.
        """
        check_statuses(statuses)
        if not priorities or limit <= 0:
            return []
        skip = set(exclude)
        pool: set[str] = set()
        for track in priorities:
            pool.update(
                self._top_on_track(track, statuses, limit + len(skip), floor, unjudged_only)
            )
        found: dict[str, list[Match]] = {}

        def counts(match: Match) -> bool:
            return match.relevant if floor is None else match.score >= floor

        for paper_id, matches in self.matches_for(sorted(pool - skip)).items():
            kept = [m for m in matches if counts(m) and m.track_id in priorities]
            if kept:
                found[paper_id] = sorted(kept, key=lambda m: -m.score * priorities[m.track_id])
        best = sorted(found, key=lambda pid: (-value_of(found[pid], priorities), pid))[:limit]
        papers = self.get_papers(best)
        return [(papers[pid], found[pid]) for pid in best]

    def _top_on_track(
        self, track: str, statuses: Sequence[str], count: int, floor: float | None = None,
        unjudged_only: bool = False,
    ) -> list[str]:
        """The `count` papers relevant to `track` (scoring at least `floor`, if given; never
        judged, with `unjudged_only`) with the best scores, and any tied with the last."""
        # both flags named, so that the (track, relevant, score) index is read in two ranges
        wanted = (
            SCORES.c.relevant.is_(True) if floor is None
            else sa.and_(SCORES.c.relevant.in_([False, True]), SCORES.c.score >= floor)
        )
        eligible = (
            sa.select(SCORES.c.paper_id)
            .join(PAPERS, PAPERS.c.id == SCORES.c.paper_id)
            .where(SCORES.c.track_id == track, wanted)
            .where(PAPERS.c.status.in_(statuses))
        )
        if unjudged_only:
            eligible = eligible.where(PAPERS.c.verdict.is_(None))
        top = eligible.add_columns(SCORES.c.score).order_by(SCORES.c.score.desc()).limit(count)
        rows = self._rows(top)
        ids = [row.paper_id for row in rows]
        if len(rows) == count:
            ids += [
                row.paper_id for row in self._rows(eligible.where(SCORES.c.score == rows[-1].score))
            ]
        return ids

    def _dated_papers(self) -> str:
        return super()._dated_papers() if self.dialect == "sqlite" else "papers p"

    def _verdict_papers(self) -> str:
        return super()._verdict_papers() if self.dialect == "sqlite" else "papers"


def value_of(matches: list[Match], priorities: dict[str, int]) -> float:
    """What learning a paper is worth: its best relevant score x that track's priority."""
    return max(m.score * priorities[m.track_id] for m in matches)
