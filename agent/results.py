"""What an action hands back to the cycle: plain data, rendered by notes.py, applied by the store.

Actions fill these and never write files; notes render them and never fetch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from agent.analyst.schemas import DeepRead, FieldUpdate, Judgement, PaperSummary
from agent.models import FullText, Match, MemoryItem, Paper, QueueItem
from agent.velocity import TrackVelocity


@dataclass
class PaperSection:
    """One paper in a note: metadata, the ranker's matches, and what the analyst made of it."""

    paper: Paper
    matches: list[Match] = field(default_factory=list)  # best first
    summary: PaperSummary | None = None
    judgement: Judgement | None = None  # "Why this paper" when an LLM judged it
    related: list[MemoryItem] = field(default_factory=list)  # earlier papers it connects to


@dataclass
class ScanStats:
    """What a scan fetched."""

    source: str
    queries: list[str] = field(default_factory=list)
    fetched: int = 0
    new: int = 0
    updated: int = 0
    since: datetime | None = None
    cursor: datetime | None = None
    categories: list[str] = field(default_factory=list)  # watched: the listing read in full
    listed: dict[str, int] = field(default_factory=dict)  # papers listed per watched category
    new_by_category: dict[str, int] = field(default_factory=dict)  # of them, new to the store
    keyword_tracks: list[str] = field(default_factory=list)  # tracks without categories
    requests: int = 0  # HTTP requests the source made


@dataclass
class CycleResult:
    """Everything one cycle produced, before anything is written or committed."""

    action: str
    summary_line: str  # short, for the commit message: "3 papers", "41 new papers"
    papers: list[PaperSection] = field(default_factory=list)
    field_update: FieldUpdate | None = None
    deep_read: DeepRead | None = None
    full_text: FullText | None = None
    scan: ScanStats | None = None
    best_per_track: dict[str, list[PaperSection]] = field(default_factory=dict)  # scan
    new_papers: list[Paper] = field(default_factory=list)  # to store (scan, discovery)
    matches: list[Match] = field(default_factory=list)  # to store
    memory: list[MemoryItem] = field(default_factory=list)  # earlier papers drawn on
    queued: list[QueueItem] = field(default_factory=list)  # what learn put on the queue
    queue_after: list[QueueItem] = field(default_factory=list)  # for the Next section
    next_steps: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # offline fallback, failures, discovery
    judgements: list[Judgement] = field(default_factory=list)  # every verdict, kept or rejected
    discovery: bool = False  # learn found nothing new and searched older papers
    velocity: list[TrackVelocity] = field(default_factory=list)  # learn: papers per track over time
    analyst: str = "offline"
    offline_papers: list[str] = field(default_factory=list)  # read offline in the LLM's place
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cursor: datetime | None = None  # new since-cursor of the source, applied on commit
    source: str = ""
    rank_fingerprint: str = ""  # learn re-ranked: the tracks and ratings its scores reflect
