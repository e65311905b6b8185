"""The state store: papers, scores, analyses, cycles, LLM calls, the queue, ratings and cursors.

The only package that imports sqlmodel/sqlalchemy. SQLite (WAL) by default, any SQLAlchemy URL
(`DATABASE_URL`) otherwise. Every method returns `agent.models` dataclasses or `CycleRecord`.

    store = Store("sqlite:///state/agent.db")
    with store.transaction():
        store.upsert_papers(papers, cycle=7)
        store.save_matches(matches)
"""

from __future__ import annotations

from pathlib import Path

from agent.store.cycles import CycleRecord, CycleStore
from agent.store.migrations import MIGRATIONS, Migrations
from agent.store.papers import PaperStore
from agent.store.queue import QueueStore
from agent.store.search import SearchStore
from agent.store.tables import ANALYSIS_KINDS, CYCLE_STATUSES, PAPER_STATUSES

__all__ = [
    "ANALYSIS_KINDS",
    "CYCLE_STATUSES",
    "MIGRATIONS",
    "PAPER_STATUSES",
    "CycleRecord",
    "Migrations",
    "Store",
    "sqlite_url",
]


class Store(SearchStore, PaperStore, CycleStore, QueueStore):
    """The agent's state in one database. Outside `transaction()` each call commits on its own."""

    def __enter__(self) -> Store:
        return self


def sqlite_url(path: str) -> str:
    """The SQLAlchemy URL of a SQLite file at `path` (what DATABASE_URL holds by default)."""
    return f"sqlite:///{Path(path).expanduser()}"
