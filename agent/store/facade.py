"""The store itself: one class over the query mixins (search, papers, cycles, queue)."""

from __future__ import annotations

from agent.store.cycles import CycleStore
from agent.store.queue import QueueStore
from agent.store.ranked import RankedStore
from agent.store.search import SearchStore


class Store(SearchStore, RankedStore, CycleStore, QueueStore):
    """The agent's state in one database. Outside `transaction()` each call commits on its own."""

    def __enter__(self) -> Store:
        return self
