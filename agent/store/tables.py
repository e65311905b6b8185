"""The SQLModel tables: the current shape of the schema.

`migrations.py` builds the same shape step by step; a test checks the two agree. Callers never see
these classes: the store turns rows into `agent.models` dataclasses before returning.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from agent.store.records import ANALYSIS_KINDS, CYCLE_STATUSES, PAPER_STATUSES, QUEUE_ADDERS
from agent.store.types import UTCDateTime


class PaperRow(SQLModel, table=True):
    __tablename__ = "papers"
    __table_args__ = (
        # candidates(): the best-scored papers of a status, without grouping every score
        sa.Index("ix_papers_status_best", "status", sa.text("best_score DESC"), "id"),
        sa.Index("ix_papers_status_relevant", "status", sa.text("best_relevant DESC"), "id"),
        sa.Index("ix_papers_published", "published"),  # the oldest paper (velocity): one lookup
        sa.Index("ix_papers_first_seen", "first_seen_cycle"),  # new papers per cycle (digest)
        # relevant scores joined to their papers' dates (tracks, digest, velocity): index only
        sa.Index("ix_papers_id_dates", "id", "first_seen_cycle", "published"),
        # the judge's verdicts: judged papers, and the unread ones an LLM learn chooses from or
        # status counts (agent/waiting.py), each an index range, however many papers were judged
        sa.Index("ix_papers_verdict", "status", "verdict", "best_score", "best_relevant", "id"),
    )

    id: str = Field(primary_key=True)  # versionless arXiv id
    version: int = 1
    title: str
    authors: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    abstract: str = Field(sa_type=sa.Text)
    categories: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    published: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated: datetime | None = Field(default=None, sa_type=UTCDateTime)
    comment: str = ""
    status: str = Field(default="new", index=True)
    first_seen_cycle: int | None = None
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    # kept by save_matches: the paper's best score (-1 unscored) and best relevant one (or None)
    best_score: float = Field(default=-1.0, sa_column_kwargs={"server_default": "-1"})
    best_relevant: float | None = None
    # kept by save_analysis: the LLM judge's latest score for the paper, 0-10 (None: not judged)
    verdict: int | None = None


class ScoreRow(SQLModel, table=True):
    __tablename__ = "scores"
    # a track's best relevant papers (learn's pick), and relevant papers per track (`tracks`),
    # without reading every score
    __table_args__ = (
        sa.Index("ix_scores_track_relevant", "track_id", "relevant", "score", "paper_id"),
    )

    paper_id: str = Field(primary_key=True, foreign_key="papers.id", ondelete="CASCADE")
    track_id: str = Field(primary_key=True)
    score: float
    relevant: bool = False
    terms: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AnalysisRow(SQLModel, table=True):
    __tablename__ = "analyses"

    id: int | None = Field(default=None, primary_key=True)
    paper_id: str = Field(foreign_key="papers.id", ondelete="CASCADE", index=True)
    cycle: int
    kind: str
    track_id: str | None = None
    payload: str = Field(sa_type=sa.Text)  # JSON text
    created_at: datetime = Field(sa_type=UTCDateTime)


class CycleRow(SQLModel, table=True):
    __tablename__ = "cycles"

    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    action: str
    reason: str = Field(sa_type=sa.Text)
    status: str = Field(default="running", index=True)
    step: str | None = None
    started: datetime = Field(sa_type=UTCDateTime)
    ended: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note_path: str | None = None
    commit_sha: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text)
    result_json: str | None = Field(default=None, sa_type=sa.Text)
    pid: int | None = None


class LLMCallRow(SQLModel, table=True):
    __tablename__ = "llm_calls"

    id: int | None = Field(default=None, primary_key=True)
    cycle: int | None = Field(default=None, index=True)
    purpose: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    duration_s: float = 0.0
    outcome: str
    started: datetime = Field(sa_type=UTCDateTime, index=True)


class QueueRow(SQLModel, table=True):
    __tablename__ = "queue"

    # No foreign key: the researcher may queue an id the agent has not fetched yet.
    paper_id: str = Field(primary_key=True)
    priority: int
    reason: str = Field(sa_type=sa.Text)
    added_by: str
    added: datetime = Field(sa_type=UTCDateTime)


class RatingRow(SQLModel, table=True):
    __tablename__ = "ratings"

    id: int | None = Field(default=None, primary_key=True)
    paper_id: str = Field(index=True)
    track_id: str | None = None
    value: int
    created_at: datetime = Field(sa_type=UTCDateTime)


class CursorRow(SQLModel, table=True):
    __tablename__ = "cursors"

    source: str = Field(primary_key=True)
    value: datetime = Field(sa_type=UTCDateTime)


class MetaRow(SQLModel, table=True):
    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str = Field(sa_type=sa.Text)


class PaperVectorRow(SQLModel, table=True):
    """A paper's sentence-embedding vector under one model (agent/rank/embeddings.py)."""

    __tablename__ = "paper_vectors"

    # no foreign key: a batch is ranked (and embedded) before its papers are stored
    paper_id: str = Field(primary_key=True)
    model: str = Field(primary_key=True)
    digest: str  # of the text the vector was computed from: a changed abstract is re-embedded
    dim: int
    vector: bytes = Field(sa_type=sa.LargeBinary)  # dim float32 values, little-endian
    created_at: datetime = Field(sa_type=UTCDateTime)


class SchemaMigrationRow(SQLModel, table=True):
    """One applied migration; the schema version is the list of these."""

    __tablename__ = "schema_migrations"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    applied_at: datetime = Field(sa_type=UTCDateTime)


STORE_TABLES: tuple[str, ...] = (
    "papers",
    "scores",
    "analyses",
    "cycles",
    "llm_calls",
    "queue",
    "ratings",
    "cursors",
    "meta",
    "paper_vectors",
    "schema_migrations",
)
__all__ = ["ANALYSIS_KINDS", "CYCLE_STATUSES", "PAPER_STATUSES", "QUEUE_ADDERS", "STORE_TABLES"]
