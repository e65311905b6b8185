"""Learn: summarise the best papers not yet summarised and write a field update with memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from agent.actions.context import Context
from agent.actions.memory import recall_related
from agent.actions.pick import Pick, choose_for_learning, rated_up
from agent.analyst import Brief, Candidate
from agent.analyst.schemas import Judgement, PaperSummary
from agent.models import MemoryItem, QueueItem
from agent.rank.worth import reading_order, worth
from agent.results import CycleResult, PaperSection
from agent.text import plural
from agent.velocity import store_velocity
from agent.waiting import JUDGE_BAR


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
    if not chosen and not pick.waiting:
        result.summary_line = "nothing to learn"
        result.notices.append(nothing_to_learn(pick))
        return result
    chosen, judgements = shortlist(ctx, pick, result)
    if not chosen:
        result.summary_line = "nothing cleared the judge's bar"
        return result
    ctx.checkpoint()
    ctx.step(f"reading {plural(len(chosen), 'paper')} ({ctx.analyst.name} analyst)")
    summaries = ctx.analyst.summarize(chosen, Brief(ctx.tracks))
    ctx.checkpoint()
    own = {c.paper.id: c.matches for c in chosen}
    memory = recall_related(ctx, ranker, [c.paper for c in chosen], own)
    result.papers = build_sections(chosen, summaries, judgements, memory)
    result.offline_papers = list(ctx.analyst.offline_papers)
    result.memory = list(unique_memory(result.papers))
    ctx.step("writing the field update")
    result.field_update = ctx.analyst.synthesize(summaries, Brief(ctx.tracks, result.memory))
    result.velocity = store_velocity(ctx.store, ctx.tracks, ctx.now)
    result.matches += [m for c in chosen for m in c.matches]
    result.queued = queue_worthy(ctx, chosen)
    result.summary_line = plural(len(result.papers), "paper")
    result.tags = learn_tags(summaries, result.papers)
    agreed = read_first(result.field_update.next_steps, result.queued, chosen)
    result.field_update = result.field_update.model_copy(update={"next_steps": agreed})
    result.next_steps = list(agreed)
    return result


def nothing_to_learn(pick: Pick) -> str:
    """Why a learn found nothing to read: what the judge turned down before, what the search of
    older papers (which runs when nothing is waiting) found."""
    if pick.turned_down:
        head = (f"No unread paper is waiting: the judge turned down "
                f"{plural(pick.turned_down, 'paper')} in earlier cycles")
    else:
        head = "No unread paper cleared any track's relevance bar"
    found = len(pick.discovered)
    cleared = f": none of the {plural(found, 'new one')} it found cleared a track's relevance bar"
    searched = "searched older papers by the tracks' keywords" + (
        cleared if found else " and found none new")
    return f"{head}; this cycle {searched}; nothing was summarised."


def shortlist(
    ctx: Context, pick: Pick, result: CycleResult
) -> tuple[list[Candidate], dict[str, Judgement]]:
    """The papers to summarise and the LLM's verdicts on them. With an analyst that judges
    first, the pick's new candidates are judged and the best `max_papers` of those it keeps,
    this cycle or earlier (`pick.waiting`), are chosen; this cycle's verdicts to keep, the
    notices and the rejected papers' demoted scores go into `result`. A verdict the offline
    analyst gave in the LLM's place only counts in the notices and in choosing: the paper stays
    unjudged, for the LLM in a later cycle, and its section has no "Why this paper"."""
    judging = judge_candidates(ctx, pick.chosen)
    judgements = dict(judging.verdicts)
    result.judgements = [j for pid, j in judgements.items() if pid not in judging.stand_in]
    chosen = judging.kept
    if ctx.analyst.judges_first:
        wanted = rated_up(ctx)
        chosen = best_judged(ctx, [*judging.kept, *pick.waiting], judgements, pick.verdicts,
                             judging.stand_in)
        judgements.update(earlier_judgements(ctx, chosen, judgements))
        result.notices.append(judging_notice(ctx, pick, judging, chosen, wanted))
    by_llm, in_place = judging.split(judging.rejected)
    for rejected, judge in ((by_llm, LLM_JUDGE), (in_place, STAND_IN_JUDGE)):
        if rejected:
            result.notices.append(rejection_notice(rejected, judgements, judge))
    # the LLM said no: the waiting list (policy, status) must not count these as worth reading
    result.matches += [replace(m, relevant=False) for c in by_llm for m in c.matches]
    # "Why this paper" is the LLM's reason, as without an LLM a section has none
    return chosen, {pid: j for pid, j in judgements.items() if pid not in judging.stand_in}


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


LLM_JUDGE = "The LLM"
STAND_IN_JUDGE = "The offline analyst, judging in the LLM's place,"


@dataclass
class Judging:
    """This cycle's verdicts on the pick's new candidates: `stand_in` names the papers the
    offline analyst judged in the LLM's place (their verdicts are not kept)."""

    kept: list[Candidate]
    rejected: list[Candidate]
    verdicts: dict[str, Judgement] = field(default_factory=dict)
    stand_in: set[str] = field(default_factory=set)

    def split(self, candidates: Sequence[Candidate]) -> tuple[list[Candidate], list[Candidate]]:
        """(judged by the LLM, judged in its place) among `candidates`."""
        return ([c for c in candidates if c.paper.id not in self.stand_in],
                [c for c in candidates if c.paper.id in self.stand_in])


