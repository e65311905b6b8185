"""The Analyst boundary: reads papers against tracks. `llm.py` and `offline.py` implement it.

`backends.py` names the backends a cycle can choose from; `fallback.py` puts the offline analyst
behind the LLM one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from agent.analyst.schemas import DeepRead, FieldUpdate, Judgement, PaperSummary
from agent.errors import AnalystError
from agent.models import FullText, LLMCall, Match, MemoryItem, Paper, Track

UsageSink = Callable[[LLMCall], None]


@dataclass
class Candidate:
    """A paper handed to the analyst, with the ranker's view of it per track (best first)."""

    paper: Paper
    matches: list[Match] = field(default_factory=list)


@dataclass(frozen=True)
class Brief:
    """What every reading is done against: the researcher's tracks (highest priority first)
    and the earlier papers remembered as bearing on this cycle's (none before they are recalled).
    """

    tracks: Sequence[Track]
    memory: Sequence[MemoryItem] = ()

    def __post_init__(self) -> None:  # frozen all the way down: callers may pass lists
        object.__setattr__(self, "tracks", tuple(self.tracks))
        object.__setattr__(self, "memory", tuple(self.memory))


@runtime_checkable
class Analyst(Protocol):
    """Reads papers against the researcher's tracks, each call given the cycle's `Brief`.

    `name` is "llm" or "offline" (or a test's own); `model` names the model, or None offline.
    Implementations report every LLM call through the `UsageSink` they were built with.
    A backend that subclasses `Analyst` inherits the defaults below and writes the four readings.
    """

    name: str
    model: str | None
    judges_first: bool = True  # judge candidates before the (costly) summaries; off offline
    notices: Sequence[str] = ()  # what the note must say about how this cycle was read
    # papers judged this cycle by a stand-in in this analyst's place (the offline analyst in
    # the LLM's): their verdicts may be shown, never kept as this analyst's
    stand_in_judged: Collection[str] = frozenset()
    offline_papers: Sequence[str] = ()  # ids the offline analyst read in the model's place

    @property
    def label(self) -> str:
        """How the note names who read the papers."""
        return self.name

    def close(self) -> None:
        """Release what the backend holds (an HTTP connection pool); called once per cycle."""
        return None

    def summarize_each(
        self, candidates: Sequence[Candidate], brief: Brief
    ) -> list[PaperSummary | AnalystError]:
        """Like `summarize`, but a paper that fails gives its error and the others go on."""
        return [*self.summarize(candidates, brief)]

    def summarize(self, candidates: Sequence[Candidate], brief: Brief) -> list[PaperSummary]:
        """One summary per candidate, in the same order; connections only to the brief's tracks."""
        ...

    def synthesize(self, summaries: Sequence[PaperSummary], brief: Brief) -> FieldUpdate:
        """A field update across this cycle's summaries and the brief's remembered papers."""
        ...

    def judge_each(
        self, candidates: Sequence[Candidate], brief: Brief
    ) -> list[Judgement | AnalystError]:
        """Like `judge`, in the same order, but a paper whose judging failed gives the error and
        the others' verdicts are kept."""
        return [*self.judge(candidates, brief)]

    def judge(self, candidates: Sequence[Candidate], brief: Brief) -> list[Judgement]:
        """Score each (candidate, its best track) 0-10 with a one-line reason."""
        ...

    def deep_read(self, candidate: Candidate, text: FullText, brief: Brief) -> DeepRead:
        """A structured reading of the full text, section by section within a token budget,
        related to the brief's tracks and remembered papers."""
        ...
