"""Deep-read: read the top paper of the must-read queue in full and relate it to the tracks."""

from __future__ import annotations

from collections.abc import Sequence

from agent.actions.context import Context
from agent.actions.memory import recall_related
from agent.analyst import Brief, Candidate
from agent.errors import AgentError
from agent.models import FullText, Paper
from agent.results import CycleResult, PaperSection
from agent.text import plural


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
    result.deep_read = ctx.analyst.deep_read(candidate, text, Brief(ctx.tracks, memory))
    result.full_text = text
    result.offline_papers = list(ctx.analyst.offline_papers)
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
