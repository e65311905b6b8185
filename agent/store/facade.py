"""The store itself: one class over the query mixins (papers, cycles, queue)."""

from __future__ import annotations

from agent.store.cycles import CycleStore
from agent.store.papers import PaperStore
from agent.store.queue import QueueStore


class Store(PaperStore, CycleStore, QueueStore):
    """The agent's state in one database. Outside `transaction()` each call commits on its own."""

    def __enter__(self) -> Store:
        return self
