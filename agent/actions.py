"""The three things a cycle can do — scan, learn, deep-read — each returning a CycleResult.

Actions read the store and call the source, ranker and analyst; they never write files, commit,
or change the store (the cycle applies `agent.changes` after the commit). LLM usage is the one
exception: it is recorded as it happens, because tokens spent are spent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from agent import __version__
from agent.analyst import Analyst, Candidate
from agent.analyst.schemas import Judgement, PaperSummary
from agent.changes import RANK_FINGERPRINT
from agent.errors import AgentError
from agent.models import FullText, Match, MemoryItem, Paper, QueueItem, Track
from agent.rank import Ranker
from agent.rank.worth import reading_order, worth
from agent.results import CycleResult, PaperSection, ScanStats
from agent.settings import Settings
from agent.sources import Source
from agent.store import Store
from agent.velocity import store_velocity

logger = logging.getLogger(__name__)

JUDGE_BAR = 5  # of 10: papers the LLM judges below this cost no summary
RELATED_MIN = 0.15  # similarity below which an earlier paper is not worth mentioning
CANDIDATE_POOL = 5000  # ranked-but-unread papers re-ranked when tracks or ratings change


class Cancelled(AgentError):
    """The daemon asked the cycle to stop (SIGTERM); nothing was written."""


@dataclass
class Context:
    """Everything an action may use, wired by the cycle."""

    settings: Settings
    tracks: list[Track]  # active, highest priority first
    store: Store  # read-only here
    source: Source
    analyst: Analyst
    now: datetime
    stop: threading.Event = field(default_factory=threading.Event)
    fetch_text: Callable[[Paper], tuple[FullText, list[str]]] | None = None
    progress: Callable[[str], None] = lambda message: None  # the CLI shows it as a status line

    def step(self, message: str) -> None:
        """Say what the cycle is doing now (it may wait on arXiv or the LLM for a while)."""
        logger.debug(message)
        self.progress(message)

    def checkpoint(self) -> None:
        """Abandon the cycle here if a shutdown was requested."""
        if self.stop.is_set():
            raise Cancelled("shutdown requested; the cycle was abandoned before writing anything")

    def ranker(self) -> Ranker:
        """A ranker that learns from the ratings, with the rated papers' text from the store."""
        ratings = self.store.ratings()
        # Rocchio needs each rated paper's words; it may be in neither this batch nor the sample
        rated = self.store.get_papers(list({r.paper_id for r in ratings}))
        return Ranker(self.tracks, ratings=ratings, rated_papers=list(rated.values()))


def run_action(action: str, ctx: Context) -> CycleResult:
    """Dispatch to the action by name."""
    actions = {"scan": scan, "learn": learn, "deep-read": deep_read}
    if action not in actions:
        raise AgentError(f"unknown action '{action}'; choose one of {', '.join(actions)}.")
    result = actions[action](ctx)
    result.source = result.source or ctx.source.name
    result.queue_after = queue_after(ctx, result)
    return result


def queue_after(ctx: Context, result: CycleResult) -> list[QueueItem]:
    """The must-read queue as it will be once this cycle is applied (for the note's Next)."""
    read = result.deep_read.paper_id if result.deep_read else None
    items = {q.paper_id: q for q in ctx.store.queue_list() if q.paper_id != read}
    for item in result.queued:
        items.setdefault(item.paper_id, item)
    # a stable sort keeps the store's order within a priority (the researcher's first, oldest)
    return sorted(items.values(), key=lambda q: reading_order(q.priority, q.added_by))