def judge_candidates(ctx: Context, chosen: list[Candidate]) -> Judging:
    """With an LLM, judge candidates before summarising: who kept and who rejected what."""
    if not ctx.analyst.judges_first:
        return Judging(chosen, [])
    ctx.step(f"judging {plural(len(chosen), 'candidate')}")
    judgements = {j.paper_id: j for j in ctx.analyst.judge(chosen, Brief(ctx.tracks))}
    stand_in = set(ctx.analyst.stand_in_judged) & set(judgements)
    wanted = rated_up(ctx)  # else a paper rated up but judged low would be re-judged every cycle

    def passes(candidate: Candidate) -> bool:
        judgement = judgements.get(candidate.paper.id)
        return judgement is None or judgement.score >= JUDGE_BAR or candidate.paper.id in wanted

    return Judging([c for c in chosen if passes(c)], [c for c in chosen if not passes(c)],
                   judgements, stand_in)


def best_judged(
    ctx: Context, kept: Sequence[Candidate], judgements: dict[str, Judgement],
    verdicts: dict[str, int], stand_in: set[str] | None = None,
) -> list[Candidate]:
    """The `max_papers` to summarise among those the judge kept, this cycle or before: papers
    the researcher rated up first, then the LLM's verdicts before those the offline analyst
    gave in its place (`stand_in`), then by the judge's score, then by score × priority."""
    wanted = rated_up(ctx)
    priority = {t.id: t.priority for t in ctx.tracks}
    offline = stand_in or set()

    def order(candidate: Candidate) -> tuple[bool, bool, int, float, str]:
        pid = candidate.paper.id
        judged = judgements[pid].score if pid in judgements else verdicts.get(pid, 0)
        value = max((worth(m.score, priority[m.track_id]) for m in candidate.matches
                     if m.track_id in priority), default=0.0)
        return (pid not in wanted, pid in offline, -judged, -value, pid)

    return sorted(kept, key=order)[: ctx.settings.learn.max_papers]


def earlier_judgements(
    ctx: Context, chosen: Sequence[Candidate], judgements: dict[str, Judgement]
) -> dict[str, Judgement]:
    """The stored verdicts of chosen papers judged in an earlier cycle ("Why this paper")."""
    found = {}
    for candidate in chosen:
        pid = candidate.paper.id
        stored = [] if pid in judgements else ctx.store.analyses_for(pid, "judgement")
        try:
            found[pid] = Judgement.model_validate(stored[-1]["payload"])
        except (IndexError, ValueError):  # none stored, or stored by an older release: no reason
            continue
    return found


