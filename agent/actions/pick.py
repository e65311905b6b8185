"""Which papers learn reads: stored scores while tracks and ratings are unchanged, a re-rank of
the waiting pool when they change, discovery of older work when nothing is waiting."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from agent import __version__
from agent.actions.context import Context
from agent.analyst import Candidate
from agent.changes import RANK_FINGERPRINT
from agent.models import Match, Paper, Track
from agent.rank import Ranker
from agent.rank.worth import worth
from agent.waiting import JUDGE_BAR, turned_down

logger = logging.getLogger(__name__)

CANDIDATE_POOL = 5000  # ranked-but-unread papers re-ranked when tracks or ratings change


@dataclass
class Pick:
    """What learn chose, and the scores it recomputed (only when tracks or ratings changed).

    `chosen` are the papers to read this cycle: with an analyst that judges first, the ones to
    judge (never judged before); else the ones to summarise. `waiting` (judging only) are papers
    an earlier cycle's judge put at or above the bar that were never summarised: they compete
    for this cycle's summaries on their stored judgement, and are not judged again.
    """

    chosen: list[Candidate]
    discovered: list[Paper] = field(default_factory=list)
    rescored: list[Match] = field(default_factory=list)
    fingerprint: str = ""  # set when rescored: the tracks and ratings the new scores reflect
    waiting: list[Candidate] = field(default_factory=list)
    verdicts: dict[str, int] = field(default_factory=dict)  # stored judge scores, by paper
    limit: int = 0  # most papers `chosen` may hold: `candidate_limit` given `waiting`
    turned_down: int = 0  # papers a judge turned down in earlier cycles: never chosen again


def pick_for_learning(ctx: Context, ranker: Ranker) -> tuple[list[Candidate], list[Paper]]:
    """The best unsummarised candidates by score × priority; discovery when none are waiting."""
    pick = choose_for_learning(ctx, ranker)
    return pick.chosen, pick.discovered


def candidate_floor(ctx: Context) -> float | None:
    """The score from which a paper is a candidate on a track: `[learn] judge_floor` for an
    analyst that judges first (the LLM decides what is worth reading), else None: the ranker's
    relevance threshold (each paper's `relevant` flag), as the summaries go out unjudged."""
    return ctx.settings.learn.judge_floor if ctx.analyst.judges_first else None


def candidate_limit(ctx: Context, waiting: int = 0) -> int:
    """New papers a cycle reads: for a judge, `[learn] judge_candidates` less the `waiting`
    papers it kept earlier, never fewer than `max_papers`; else `max_papers`, all summarised."""
    learn = ctx.settings.learn
    return learn.judged_per_cycle(waiting) if ctx.analyst.judges_first else learn.max_papers


def choose_for_learning(ctx: Context, ranker: Ranker) -> Pick:
    """Stored scores decide while tracks and ratings are unchanged; else the pool is re-ranked.

    A judge never reads a paper twice: every paper judged before is left out of `chosen`; those
    it put at or above the bar and that are still unread come back as `waiting`, and each of
    them takes the place of one new paper to judge (`candidate_limit`).
    """
    verdicts = ctx.store.judgement_scores()
    turned_down = rejected_before(ctx, verdicts)
    skip = set(verdicts) if ctx.analyst.judges_first else turned_down
    fingerprint = rank_fingerprint(ranker)
    if ctx.store.get_meta(RANK_FINGERPRINT) == fingerprint:
        pick = Pick(stored_pick(ctx, turned_down, unjudged_only=ctx.analyst.judges_first))
    else:
        ctx.step("tracks or ratings changed: ranking the waiting papers again")
        pick = rerank_pick(ctx, ranker, turned_down, skip)
        pick.fingerprint = fingerprint
    if ctx.analyst.judges_first:
        pick.verdicts = verdicts
        pick.waiting = judged_waiting(ctx, verdicts, turned_down, pick.rescored)
    pick.turned_down = len(turned_down)
    pick.limit = candidate_limit(ctx, len(pick.waiting))
    pick.chosen = pick.chosen[: pick.limit]  # best first: the backlog leaves room for fewer
    if pick.chosen or pick.waiting:
        return pick
    ctx.step("nothing new is waiting: searching older papers per track")
    pick.discovered = discover(ctx)
    pick.chosen = top_candidates(
        ranker.rank(pick.discovered), pick.discovered, ctx.tracks, candidate_limit(ctx),
        candidate_floor(ctx),
    )
    return pick


def stored_pick(
    ctx: Context, turned_down: set[str], unjudged_only: bool = False
) -> list[Candidate]:
    """The best waiting candidates (see `candidate_floor`) by their stored score × track
    priority (one query per track), leaving out `turned_down`, or with `unjudged_only` every
    paper the judge has read (the store's verdicts: however many, no longer list to skip)."""
    priorities = {t.id: t.priority for t in ctx.tracks if t.active}
    best = ctx.store.best_relevant(
        priorities, exclude=() if unjudged_only else sorted(turned_down),
        limit=candidate_limit(ctx), floor=candidate_floor(ctx), unjudged_only=unjudged_only,
    )
    return [Candidate(paper, matches) for paper, matches in best]


def rerank_pick(
    ctx: Context, ranker: Ranker, turned_down: set[str], skip: set[str] | None = None
) -> Pick:
    """Rank the best-scored waiting papers again with the current ranker, and choose from that,
    leaving out `skip` (default: `turned_down`, which is not even ranked again)."""
    pool = [p for p, _ in ctx.store.candidates(statuses=("ranked",), limit=CANDIDATE_POOL)]
    pool = [p for p in pool if p.id not in turned_down]
    ranking = ranker.rank(pool)
    left = set(turned_down if skip is None else skip)
    unjudged = {track: [m for m in matches if m.paper_id not in left]
                for track, matches in ranking.items()}
    chosen = top_candidates(unjudged, pool, ctx.tracks, candidate_limit(ctx), candidate_floor(ctx))
    return Pick(chosen, rescored=[m for matches in ranking.values() for m in matches])


def judged_waiting(
    ctx: Context, verdicts: dict[str, int], turned_down: set[str], rescored: Sequence[Match]
) -> list[Candidate]:
    """Unread papers judged at or above the bar (or rated up) in an earlier cycle that bear on
    an active track, with their matches there (this cycle's new scores, if any), best first.

    The judge's verdict stands when the ranker changes its mind: a rating or an edited track can
    drop a paper below the ranker's relevance bar, but the judge read it and kept it.
    """
    # rated up after a verdict below the bar: the researcher's word stands over the judge's
    rescued = sorted(pid for pid in rated_up(ctx) if verdicts.get(pid, JUDGE_BAR) < JUDGE_BAR)
    statuses = ctx.store.paper_statuses(rescued)
    kept = ctx.store.kept_unread(JUDGE_BAR)  # an index range: never every paper ever judged
    ids = sorted({*kept, *(pid for pid in rescued if statuses.get(pid) == "ranked")})
    if not ids:
        return []
    stored = ctx.store.matches_for(ids)
    fresh: dict[str, list[Match]] = {}
    for match in rescored:
        if match.paper_id in stored:
            fresh.setdefault(match.paper_id, []).append(match)
    priority = {t.id: t.priority for t in ctx.tracks}
    papers = ctx.store.get_papers(ids)
    waiting = []
    for pid in ids:
        matches = [m for m in fresh.get(pid, stored.get(pid, [])) if m.track_id in priority]
        if matches and pid in papers:
            matches.sort(key=lambda m: -worth(m.score, priority[m.track_id]))
            waiting.append(Candidate(papers[pid], matches))
    return waiting


def rank_fingerprint(ranker: Ranker) -> str:
    """A digest of what the stored scores depend on: the ranker's own fingerprint (tracks,
    ratings, constants, tokenizer, background, embedding model) and the release that made them."""
    text = json.dumps({"version": __version__, "ranker": ranker.fingerprint()})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def top_candidates(
    ranking: dict[str, list[Match]], papers: Sequence[Paper], tracks: Sequence[Track], limit: int,
    floor: float | None = None,
) -> list[Candidate]:
    """Relevant papers (with `floor`: scoring at least it) by best score × track priority."""
    priority = {t.id: t.priority for t in tracks}
    by_paper: dict[str, list[Match]] = {}
    for matches in ranking.values():
        for match in matches:
            if match.relevant if floor is None else match.score >= floor:
                by_paper.setdefault(match.paper_id, []).append(match)
    lookup = {p.id: p for p in papers}

    def value(match: Match) -> float:
        return worth(match.score, priority[match.track_id])

    ordered = sorted(by_paper, key=lambda pid: (-max(map(value, by_paper[pid])), pid))[:limit]
    return [Candidate(lookup[pid], sorted(by_paper[pid], key=lambda m: -value(m)))
            for pid in ordered]


def discover(ctx: Context, per_track: int = 25) -> list[Paper]:
    """Older papers per track by keyword query, minus those already known."""
    from agent.sources.arxiv_query import QueryTooLong

    found: dict[str, Paper] = {}
    for track in ctx.tracks:
        ctx.checkpoint()
        try:
            papers = ctx.source.search(track, per_track)
        except QueryTooLong as exc:  # one absurd track must not stop the others' discovery
            logger.warning("%s", exc)
            continue
        for paper in papers:
            found.setdefault(paper.id, paper)
    known = ctx.store.get_papers(list(found))
    return [p for pid, p in found.items() if pid not in known]


def rejected_before(ctx: Context, scores: dict[str, int] | None = None) -> set[str]:
    """Papers an LLM judged below the bar in an earlier cycle, unless the researcher rated them up.

    The judge weighs a paper against every track and scores its best one, so a paper it turned
    down is not worth a summary for any track; judging it again would only spend tokens.
    `scores`: the stored judge scores, when the caller already read them.
    """
    scores = ctx.store.judgement_scores() if scores is None else scores
    return turned_down(scores, rated_up(ctx))


def rated_up(ctx: Context) -> set[str]:
    """Papers the researcher rated up (for any track): the judge never turns these down."""
    return {r.paper_id for r in ctx.store.ratings() if r.value > 0}
