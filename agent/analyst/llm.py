"""The LLM analyst: reads papers against tracks through any OpenAI-compatible endpoint.

Prompts live in `prompts/*.md.j2`. Every prompt starts with the same system text and tracks (so
providers can cache that prefix) and ends with the paper, inside `<data>` delimiters the system
prompt declares untrusted.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from agent.analyst import Analyst, Brief, Candidate
from agent.analyst.backends import AnalystSetup
from agent.analyst.chunks import Chunk, plan_chunks
from agent.analyst.llm_client import ChatClient, Message
from agent.analyst.schemas import (
    DeepRead,
    FieldUpdate,
    Judgement,
    Judgements,
    PaperSummary,
    TrackConnection,
)
from agent.errors import AnalystError
from agent.models import FullText, MemoryItem, Paper, Track
from agent.templates import render_template

logger = logging.getLogger(__name__)

DATA_TAG_RE = re.compile(r"<(\s*/?\s*)data\b", re.IGNORECASE)
ABSTRACT_CHARS = 6000  # an abstract longer than this is not an abstract; keep prompts bounded

T = TypeVar("T")
R = TypeVar("R")


class SectionNotes(BaseModel):
    """The map step of a deep read: notes on one part of a paper."""

    summary: str = Field(description="2-4 sentences on what this part says")
    methods: list[str] = Field(description="how the work is done, as described here")
    results: list[str] = Field(description="concrete results with the paper's own numbers")
    limitations: list[str] = Field(description="limitations or caveats stated or evident here")


def quote_data(text: str) -> str:
    """Untrusted text made unable to close (or open) a `<data>` block."""
    return DATA_TAG_RE.sub(lambda m: "‹" + m.group(1) + "data", text)


def paper_block(paper: Paper) -> str:
    """A paper's metadata and abstract as prompt text (quoted: it is data)."""
    lines = [f"arXiv id: {paper.id}", f"Title: {paper.title}"]
    if paper.authors:
        more = " et al." if len(paper.authors) > 12 else ""
        lines.append(f"Authors: {', '.join(paper.authors[:12])}{more}")
    if paper.categories:
        lines.append(f"Categories: {', '.join(paper.categories)}")
    if paper.published:
        lines.append(f"Published: {paper.published.date().isoformat()}")
    if paper.comment:
        lines.append(f"Comment: {paper.comment}")
    lines.append(f"Abstract: {paper.abstract[:ABSTRACT_CHARS]}")
    return quote_data("\n".join(lines))


def paper_context(candidate: Candidate) -> dict[str, Any]:
    """Template context for one candidate paper."""
    best = candidate.matches[0] if candidate.matches else None
    return {
        "id": candidate.paper.id,
        "title": quote_data(candidate.paper.title),
        "block": paper_block(candidate.paper),
        "best_track": best.track_id if best else "",
        "best_score": best.score if best else 0.0,
    }


def memory_context(item: MemoryItem) -> dict[str, Any]:
    """Template context for one remembered paper (its takeaway came from a model: data)."""
    return {
        "paper_id": item.paper_id,
        "title": quote_data(item.title),
        "cycle": item.cycle,
        "takeaway": quote_data(item.takeaway),
        "track_ids": list(item.track_ids),
    }


def summary_block(summary: PaperSummary) -> str:
    """A summary as prompt text for the synthesis (quoted: it came from a model)."""
    lines = [f"Headline: {summary.headline}", f"Models: {', '.join(summary.models)}",
             f"Method: {summary.method}", "Findings:"]
    lines += [f"- {finding}" for finding in summary.key_findings]
    lines.append(f"Gap: {summary.gap}")
    lines += [f"Connection to {c.track_id}: {c.connection}" for c in summary.connections]
    return quote_data("\n".join(lines))


def notes_block(notes: SectionNotes) -> str:
    """Section notes as prompt text for the combine step."""
    lines = [f"Summary: {notes.summary}"]
    for label, items in (
        ("Method", notes.methods),
        ("Result", notes.results),
        ("Limitation", notes.limitations),
    ):
        lines += [f"{label}: {item}" for item in items]
    return quote_data("\n".join(lines))


def keep_known_tracks(
    connections: Iterable[TrackConnection], tracks: Sequence[Track]
) -> list[TrackConnection]:
    """Connections naming a given track, at most one per track (models invent ids)."""
    known, seen, kept = {t.id for t in tracks}, set(), []
    for connection in connections:
        if connection.track_id in known and connection.track_id not in seen:
            seen.add(connection.track_id)
            kept.append(connection)
    return kept