def judging_notice(
    ctx: Context, pick: Pick, judging: Judging, chosen: Sequence[Candidate], wanted: set[str]
) -> str:
    """The note's word on what the judge read and where its verdicts went; every count exact."""
    full = ctx.settings.learn.judged_per_cycle()
    scope = "the ranker's best unread papers not judged before"
    if pick.limit < full:
        scope += (f"; at most {pick.limit} rather than {full}: "
                  f"{plural(len(pick.waiting), 'paper')} kept earlier already wait")
    kept, in_place_kept = judging.split(judging.kept)
    rejected, in_place_rejected = judging.split(judging.rejected)
    texts = []
    if kept or rejected:
        texts.append(f"{LLM_JUDGE} judged {plural(len(kept) + len(rejected), 'candidate')} "
                     f"({scope}): {verdict_counts(kept, rejected, judging.verdicts)}.")
    if judging.stand_in:
        texts.append(stand_in_part(judging, chosen, scope, bool(texts)))
    if not texts:
        texts.append("No candidate was left that had not been judged before.")
    mixed = bool(judging.stand_in) and bool(kept or pick.waiting)  # verdicts of both judges
    texts.append(summarised_part(chosen, {c.paper.id for c in judging.kept}, wanted, mixed))
    read = {c.paper.id for c in chosen}
    wait = sum(1 for c in [*kept, *pick.waiting] if c.paper.id not in read)
    if wait:
        judge = "the LLM" if judging.stand_in else "the judge"
        texts.append(f"{plural(wait, 'paper')} {judge} kept {'waits' if wait == 1 else 'wait'} "
                     "for a later cycle (not judged again).")
    return " ".join(texts)


def verdict_counts(
    kept: Sequence[Candidate], rejected: Sequence[Candidate], judgements: dict[str, Judgement]
) -> str:
    """"28 at or above 5/10, 2 below it that you rated up, 12 below"."""
    verdicts = [judgements.get(c.paper.id) for c in kept]
    above = sum(1 for j in verdicts if j is None or j.score >= JUDGE_BAR)
    text = f"{above} at or above {JUDGE_BAR}/10"
    if len(kept) > above:
        text += f", {len(kept) - above} below it that you rated up"
    return text + f", {len(rejected)} below"


def stand_in_part(judging: Judging, chosen: Sequence[Candidate], scope: str, after: bool) -> str:
    """What the offline analyst judged in the LLM's place, and that its verdicts are not kept."""
    kept, rejected = judging.split(judging.kept)[1], judging.split(judging.rejected)[1]
    count = len(kept) + len(rejected)
    text = (f"{STAND_IN_JUDGE} judged {f'{count} more' if after else plural(count, 'candidate')}"
            f"{'' if after else f' ({scope})'}: {verdict_counts(kept, rejected, judging.verdicts)}"
            "; its verdicts are not kept")
    left = count - sum(1 for c in chosen if c.paper.id in judging.stand_in)
    if left == count:
        return text + ": these papers stay unjudged, for the LLM to judge in a later cycle."
    if left:
        return text + (f": the {left} not summarised stay unjudged, for the LLM to judge in a "
                       "later cycle.")
    return text + "."


def summarised_part(
    chosen: Sequence[Candidate], judged_now: set[str], wanted: set[str], mixed: bool
) -> str:
    """How many papers are summarised, in which order they were chosen (`mixed`: from verdicts
    of the LLM and of the offline analyst), and how many were judged in an earlier cycle."""
    text = f"{plural(len(chosen), 'paper')} {'is' if len(chosen) == 1 else 'are'} summarised"
    if chosen:
        order = "the best by the judge's score, then the ranker's"
        if mixed:
            order = f"the LLM's verdicts before the offline analyst's, then {order}"
        if any(c.paper.id in wanted for c in chosen):
            order = f"papers you rated up first, then {order}"
        text += f" ({order})"
    earlier = [c for c in chosen if c.paper.id not in judged_now]
    if earlier:  # the note's sections name them; the notice stays short enough to show whole
        text += f", {len(earlier)} of them judged in an earlier cycle"
    return text + "."


REJECTED_NAMED = 5  # rejected papers a note names; the rest are counted


def rejection_notice(
    rejected: Sequence[Candidate], judgements: dict[str, Judgement], judge: str = LLM_JUDGE
) -> str:
    """The note's word on papers the LLM turned down (they cost no summary)."""
    named = ", ".join(f"arXiv:{c.paper.id} ({judgements[c.paper.id].score}/10)"
                      for c in rejected[:REJECTED_NAMED])
    if len(rejected) > REJECTED_NAMED:
        named += f", and {len(rejected) - REJECTED_NAMED} more"
    return (
        f"{judge} judged {plural(len(rejected), 'candidate')} below {JUDGE_BAR}/10 and did "
        f"not summarise {'it' if len(rejected) == 1 else 'them'}: {named}."
    )


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