def plural(count: int, noun: str) -> str:
    """'1 paper', '3 papers'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


# --- scan ----------------------------------------------------------------------------------------


def scan(ctx: Context) -> CycleResult:
    """Fetch the complete new listing of the watched categories, store it all, rank it."""
    store = ctx.store
    since = store.get_cursor(ctx.source.name)
    ctx.step(f"asking {ctx.source.name} for new papers on {plural(len(ctx.tracks), 'track')}")
    def page(message: str) -> None:  # a long listing stops between pages on shutdown/deadline
        ctx.checkpoint()
        ctx.step(message)

    fetched = ctx.source.fetch_new(ctx.tracks, since, now=ctx.now, progress=page)
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
    result.next_steps = scan_next_steps(result, ctx.tracks)
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


def scan_next_steps(result: CycleResult, tracks: Sequence[Track]) -> list[str]:
    """What a scan suggests next."""
    waiting = len({s.paper.id for v in result.best_per_track.values() for s in v})
    if not waiting:
        return [
            "Nothing new cleared a track's relevance bar; the next scan looks again once "
            "there are new listings."
        ]
    names = [t.name for t in tracks if result.best_per_track.get(t.id)]
    return [
        f"Learn: summarise the best of the {plural(waiting, 'relevant paper')} "
        f"({', '.join(names)})."
    ]


# --- learn ---------------------------------------------------------------------------------------


def learn(ctx: Context) -> CycleResult:
    """Summarise the best papers not yet summarised and write a field update with memory."""
    ranker = ctx.ranker()
    pick = choose_for_learning(ctx, ranker)
    chosen, discovered = pick.chosen, pick.discovered
    result = CycleResult(action="learn", summary_line="")
    result.matches = list(pick.rescored)  # scores under changed tracks or ratings, to store
    result.rank_fingerprint = pick.fingerprint
    if discovered:
        result.discovery = True
        result.new_papers = discovered  # the note's discovery notice says what happened
    if not chosen:
        result.summary_line = "nothing to learn"
        result.notices.append("No paper cleared any track's relevance bar; nothing was summarised.")
        return result
    chosen, judgements, rejected = judge_candidates(ctx, chosen)
    result.judgements = list(judgements.values())
    if rejected:
        result.notices.append(rejection_notice(rejected, judgements))
        # the LLM said no: the waiting list (policy, status) must not count these as worth reading
        result.matches += [replace(m, relevant=False) for c in rejected for m in c.matches]
    if not chosen:
        result.summary_line = "nothing cleared the LLM's bar"
        return result
    ctx.checkpoint()
    ctx.step(f"reading {plural(len(chosen), 'paper')} ({ctx.analyst.name} analyst)")
    summaries = ctx.analyst.summarize(chosen, ctx.tracks)
    ctx.checkpoint()
    own = {c.paper.id: c.matches for c in chosen}
    memory = recall_related(ctx, ranker, [c.paper for c in chosen], own)
    result.papers = build_sections(chosen, summaries, judgements, memory)
    result.memory = [m for m in unique_memory(result.papers)]
    ctx.step("writing the field update")
    result.field_update = ctx.analyst.synthesize(summaries, result.memory, ctx.tracks)
    result.velocity = store_velocity(ctx.store, ctx.tracks, ctx.now)
    result.matches += [m for c in chosen for m in c.matches]
    result.queued = queue_worthy(ctx, chosen)
    result.summary_line = plural(len(result.papers), "paper")
    result.tags = learn_tags(summaries, result.papers)
    agreed = read_first(result.field_update.next_steps, result.queued, chosen)
    result.field_update = result.field_update.model_copy(update={"next_steps": agreed})
    result.next_steps = list(agreed)
    return result


@dataclass
class Pick:
    """What learn chose, and the scores it recomputed (only when tracks or ratings changed)."""

    chosen: list[Candidate]
    discovered: list[Paper] = field(default_factory=list)
    rescored: list[Match] = field(default_factory=list)
    fingerprint: str = ""  # set when rescored: the tracks and ratings the new scores reflect


def read_first(
    steps: Sequence[str], queued: Sequence[QueueItem], chosen: Sequence[Candidate]
) -> list[str]:
    """The Next steps made to agree with the queue: the paper to read first is the one this
    cycle queued first, not another paper the analyst ranked first on its own reckoning."""
    if not queued:
        return list(steps)
    first = min(queued, key=lambda q: reading_order(q.priority, q.added_by))
    others = [c.paper.id for c in chosen if c.paper.id != first.paper_id]
    agreed = []
    for step in steps:
        named = next((pid for pid in others if step.startswith(f"Read {pid} first")), None)
        if named is not None:
            agreed.append(f"Read {first.paper_id} first: it is queued for a deep read "
                          f"({first.reason}).")
            step = f"Then read {named}" + step[len(f"Read {named} first"):]
        elif step.startswith(f"Skim {first.paper_id} "):
            continue  # it is the one to read first now
        agreed.append(step)
    return agreed


def pick_for_learning(ctx: Context, ranker: Ranker) -> tuple[list[Candidate], list[Paper]]:
    """The best unsummarised candidates by score × priority; discovery when none are waiting."""
    pick = choose_for_learning(ctx, ranker)
    return pick.chosen, pick.discovered


def choose_for_learning(ctx: Context, ranker: Ranker) -> Pick:
    """Stored scores decide while tracks and ratings are unchanged; else the pool is re-ranked."""
    turned_down = rejected_before(ctx)
    fingerprint = rank_fingerprint(ctx, ranker)
    if ctx.store.get_meta(RANK_FINGERPRINT) == fingerprint:
        pick = Pick(stored_pick(ctx, turned_down))
    else:
        ctx.step("tracks or ratings changed: ranking the waiting papers again")
        pick = rerank_pick(ctx, ranker, turned_down)
        pick.fingerprint = fingerprint
    if pick.chosen:
        return pick
    ctx.step("nothing new is waiting: searching older papers per track")
    pick.discovered = discover(ctx)
    pick.chosen = top_candidates(
        ranker.rank(pick.discovered), pick.discovered, ctx.tracks, ctx.settings.learn.max_papers
    )
    return pick


def stored_pick(ctx: Context, turned_down: set[str]) -> list[Candidate]:
    """The best relevant waiting papers by their stored score × track priority (one query)."""
    priorities = {t.id: t.priority for t in ctx.tracks if t.active}
    best = ctx.store.best_relevant(
        priorities, exclude=sorted(turned_down), limit=ctx.settings.learn.max_papers
    )
    return [Candidate(paper, matches) for paper, matches in best]


def rerank_pick(ctx: Context, ranker: Ranker, turned_down: set[str]) -> Pick:
    """Rank the best-scored waiting papers again with the current ranker, and choose from that."""
    pool = [p for p, _ in ctx.store.candidates(statuses=("ranked",), limit=CANDIDATE_POOL)]
    pool = [p for p in pool if p.id not in turned_down]
    ranking = ranker.rank(pool)
    chosen = top_candidates(ranking, pool, ctx.tracks, ctx.settings.learn.max_papers)
    return Pick(chosen, rescored=[m for matches in ranking.values() for m in matches])


def rank_fingerprint(ctx: Context, ranker: Ranker) -> str:
    """A digest of what the scores depend on: the tracks, the ratings and the ranker in use."""
    state = {
        "version": __version__,
        "tracks": sorted((asdict(t) for t in ctx.tracks), key=lambda t: str(t["id"])),
        "ratings": sorted((r.paper_id, r.track_id or "", r.value) for r in ranker.ratings),
        "embedder": type(ranker.embedder).__name__,
    }
    text = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def top_candidates(
    ranking: dict[str, list[Match]], papers: Sequence[Paper], tracks: Sequence[Track], limit: int
) -> list[Candidate]:
    """Relevant papers ordered by their best score × track priority."""
    priority = {t.id: t.priority for t in tracks}
    by_paper: dict[str, list[Match]] = {}
    for matches in ranking.values():
        for match in matches:
            if match.relevant:
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


def rejected_before(ctx: Context) -> set[str]:
    """Papers an LLM judged below the bar in an earlier cycle, unless the researcher rated them up.

    The judge weighs a paper against every track and scores its best one, so a paper it turned
    down is not worth a summary for any track; judging it again would only spend tokens.
    """
    scores = ctx.store.judgement_scores()
    wanted = rated_up(ctx)
    return {pid for pid, score in scores.items() if score < JUDGE_BAR and pid not in wanted}


def rated_up(ctx: Context) -> set[str]:
    """Papers the researcher rated up (for any track): the judge never turns these down."""
    return {r.paper_id for r in ctx.store.ratings() if r.value > 0}


def judge_candidates(
    ctx: Context, chosen: list[Candidate]
) -> tuple[list[Candidate], dict[str, Judgement], list[Candidate]]:
    """With an LLM, judge candidates before summarising: (kept, judgements, rejected)."""
    if not ctx.analyst.judges_first:
        return chosen, {}, []
    ctx.step(f"judging {plural(len(chosen), 'candidate')}")
    judgements = {j.paper_id: j for j in ctx.analyst.judge(chosen, ctx.tracks)}
    wanted = rated_up(ctx)  # else a paper rated up but judged low would be re-judged every cycle

    def passes(candidate: Candidate) -> bool:
        judgement = judgements.get(candidate.paper.id)
        return judgement is None or judgement.score >= JUDGE_BAR or candidate.paper.id in wanted

    return ([c for c in chosen if passes(c)], judgements, [c for c in chosen if not passes(c)])


def rejection_notice(rejected: Sequence[Candidate], judgements: dict[str, Judgement]) -> str:
    """The note's word on papers the LLM turned down (they cost no summary)."""
    named = ", ".join(f"arXiv:{c.paper.id} ({judgements[c.paper.id].score}/10)" for c in rejected)
    return (
        f"The LLM judged {plural(len(rejected), 'candidate')} below {JUDGE_BAR}/10 and did "
        f"not summarise {'it' if len(rejected) == 1 else 'them'}: {named}."
    )


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


