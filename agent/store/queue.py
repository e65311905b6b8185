"""The must-read queue and the researcher's ratings."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from agent.models import QueueItem, Rating
from agent.store.base import StoreBase, record_from_row
from agent.store.tables import QUEUE_ADDERS, PaperRow, QueueRow, RatingRow
from agent.store.types import to_utc


def queue_item_from_row(row: QueueRow, title: str | None) -> QueueItem:
    return record_from_row(QueueItem, row, title=title or "")


class QueueStore(StoreBase):
    """Queries over the queue and ratings."""

    def queue_add(self, item: QueueItem) -> bool:
        """Queue a paper; False if it was queued already.

        A re-add by the researcher sets priority and reason (their word is final); a re-add by
        the agent only ever raises the priority of its own entry and never touches theirs.
        """
        if item.added_by not in QUEUE_ADDERS:
            raise ValueError(f"added_by must be one of {QUEUE_ADDERS}, not {item.added_by!r}")
        with self._db_session(write=True) as session:
            row = session.get(QueueRow, item.paper_id)
            if row is None:
                session.add(
                    QueueRow(
                        paper_id=item.paper_id,
                        priority=item.priority,
                        reason=item.reason,
                        added_by=item.added_by,
                        added=item.added or self._now(),
                    )
                )
                return True
            if item.added_by == "user":
                row.priority, row.reason, row.added_by = item.priority, item.reason, "user"
                # a fresh entry: a deep read of this paper under way does not take it away
                row.added = item.added or self._now()
            elif row.added_by == "agent":
                row.priority = max(row.priority, item.priority)
            return False

    def queue_get(self, paper_id: str) -> QueueItem | None:
        """One queue entry as stored, or None."""
        return next((item for item in self.queue_list() if item.paper_id == paper_id), None)

    def queue_list(self) -> list[QueueItem]:
        """The queue in reading order: priority, then the researcher's picks, then oldest."""
        query = (
            select(QueueRow, PaperRow.title)
            .join(PaperRow, col(PaperRow.id) == QueueRow.paper_id, isouter=True)
            .order_by(
                col(QueueRow.priority).desc(),
                sa.case((col(QueueRow.added_by) == "user", 0), else_=1),
                col(QueueRow.added),
                col(QueueRow.paper_id),
            )
        )
        with self._db_session() as session:
            return [queue_item_from_row(row, title) for row, title in session.exec(query)]

    def queue_drop(self, paper_id: str, added_before: datetime | None = None) -> bool:
        """Remove a paper from the queue; False if it was not there.

        With `added_before`, an entry added at or after that time is kept: a cycle that read the
        paper must not drop what the researcher queued again while it ran.
        """
        with self._db_session(write=True) as session:
            row = session.get(QueueRow, paper_id)
            if row is None:
                return False
            if added_before is not None and to_utc(row.added) >= to_utc(added_before):
                return False
            session.delete(row)
            return True

    def queue_top(self) -> QueueItem | None:
        """The paper to deep-read next."""
        items = self.queue_list()
        return items[0] if items else None

    def add_rating(self, rating: Rating) -> None:
        """Record a verdict (value 0 clears one); the history is kept, the latest counts."""
        row = RatingRow(
            paper_id=rating.paper_id,
            track_id=rating.track_id,
            value=rating.value,
            created_at=self._now(),
        )
        with self._db_session(write=True) as session:
            session.add(row)
