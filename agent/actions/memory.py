"""Earlier papers from the store related to this cycle's papers (learn and deep-read use it)."""

from __future__ import annotations

from collections.abc import Sequence

from agent.actions.context import Context
from agent.models import Match, MemoryItem, Paper
from agent.rank import Ranker

RELATED_MIN = 0.15  # similarity below which an earlier paper is not worth mentioning


def recall_related(
    ctx: Context,
    ranker: Ranker,
    papers: Sequence[Paper],
    own: dict[str, list[Match]] | None = None,  # this cycle's matches (discovered: not stored)
) -> dict[str, list[MemoryItem]]:
    """Earlier papers (from the store) related to each of this cycle's papers: similar text, or
    else the same track matched on the same keywords (what the offline reader can vouch for)."""
    exclude = [p.id for p in papers]
    memory = ctx.store.recall(limit=200, exclude=exclude)
    if not memory:
        return {}
    items = {m.paper_id: m for m in memory}
    pool = list(ctx.store.get_papers(list(items)).values())
    matches = {**ctx.store.matches_for([*items, *exclude]), **(own or {})}
    related: dict[str, list[MemoryItem]] = {}
    for paper in papers:
        hits = ranker.related(paper, pool, k=3)
        similar = [items[pid] for pid, sim in hits if sim >= RELATED_MIN]
        sharing = sharing_keywords(matches[paper.id], matches, memory, skip=similar)
        related[paper.id] = (similar + sharing)[:3]
    return related


def sharing_keywords(
    own: Sequence[Match],
    matches: dict[str, list[Match]],
    memory: Sequence[MemoryItem],
    skip: Sequence[MemoryItem] = (),
) -> list[MemoryItem]:
    """Earlier papers relevant to a track this paper is relevant to, on a keyword it matched
    too; most keywords shared first, then the most recent cycle."""
    mine = {(m.track_id, term) for m in own if m.relevant for term in m.terms}
    taken = {m.paper_id for m in skip}
    scored = []
    for item in memory:
        theirs = {(m.track_id, t) for m in matches.get(item.paper_id, []) if m.relevant
                  for t in m.terms}  # fmt: skip
        if item.paper_id not in taken and mine & theirs:
            scored.append((-len(mine & theirs), -(item.cycle or 0), item.paper_id, item))
    return [entry[-1] for entry in sorted(scored, key=lambda e: e[:3])]