def build_sections(
    chosen: Sequence[Candidate],
    summaries: Sequence[PaperSummary],
    judgements: dict[str, Judgement],
    memory: dict[str, list[MemoryItem]],
) -> list[PaperSection]:
    """One note section per summarised paper."""
    by_id = {s.paper_id: s for s in summaries}
    return [
        PaperSection(
            paper=c.paper,
            matches=c.matches,
            summary=by_id.get(c.paper.id),
            judgement=judgements.get(c.paper.id),
            related=memory.get(c.paper.id, []),
        )
        for c in chosen
    ]


def unique_memory(sections: Sequence[PaperSection]) -> list[MemoryItem]:
    """Earlier papers drawn on by any section, once each."""
    seen: dict[str, MemoryItem] = {}
    for section in sections:
        for item in section.related:
            seen.setdefault(item.paper_id, item)
    return list(seen.values())


def queue_worthy(ctx: Context, chosen: Sequence[Candidate]) -> list[QueueItem]:
    """The best papers scoring above the bar go on the must-read queue, with the reason."""
    names = {t.id: t for t in ctx.tracks}
    queued: list[QueueItem] = []
    for candidate in chosen:  # best first
        if len(queued) >= ctx.settings.learn.queue_per_cycle:
            break
        # the bar is about how well a paper fits one track, whichever that is: a 0.83 on a
        # priority-4 track clears it even when a 0.71 on a priority-5 track ranked it
        above = [
            m
            for m in candidate.matches
            if m.track_id in names and m.score >= ctx.settings.learn.queue_threshold
        ]
        if above:
            best = max(above, key=lambda m: (names[m.track_id].priority, m.score))
            track = names[best.track_id]
            queued.append(
                QueueItem(
                    paper_id=candidate.paper.id,
                    priority=track.priority,
                    added_by="agent",
                    reason=f"scored {best.score:.2f} on {track.name} (priority {track.priority})",
                    added=ctx.now,
                    title=candidate.paper.title,
                )
            )
    return queued


