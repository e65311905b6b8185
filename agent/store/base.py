"""The store's engine, sessions and transactions; the query mixins build on `StoreBase`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session

from agent.closing import Closing
from agent.errors import ConfigError
from agent.store.engine import WRITE_OPTION, create_store_engine
from agent.store.migrations import MIGRATIONS, Migrations, apply_migrations
from agent.store.types import to_utc, utc_now

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

log = logging.getLogger(__name__)

# SQLite limits bound parameters per statement; IN (...) lists are sent in chunks of this size.
CHUNK = 500


class StoreBase(Closing):
    """Opens the database, applies pending migrations, and hands out sessions."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        migrations: Migrations = MIGRATIONS,
    ) -> None:
        self.url = url
        self._clock = clock
        self._local = threading.local()
        self._engine = create_store_engine(url)
        try:
            self.applied = apply_migrations(self._engine, migrations, self._now)
        except DatabaseError as e:
            self._engine.dispose()
            shown = self._engine.url.render_as_string(hide_password=True)
            raise ConfigError(
                f"could not open the database {shown}: {e.orig}. Check DATABASE_URL (or "
                "database_url in research.toml) and that the file is a research-agent database."
            ) from e

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group every store call inside into one atomic transaction; nested blocks join it."""
        with self._db_session(write=True):
            yield

    @contextmanager
    def _db_session(self, write: bool = False) -> Iterator[Session]:
        """The session of the enclosing transaction, or a short one committed on exit."""
        current: Session | None = getattr(self._local, "session", None)
        if current is not None:
            yield current
            return
        session = Session(self._engine, expire_on_commit=False, autoflush=True)
        if write:
            session.connection(execution_options={WRITE_OPTION: True})
        self._local.session = session
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            self._local.session = None
            session.close()

    def _now(self) -> datetime:
        return to_utc(self._clock())

    def _execute(self, statement: sa.Executable) -> None:
        """Run one Core statement (bulk update/delete) in the current transaction."""
        with self._db_session(write=True) as session:
            session.exec(statement)  # type: ignore[call-overload]


def chunks(items: list[str], size: int = CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


R = TypeVar("R", bound="DataclassInstance")


def record_from_row(record: type[R], row: Any, **given: Any) -> R:
    """A plain record from a row: each field read from the row's attribute of the same name,
    except those `given` (values the row does not hold as the record wants them)."""
    values = {name: getattr(row, name) for name in field_names(record) if name not in given}
    return record(**values, **given)


@cache
def field_names(record: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(record))
