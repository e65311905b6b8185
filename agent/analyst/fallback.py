"""Use the LLM analyst while it works; fall back to the offline analyst, and say so.

An overnight run must not die because the endpoint is down or the budget ran out: the note is
still written, honestly labelled for the papers the offline analyst read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from agent.analyst import Analyst, Brief, Candidate
from agent.analyst.schemas import DeepRead, FieldUpdate, Judgement, PaperSummary
from agent.errors import AnalystError, BudgetExceeded
from agent.logs import redact_secrets
from agent.models import FullText
from agent.text import plural

logger = logging.getLogger(__name__)
T = TypeVar("T")


class FallbackAnalyst(Analyst):
    """An Analyst that tries `primary`; once it fails, `fallback` does the rest of the cycle."""

    def __init__(self, primary: Analyst, fallback: Analyst):
        self.primary = primary
        self.fallback = fallback
        self.notices: list[str] = []
        self.offline_papers: list[str] = []  # the note credits these readings to no model
        self.failed = False
        self.used_fallback = False
        self.stand_in_judged: set[str] = set()  # papers the fallback judged in primary's place
        self.name = primary.name
        self.model = primary.model
        self.judges_first = primary.judges_first

    def call(self, what: str, primary: Callable[[], T], fallback: Callable[[], T]) -> T:
        """Run the primary step unless it already failed this cycle; else the offline one."""
        if not self.failed:
            try:
                return primary()
            except AnalystError as exc:  # BudgetExceeded included
                self.fail(failure_notice(what, exc, "did the rest of this cycle"))
        self.used_fallback = True
        return fallback()

    def fail(self, notice: str) -> None:
        logger.warning(notice)
        self.failed = True
        self.notices.append(notice)

    def summarize(self, candidates: Sequence[Candidate], brief: Brief) -> list[PaperSummary]:
        results = self.call(
            "summaries",
            lambda: self.primary.summarize_each(candidates, brief),
            lambda: self.fallback.summarize_each(self.read_offline(candidates), brief),
        )
        return self.summarize_partly(results, candidates, brief)

    def summarize_partly(
        self,
        results: list[PaperSummary | AnalystError],
        candidates: Sequence[Candidate],
        brief: Brief,
    ) -> list[PaperSummary]:
        """Keep the LLM's summaries; the offline analyst summarises the papers it could not."""
        done = [r for r in results if isinstance(r, PaperSummary)]
        missing = [c for c, r in zip(candidates, results, strict=True)
                   if not isinstance(r, PaperSummary)]
        if not missing:
            return done
        error = next(r for r in results if isinstance(r, AnalystError))
        ids = ", ".join(f"arXiv:{c.paper.id}" for c in missing)
        self.fail(failure_notice("summaries", error, f"summarised {ids} and did the rest of "
                                 "this cycle"))
        self.used_fallback = True
        offline = iter(self.fallback.summarize(self.read_offline(missing), brief))
        return [r if isinstance(r, PaperSummary) else next(offline) for r in results]

    def synthesize(self, summaries: Sequence[PaperSummary], brief: Brief) -> FieldUpdate:
        return self.call(
            "the field update",
            lambda: self.primary.synthesize(summaries, brief),
            lambda: self.fallback.synthesize(summaries, brief),
        )

    def judge(self, candidates: Sequence[Candidate], brief: Brief) -> list[Judgement]:
        """The primary's verdicts; the fallback judges the papers it could not, which are
        named in `stand_in_judged` (the fallback's verdict is not the LLM's)."""
        results = self.primary_verdicts(candidates, brief)
        missing = [c for c, r in zip(candidates, results, strict=True)
                   if not isinstance(r, Judgement)]
        if missing:
            self.used_fallback = True
            self.stand_in_judged.update(c.paper.id for c in missing)
            offline = iter(self.fallback.judge(missing, brief))
            return [r if isinstance(r, Judgement) else next(offline) for r in results]
        return [r for r in results if isinstance(r, Judgement)]

    def primary_verdicts(
        self, candidates: Sequence[Candidate], brief: Brief
    ) -> list[Judgement | AnalystError]:
        """The primary's verdict or error per candidate (all errors once it failed this cycle);
        a failure is noted once, with how many candidates the fallback judges in its place."""
        if self.failed:
            return [AnalystError("the LLM failed earlier in this cycle")] * len(candidates)
        try:
            results = self.primary.judge_each(candidates, brief)
        except AnalystError as exc:  # a backend without batches fails as a whole
            results = [exc] * len(candidates)
        errors = [r for r in results if isinstance(r, AnalystError)]
        if errors:
            share = "all" if len(errors) == len(candidates) else f"{len(errors)} of the"
            self.fail(failure_notice("judging", errors[0], f"judged {share} "
                                     f"{plural(len(candidates), 'candidate')} in its place and "
                                     "did the rest of this cycle"))
        return results

    def deep_read(self, candidate: Candidate, text: FullText, brief: Brief) -> DeepRead:
        return self.call(
            "the deep read",
            lambda: self.primary.deep_read(candidate, text, brief),
            lambda: self.fallback.deep_read(self.read_offline([candidate])[0], text, brief),
        )

    def read_offline(self, candidates: Sequence[Candidate]) -> Sequence[Candidate]:
        """Note that the offline analyst reads these papers in the model's place."""
        self.offline_papers.extend(c.paper.id for c in candidates)
        return candidates

    def close(self) -> None:
        for analyst in (self.primary, self.fallback):
            analyst.close()

    @property
    def label(self) -> str:
        """How the note names who read the papers."""
        if self.used_fallback:
            return f"{self.primary.name}+offline"
        return self.primary.name


def failure_notice(what: str, error: AnalystError, did: str) -> str:
    """The note's word on why the offline analyst took over, and what it did."""
    # The notice goes into the committed note: no key, URL userinfo or key parameter in it.
    if isinstance(error, BudgetExceeded):
        return redact_secrets(
            f"Token budget reached during {what} ({error}); the offline analyst {did}."
        )
    return redact_secrets(f"The LLM failed during {what} ({error}); the offline analyst {did}.")