def learn_tags(summaries: Sequence[PaperSummary], sections: Sequence[PaperSection]) -> list[str]:
    """Tags for the note: the analyst's tags, then the tracks touched."""
    tags = ["arxiv-radar"]
    for summary in summaries:
        tags.extend(summary.tags)
    for section in sections:
        tags.extend(m.track_id for m in section.matches[:1])
    return list(dict.fromkeys(tags))


# --- deep read -----------------------------------------------------------------------------------


def deep_read(ctx: Context) -> CycleResult:
    """Read the top paper of the must-read queue in full and relate it to the tracks."""
    item = ctx.store.queue_top()
    if item is None:
        raise AgentError(
            "The must-read queue is empty: add a paper with `research-agent queue add <arXiv id>`."
        )
    paper = ctx.store.get_paper(item.paper_id) or next(
        iter(ctx.source.lookup([item.paper_id])), None
    )
    if paper is None:
        raise AgentError(
            f"arXiv does not know {item.paper_id}; drop it with "
            f"`research-agent queue drop {item.paper_id}`."
        )
    if ctx.fetch_text is None:
        raise AgentError("full-text reading is not configured")
    ctx.step(f"downloading the full text of arXiv:{paper.id}")
    text, attempts = ctx.fetch_text(paper)
    ctx.checkpoint()
    ranker = ctx.ranker()
    matches = sorted(
        (m for ms in ranker.rank([paper]).values() for m in ms), key=lambda m: -m.score
    )
    memory = recall_related(ctx, ranker, [paper]).get(paper.id, [])
    candidate = Candidate(paper, matches)
    result = CycleResult(action="deep-read", summary_line=f"arXiv:{paper.id} ({text.source})")
    ctx.step(f"reading {plural(len(text.sections), 'section')} of arXiv:{paper.id}")
    result.deep_read = ctx.analyst.deep_read(candidate, text, memory, ctx.tracks)
    result.full_text = text
    result.papers = [PaperSection(paper=paper, matches=matches, related=memory)]
    result.memory = memory
    result.new_papers = [paper]
    result.matches = matches
    result.notices.extend(n for n in [how_it_was_read(attempts)] if n)
    result.next_steps = deep_read_next_steps(paper, text)
    result.tags = ["deep-read", *[m.track_id for m in matches if m.relevant][:3]]
    return result


def how_it_was_read(attempts: Sequence[str]) -> str:
    """The fetch report as one sentence ("HTML not available (404); read the PDF (6 sections).").

    Empty when the first source simply worked: the note's "Read from" line already says so.
    """
    if all(a.startswith("read the ") for a in attempts):
        return ""
    text = "; ".join(a.rstrip(".") for a in attempts)
    return text[:1].upper() + text[1:] + "." if text else ""


def deep_read_next_steps(paper: Paper, text: FullText) -> list[str]:
    """What a deep read leaves to do (its follow-ups have their own section in the note)."""
    if text.source != "abstract":
        return []
    return [
        f"Only the abstract of arXiv:{paper.id} was read: check the paper itself before "
        f"relying on this reading, or queue it again to try its full text later."
    ]
