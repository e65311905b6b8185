"""The store itself: one class over the query mixins (search, papers, cycles, queue, vectors)."""

from __future__ import annotations

from agent.store.cycles import CycleStore
from agent.store.queue import QueueStore
from agent.store.ranked import RankedStore
from agent.store.search import SearchStore
from agent.store.vectors import VectorStore


class Store(SearchStore, RankedStore, CycleStore, QueueStore, VectorStore):
    """The agent's state in one database. Outside `transaction()` each call commits on its own."""

    def __enter__(self) -> Store:
        return self
