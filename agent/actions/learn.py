"""Learn: summarise the best papers not yet summarised and write a field update with memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from agent.actions.context import Context
from agent.actions.memory import recall_related
from agent.actions.pick import JUDGE_BAR, Pick, choose_for_learning, rated_up
from agent.analyst import Brief, Candidate
from agent.analyst.schemas import Judgement, PaperSummary
from agent.models import MemoryItem, QueueItem
from agent.rank.worth import reading_order, worth
from agent.results import CycleResult, PaperSection
from agent.text import plural
from agent.velocity import store_velocity


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
        result.notices.append("No paper cleared any track's relevance bar; nothing was summarised.")
        return result
    chosen, judgements = shortlist(ctx, pick, result)
    if not chosen:
        result.summary_line = "nothing cleared the LLM's bar"
        return result
    ctx.checkpoint()
    ctx.step(f"reading {plural(len(chosen), 'paper')} ({ctx.analyst.name} analyst)")
    summaries = ctx.analyst.summarize(chosen, Brief(ctx.tracks))
    ctx.checkpoint()
    own = {c.paper.id: c.matches for c in chosen}
    memory = recall_related(ctx, ranker, [c.paper for c in chosen], own)
    result.papers = build_sections(chosen, summaries, judgements, memory)
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


def shortlist(
    ctx: Context, pick: Pick, result: CycleResult
) -> tuple[list[Candidate], dict[str, Judgement]]:
    """The papers to summarise and the verdicts on them. With an analyst that judges first, the
    pick's new candidates are judged and the best `max_papers` of those it keeps, this cycle or
    earlier (`pick.waiting`), are chosen; this cycle's verdicts, the notices and the rejected
    papers' demoted scores go into `result`."""
    chosen, judgements, rejected = judge_candidates(ctx, pick.chosen)
    result.judgements = list(judgements.values())
    if ctx.analyst.judges_first:
        kept = chosen
        chosen = best_judged(ctx, [*kept, *pick.waiting], judgements, pick.verdicts)
        judgements.update(earlier_judgements(ctx, chosen, judgements))
        result.notices.append(judging_notice(pick, kept, rejected, judgements, chosen,
                                             judge_name(ctx)))
    if rejected:
        result.notices.append(rejection_notice(rejected, judgements, judge_name(ctx)))
        # the LLM said no: the waiting list (policy, status) must not count these as worth reading
        result.matches += [replace(m, relevant=False) for c in rejected for m in c.matches]
    return chosen, judgements


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


def judge_candidates(
    ctx: Context, chosen: list[Candidate]
) -> tuple[list[Candidate], dict[str, Judgement], list[Candidate]]:
    """With an LLM, judge candidates before summarising: (kept, judgements, rejected)."""
    if not ctx.analyst.judges_first:
        return chosen, {}, []
    ctx.step(f"judging {plural(len(chosen), 'candidate')}")
    judgements = {j.paper_id: j for j in ctx.analyst.judge(chosen, Brief(ctx.tracks))}
    wanted = rated_up(ctx)  # else a paper rated up but judged low would be re-judged every cycle

    def passes(candidate: Candidate) -> bool:
        judgement = judgements.get(candidate.paper.id)
        return judgement is None or judgement.score >= JUDGE_BAR or candidate.paper.id in wanted

    return ([c for c in chosen if passes(c)], judgements, [c for c in chosen if not passes(c)])


def best_judged(
    ctx: Context, kept: Sequence[Candidate], judgements: dict[str, Judgement],
    verdicts: dict[str, int],
) -> list[Candidate]:
    """The `max_papers` to summarise among those the judge kept, this cycle or before: papers
    the researcher rated up first, then by the judge's score, then by score × priority."""
    wanted = rated_up(ctx)
    priority = {t.id: t.priority for t in ctx.tracks}

    def order(candidate: Candidate) -> tuple[bool, int, float, str]:
        pid = candidate.paper.id
        judged = judgements[pid].score if pid in judgements else verdicts.get(pid, 0)
        value = max((worth(m.score, priority[m.track_id]) for m in candidate.matches
                     if m.track_id in priority), default=0.0)
        return (pid not in wanted, -judged, -value, pid)

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


def judge_name(ctx: Context) -> str:
    """Who judged this cycle's candidates, as a note's sentence starts: judging is the first
    call, so an analyst that fell back by now had the offline analyst judge in its place."""
    if ctx.analyst.label == ctx.analyst.name:
        return "The LLM"
    return "The offline analyst, judging in the LLM's place,"


def judging_notice(
    pick: Pick, kept: Sequence[Candidate], rejected: Sequence[Candidate],
    judgements: dict[str, Judgement], chosen: Sequence[Candidate], judge: str = "The LLM",
) -> str:
    """The note's word on what the judge read and where its verdicts went; every count exact."""
    judged = len(kept) + len(rejected)
    verdicts = [judgements.get(c.paper.id) for c in kept]
    above = sum(1 for j in verdicts if j is None or j.score >= JUDGE_BAR)
    earlier = {c.paper.id for c in chosen} - {c.paper.id for c in kept}
    wait = len(kept) + len(pick.waiting) - len(chosen)
    if judged:
        text = (f"{judge} judged {plural(judged, 'candidate')} (the ranker's best unread papers "
                f"not judged before): {above} at or above {JUDGE_BAR}/10")
        if len(kept) > above:
            text += f", {len(kept) - above} below it that you rated up"
        text += f", {len(rejected)} below."
    else:
        text = "No candidate was left that had not been judged before."
    text += f" {plural(len(chosen), 'paper')} {'is' if len(chosen) == 1 else 'are'} summarised"
    if chosen:
        text += " (the best by the judge's score, then the ranker's)"
    if earlier:  # the note's sections name them; the notice stays short enough to show whole
        text += f", {len(earlier)} of them judged in an earlier cycle"
    text += "."
    if wait:
        text += (f" {plural(wait, 'paper')} the judge kept {'waits' if wait == 1 else 'wait'} "
                 "for a later cycle (not judged again).")
    return text


REJECTED_NAMED = 5  # rejected papers a note names; the rest are counted


def rejection_notice(
    rejected: Sequence[Candidate], judgements: dict[str, Judgement], judge: str = "The LLM"
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
