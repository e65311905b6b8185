"""The state store: papers, scores, analyses, cycles, LLM calls, the queue, ratings and cursors.

The only package that imports sqlmodel/sqlalchemy. SQLite (WAL) by default, any SQLAlchemy URL
(`DATABASE_URL`) otherwise. Every method returns `agent.models` dataclasses or `CycleRecord`.

    store = Store("sqlite:///state/agent.db")
    with store.transaction():
        store.upsert_papers(papers, cycle=7)
        store.save_matches(matches)

Importing this package loads no database library: SQLAlchemy is imported when the first `Store`
is opened, so commands that only read a little (`status`, `log`, `tracks`, via `open_reader`)
start fast.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.store.quick import open_reader
from agent.store.records import ANALYSIS_KINDS, CYCLE_STATUSES, PAPER_STATUSES, CycleRecord

if TYPE_CHECKING:
    from agent.store.facade import Store
    from agent.store.migrations import MIGRATIONS, Migrations
else:

    class Store:
        """Opens `agent.store.facade.Store`, importing SQLAlchemy only now."""

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            from agent.store.facade import Store as RealStore

            return RealStore(*args, **kwargs)


__all__ = [
    "ANALYSIS_KINDS",
    "CYCLE_STATUSES",
    "MIGRATIONS",
    "PAPER_STATUSES",
    "CycleRecord",
    "Migrations",
    "Store",
    "open_reader",
    "sqlite_url",
]

_LAZY = {
    "MIGRATIONS": "agent.store.migrations",
    "Migrations": "agent.store.migrations",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'agent.store' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


def sqlite_url(path: str) -> str:
    """The SQLAlchemy URL of a SQLite file at `path` (what DATABASE_URL holds by default)."""
    return f"sqlite:///{Path(path).expanduser()}"
