"""Cycles, LLM calls (what a cycle cost), source cursors and small key/value metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import col, select

from agent.models import LLMCall
from agent.store.base import StoreBase, record_from_row
from agent.store.records import CycleRecord
from agent.store.tables import CYCLE_STATUSES, CursorRow, CycleRow, LLMCallRow, MetaRow
from agent.store.types import to_utc

KeyValue = TypeVar("KeyValue", CursorRow, MetaRow)

UNFINISHED = ("running", "note_written")
UPDATABLE = frozenset(
    {
        "status",
        "step",
        "note_path",
        "commit_sha",
        "tokens_in",
        "tokens_out",
        "error",
        "ended",
        "result_json",
        "action",
        "reason",
    }
)


def cycle_from_row(row: CycleRow) -> CycleRecord:
    return record_from_row(CycleRecord, row)


def check_cycle_fields(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - UPDATABLE)
    if unknown:
        raise TypeError(f"update_cycle() got unknown fields {unknown}")
    if "status" in fields and fields["status"] not in CYCLE_STATUSES:
        raise ValueError(f"unknown cycle status {fields['status']!r}; expected {CYCLE_STATUSES}")


class CycleStore(StoreBase):
    """Queries over cycles, LLM calls, cursors and meta."""

    def next_cycle_number(self) -> int:
        with self._db_session() as session:
            highest = session.exec(select(sa.func.max(CycleRow.number))).one()
        return (highest or 0) + 1

    def start_cycle(
        self,
        action: str,
        reason: str,
        started: datetime,
        number: int | None = None,
        pid: int | None = None,
    ) -> int:
        """Record a running cycle and return its number (the next free one unless given)."""
        with self._db_session(write=True) as session:
            if number is None:
                number = self.next_cycle_number()
            elif session.get(CycleRow, number) is not None:
                raise ValueError(f"cycle {number} already exists")
            session.add(
                CycleRow(number=number, action=action, reason=reason, started=started, pid=pid)
            )
        return number

    def update_cycle(self, number: int, **fields: Any) -> None:
        """Set some of: status, step, note_path, commit_sha, tokens, error, ended, result_json."""
        check_cycle_fields(fields)
        with self._db_session(write=True) as session:
            row = session.get(CycleRow, number)
            if row is None:
                raise ValueError(f"no cycle {number} to update")
            for name, value in fields.items():
                setattr(row, name, value)

    def get_cycle(self, number: int) -> CycleRecord | None:
        with self._db_session() as session:
            row = session.get(CycleRow, number)
            return cycle_from_row(row) if row else None

    def recent_cycles(self, limit: int = 20) -> list[CycleRecord]:
        """The latest cycles, newest first."""
        query = select(CycleRow).order_by(col(CycleRow.number).desc()).limit(limit)
        with self._db_session() as session:
            return [cycle_from_row(row) for row in session.exec(query)]

    def last_cycle(
        self, action: str | None = None, statuses: Sequence[str] = ("committed",)
    ) -> CycleRecord | None:
        """The newest cycle in one of `statuses`, of `action` if given."""
        query = select(CycleRow).where(col(CycleRow.status).in_(statuses))
        if action is not None:
            query = query.where(CycleRow.action == action)
        with self._db_session() as session:
            row = session.exec(query.order_by(col(CycleRow.number).desc()).limit(1)).first()
            return cycle_from_row(row) if row else None

    def unfinished_cycles(self) -> list[CycleRecord]:
        """Cycles still running or with a note written but not committed, oldest first."""
        query = select(CycleRow).where(col(CycleRow.status).in_(UNFINISHED))
        with self._db_session() as session:
            return [
                cycle_from_row(row) for row in session.exec(query.order_by(col(CycleRow.number)))
            ]

    def get_cursor(self, source: str) -> datetime | None:
        row = self._get(CursorRow, source)
        return row.value if row else None

    def set_cursor(self, source: str, value: datetime) -> None:
        self._put(CursorRow(source=source, value=value))

    def record_llm_call(self, call: LLMCall) -> None:
        row = LLMCallRow(**{**asdict(call), "started": call.started or self._now()})
        with self._db_session(write=True) as session:
            session.add(row)

    def tokens_since(self, since: datetime) -> tuple[int, int]:
        """(tokens in, tokens out) of the LLM calls started at or after `since`."""
        return self._token_sums(col(LLMCallRow.started) >= to_utc(since))

    def tokens_for_cycle(self, cycle: int) -> tuple[int, int]:
        """(tokens in, tokens out) of one cycle's LLM calls."""
        return self._token_sums(col(LLMCallRow.cycle) == cycle)

    def _token_sums(self, condition: sa.ColumnElement[bool]) -> tuple[int, int]:
        query = select(
            sa.func.coalesce(sa.func.sum(LLMCallRow.tokens_in), 0),
            sa.func.coalesce(sa.func.sum(LLMCallRow.tokens_out), 0),
        ).where(condition)
        with self._db_session() as session:
            tokens_in, tokens_out = session.exec(query).one()
        return int(tokens_in), int(tokens_out)

    def get_meta(self, key: str) -> str | None:
        row = self._get(MetaRow, key)
        return row.value if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._put(MetaRow(key=key, value=value))

    def _get(self, table: type[KeyValue], key: str) -> KeyValue | None:
        with self._db_session() as session:
            return session.get(table, key)

    def _put(self, row: CursorRow | MetaRow) -> None:
        """Insert the row, or update the one with its key (cursors and meta are key → value)."""
        with self._db_session(write=True) as session:
            session.merge(row)
