"""Plain data passed between the parts: no I/O, no vendor imports.

Every module speaks these types, so a part can be swapped (a replaying source, a scripted analyst)
without the others noticing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Action = Literal["scan", "learn", "deep-read", "rest"]
ACTIONS: tuple[str, ...] = ("scan", "learn", "deep-read", "rest")

PaperStatus = Literal["new", "ranked", "summarized", "queued", "read", "dismissed"]


@dataclass(frozen=True)
class Paper:
    """arXiv metadata of one paper. `id` is versionless ("2602.15307", "hep-th/9901001")."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # primary first
    version: int = 1
    published: datetime | None = None  # UTC, first version
    updated: datetime | None = None  # UTC, this version
    comment: str = ""

    @property
    def primary_category(self) -> str:
        return self.categories[0] if self.categories else ""

    @property
    def versioned_id(self) -> str:
        return f"{self.id}v{self.version}"

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"


@dataclass(frozen=True)
class Track:
    """One research question of the researcher (a `[[track]]` in state/tracks.toml)."""

    id: str
    name: str
    description: str
    keywords: tuple[str, ...]
    priority: int  # 1 (background) .. 5 (top)
    exclude: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True)
class Match:
    """Relevance of one paper to one track, as the ranker sees it.

    `score` is in [0, 1] and comparable across tracks; `relevant` means score >= the track's
    threshold; `terms` are the track keywords/terms that matched (shown in offline notes).
    """

    paper_id: str
    track_id: str
    score: float
    relevant: bool = False
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rating:
    """The researcher's verdict on a paper, optionally for one track only."""

    paper_id: str
    value: int  # +1 up, -1 down
    track_id: str | None = None


@dataclass(frozen=True)
class LLMCall:
    """One call to the LLM endpoint, recorded in the store so a cycle's cost is a query."""

    purpose: str  # "summarize", "synthesize", "judge", "deep-read", "repair"
    model: str
    tokens_in: int
    tokens_out: int
    duration_s: float
    outcome: str  # "ok", "invalid", "length", "timeout", "error", "budget"
    started: datetime | None = None
    cycle: int | None = None


@dataclass(frozen=True)
class MemoryItem:
    """A paper the agent met in an earlier cycle, recalled to put new papers in context."""

    paper_id: str
    title: str
    cycle: int | None  # the cycle that found or summarised it
    takeaway: str  # one line: headline of its summary, or its first sentence
    track_ids: tuple[str, ...] = ()
    score: float = 0.0


@dataclass(frozen=True)
class Decision:
    """What a cycle will do and why, in a sentence a person understands."""

    action: str  # one of ACTIONS
    reason: str


@dataclass
class QueueItem:
    """A paper waiting for a deep read."""

    paper_id: str
    priority: int
    reason: str
    added_by: str  # "user" or "agent"
    added: datetime | None = None
    title: str = ""


@dataclass
class FullText:
    """A paper's text as read: where it came from and its sections (title, text)."""

    paper_id: str
    source: Literal["html", "pdf", "abstract"]
    sections: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    @property
    def chars(self) -> int:
        return sum(len(t) for _, t in self.sections)
