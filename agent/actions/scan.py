"""Scan: fetch the complete new listing of the watched categories, store it all, rank it."""

from __future__ import annotations

from collections.abc import Sequence

from agent.actions.context import Context
from agent.models import Match, Paper, Track
from agent.results import CycleResult, PaperSection, ScanStats
from agent.sources import ScanRequest
from agent.text import plural


def scan(ctx: Context) -> CycleResult:
    """Fetch the complete new listing of the watched categories, store it all, rank it."""
    store = ctx.store
    since = store.get_cursor(ctx.source.name)
    ctx.step(f"asking {ctx.source.name} for new papers on {plural(len(ctx.tracks), 'track')}")
    def page(message: str) -> None:  # a long listing stops between pages on shutdown/deadline
        ctx.checkpoint()
        ctx.step(message)

    fetched = ctx.source.fetch_new(ScanRequest(ctx.tracks, since, ctx.now, progress=page))
    ctx.step(f"ranking {plural(len(fetched.papers), 'paper')}")
    ctx.checkpoint()
    known = store.get_papers([p.id for p in fetched.papers])
    new = [p for p in fetched.papers if p.id not in known]
    updated = [p for p in fetched.papers if p.id in known and p.version > known[p.id].version]
    ranking = ctx.ranker().rank(new + updated)
    result = CycleResult(action="scan", summary_line=plural(len(new), "new paper"))
    result.scan = ScanStats(
        source=ctx.source.name,
        queries=fetched.queries,
        fetched=len(fetched.papers),
        new=len(new),
        updated=len(updated),
        since=fetched.since or since,
        cursor=fetched.cursor,
        categories=list(fetched.categories),
        listed=count_by_category(fetched.papers, fetched.categories),
        new_by_category=count_by_category(new, fetched.categories),
        keyword_tracks=list(fetched.keyword_tracks),
        requests=fetched.requests,
    )
    result.notices.extend(fetched.notices)
    result.new_papers = new + updated
    result.matches = [m for matches in ranking.values() for m in matches]
    result.best_per_track = best_per_track(ranking, {p.id: p for p in new + updated})
    result.cursor = fetched.cursor
    floor = ctx.settings.learn.judge_floor if ctx.analyst.judges_first else None
    result.next_steps = scan_next_steps(result, ctx.tracks, floor)
    result.tags = ["arxiv-scan", *[t.id for t in ctx.tracks if result.best_per_track.get(t.id)]]
    return result


def count_by_category(papers: Sequence[Paper], categories: Sequence[str]) -> dict[str, int]:
    """How many of the papers are listed in each category (a cross-list counts in each)."""
    counts = dict.fromkeys(categories, 0)
    for paper in papers:
        for category in set(paper.categories) & counts.keys():
            counts[category] += 1
    return counts


def best_per_track(
    ranking: dict[str, list[Match]], papers: dict[str, Paper], top: int = 5
) -> dict[str, list[PaperSection]]:
    """The best relevant papers of each track (the top few if none reaches the bar)."""
    best: dict[str, list[PaperSection]] = {}
    for track_id, matches in ranking.items():
        chosen = [m for m in matches if m.relevant][:top]
        best[track_id] = [PaperSection(paper=papers[m.paper_id], matches=[m]) for m in chosen]
    return best


def scan_next_steps(
    result: CycleResult, tracks: Sequence[Track], floor: float | None = None
) -> list[str]:
    """What a scan suggests next. With `floor` (an LLM judge's `[learn] judge_floor`), the next
    learn's judge reads the papers scoring at least it, not only the relevant ones."""
    waiting = len({m.paper_id for m in result.matches if m.relevant})  # not only those shown
    names = [t.name for t in tracks if result.best_per_track.get(t.id)]
    above = len({m.paper_id for m in result.matches if floor is not None and m.score >= floor})
    if above:
        among = (f"{waiting} of them relevant: {', '.join(names)}" if waiting
                 else "none at a track's relevance bar")
        if above == 1:
            return [f"Learn: the LLM judge reads the 1 paper scoring {floor:g} or more on a track "
                    f"({among}); it is summarised if the judge keeps it."]
        return [f"Learn: the LLM judge reads the best of the {plural(above, 'paper')} scoring "
                f"{floor:g} or more on a track ({among}); the best it keeps are summarised."]
    if not waiting:
        return [
            "Nothing new cleared a track's relevance bar; the next scan looks again once "
            "there are new listings."
        ]
    return [
        f"Learn: summarise the best of the {plural(waiting, 'relevant paper')} "
        f"({', '.join(names)})."
    ]