class LLMAnalyst(Analyst):
    """An Analyst backed by an OpenAI-compatible chat endpoint with structured outputs."""

    name = "llm"

    max_map_calls = 12  # parts of a paper read (map steps) in one deep read
    judge_batch = 10  # papers judged per request

    def __init__(self, setup: AnalystSetup):
        self.model: str | None = setup.settings.model
        self.settings = setup.settings
        self.workspace = setup.workspace
        self.researcher = setup.researcher
        self.section_tokens = setup.section_tokens
        self.client = ChatClient(
            setup.settings, setup.usage_sink, setup.budget, stop_at=setup.stop_at
        )
        self._left_running: list[ThreadPoolExecutor] = []  # see close()

    def close(self) -> None:
        """Release the endpoint's HTTP connections: now, or, when a phase was interrupted (Ctrl-C)
        with calls still in flight, once those calls end. Closing the connections under them
        closed their sockets mid-read, and a worker blocked on a closed socket waits for its
        whole deadline ([llm] timeout_seconds): the process, which exits after its workers, hung
        that long after "rolled back"."""
        running, self._left_running = self._left_running, []
        if not running:
            self.client.close()
            return

        def close_after() -> None:
            for pool in running:
                pool.shutdown(wait=True)
            self.client.close()

        threading.Thread(target=close_after, name="analyst-close", daemon=True).start()

    def summarize(self, candidates: Sequence[Candidate], brief: Brief) -> list[PaperSummary]:
        """One summary per candidate, in input order, at most `concurrency` calls at once."""
        return self.run_bounded(lambda c: self.summarize_one(c, brief.tracks), candidates)

    def summarize_each(
        self, candidates: Sequence[Candidate], brief: Brief
    ) -> list[PaperSummary | AnalystError]:
        """Like `summarize`, but a paper that fails gives its error and the others go on.

        Summaries already paid for are kept when the budget runs out halfway.
        """

        def attempt(candidate: Candidate) -> PaperSummary | AnalystError:
            try:
                return self.summarize_one(candidate, brief.tracks)
            except AnalystError as exc:  # BudgetExceeded included
                return exc

        return self.run_bounded(attempt, candidates)

    def summarize_one(self, candidate: Candidate, tracks: Sequence[Track]) -> PaperSummary:
        """Summarise one paper; connections only to given tracks."""
        known = {t.id for t in tracks}
        prompt = self.render(
            "summarize.md.j2",
            paper=paper_context(candidate),
            matches=[m for m in candidate.matches if m.track_id in known],
        )
        summary = self.client.ask(
            "summarize", self.messages(tracks, prompt), PaperSummary, max_tokens=1500
        )
        summary.paper_id = candidate.paper.id
        summary.connections = keep_known_tracks(summary.connections, tracks)
        return summary

    def synthesize(self, summaries: Sequence[PaperSummary], brief: Brief) -> FieldUpdate:
        """A field update across this cycle's summaries and remembered papers."""
        prompt = self.render(
            "synthesize.md.j2",
            summaries=[{"paper_id": s.paper_id, "block": summary_block(s)} for s in summaries],
            memory=[memory_context(item) for item in brief.memory],
        )
        return self.client.ask(
            "synthesize", self.messages(brief.tracks, prompt), FieldUpdate, max_tokens=1500
        )

    def judge(self, candidates: Sequence[Candidate], brief: Brief) -> list[Judgement]:
        """One judgement per candidate (its best track), asked `judge_batch` papers at a time."""
        results = self.judge_each(candidates, brief)
        failed = next((r for r in results if isinstance(r, AnalystError)), None)
        if failed is not None:
            raise failed
        return [r for r in results if isinstance(r, Judgement)]

    def judge_each(
        self, candidates: Sequence[Candidate], brief: Brief
    ) -> list[Judgement | AnalystError]:
        """Like `judge`, but a batch that fails gives its error for each of its papers and the
        verdicts already paid for are kept; batches not yet sent then fail the same way (a
        dead endpoint costs one timeout, as when the first failure stopped the rest)."""
        batches = [
            list(candidates[i : i + self.judge_batch])
            for i in range(0, len(candidates), self.judge_batch)
        ]
        failures: list[AnalystError] = []

        def attempt(batch: list[Candidate]) -> list[Judgement] | AnalystError:
            if failures:
                return failures[0]
            try:
                return self.judge_batch_of(batch, brief.tracks)
            except AnalystError as exc:  # BudgetExceeded included
                failures.append(exc)
                return exc

        results = self.run_bounded(attempt, batches)
        return [item for batch, result in zip(batches, results, strict=True)
                for item in ([result] * len(batch) if isinstance(result, AnalystError)
                             else result)]

    def judge_batch_of(
        self, candidates: list[Candidate], tracks: Sequence[Track]
    ) -> list[Judgement]:
        """Judge one batch; a reply missing a paper counts as invalid (and is repaired once)."""
        wanted = [c.paper.id for c in candidates]

        def check(parsed: Judgements) -> None:
            missing = set(wanted) - {item.paper_id for item in parsed.items}
            if missing:
                raise ValueError(f"items are missing for paper_id {', '.join(sorted(missing))}")

        prompt = self.render("judge.md.j2", papers=[paper_context(c) for c in candidates])
        parsed = self.client.ask(
            "judge",
            self.messages(tracks, prompt),
            Judgements,
            max_tokens=150 * len(candidates) + 200,
            check=check,
        )
        return [self.pick_judgement(c, parsed.items, tracks) for c in candidates]

    @staticmethod
    def pick_judgement(
        candidate: Candidate, items: list[Judgement], tracks: Sequence[Track]
    ) -> Judgement:
        """The candidate's judgement; an unknown track becomes the ranker's best track."""
        item = next(i for i in items if i.paper_id == candidate.paper.id)
        known = {t.id for t in tracks}
        if item.track_id not in known:
            fallback = candidate.matches[0].track_id if candidate.matches else None
            item = item.model_copy(update={"track_id": fallback or next(iter(known), "")})
        return item

    def deep_read(self, candidate: Candidate, text: FullText, brief: Brief) -> DeepRead:
        """Map each part of the paper to notes, then combine them; skipped parts are named."""
        tracks = brief.tracks
        chunks = plan_chunks(text.sections, self.section_tokens * 4)
        read, skipped = chunks[: self.max_map_calls], chunks[self.max_map_calls :]
        skipped_titles = [title for chunk in skipped for title in chunk.titles]
        if skipped:
            logger.info(
                "deep read of %s: %d parts over the map budget are skipped",
                candidate.paper.id,
                len(skipped),
            )
        notes = self.run_bounded(
            lambda pair: self.read_part(candidate, tracks, pair[0], len(read), pair[1]),
            list(enumerate(read, start=1)),
        )
        prompt = self.render(
            "deep_read_combine.md.j2",
            paper=paper_context(candidate),
            notes=[
                {"titles": c.titles, "block": notes_block(n)}
                for c, n in zip(read, notes, strict=True)
            ],
            memory=[memory_context(item) for item in brief.memory],
            skipped=[quote_data(t) for t in skipped_titles],
        )
        result = self.client.ask(
            "deep-read", self.messages(tracks, prompt), DeepRead, max_tokens=3000
        )
        result.paper_id = candidate.paper.id
        result.connections = keep_known_tracks(result.connections, tracks)
        if skipped_titles:
            result.limitations.append(
                f"Not read (the paper exceeds the reading budget of {self.max_map_calls} parts): "
                + "; ".join(skipped_titles)
            )
        return result

    def read_part(
        self, candidate: Candidate, tracks: Sequence[Track], part: int, parts: int, chunk: Chunk
    ) -> SectionNotes:
        """The map step: notes on one part of the full text."""
        prompt = self.render(
            "deep_read_section.md.j2",
            paper=paper_context(candidate),
            part=part,
            parts=parts,
            titles=[quote_data(t) for t in chunk.titles],
            text=quote_data(chunk.text),
        )
        return self.client.ask(
            "deep-read", self.messages(tracks, prompt), SectionNotes, max_tokens=1200
        )

    def messages(self, tracks: Sequence[Track], prompt: str) -> list[Message]:
        """System text and tracks first (a stable, cacheable prefix), the task and paper last."""
        system = self.render("system.md.j2", tracks=list(tracks))
        return [{"role": "system", "content": system}, {"role": "user", "content": prompt}]

    def render(self, name: str, **context: Any) -> str:
        return render_template(name, self.workspace, researcher=self.researcher, **context)

    def run_bounded(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """fn over items with at most `concurrency` at once; results in input order."""
        workers = max(1, min(self.settings.concurrency, len(items)))
        if workers == 1:
            return [fn(item) for item in items]
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="analyst")
        try:
            results = list(pool.map(fn, items))
        except BaseException:
            # Not `with`: its exit waits for every call in flight, so Ctrl-C (KeyboardInterrupt
            # here) would wait up to [llm] timeout_seconds before the cycle could roll back.
            # Calls not started are cancelled; those in flight end by their own deadline, and
            # close() leaves their connections open until they have.
            pool.shutdown(wait=False, cancel_futures=True)
            self._left_running.append(pool)
            raise
        pool.shutdown(wait=False)
        return results
