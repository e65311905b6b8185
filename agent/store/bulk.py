"""Bulk writes in Core: one INSERT ... ON CONFLICT per batch, in the database's own dialect.

A year of papers is 300-500k rows; going through ORM objects cost ~2.4 ms a paper. These build a
dialect-specific upsert (SQLite and PostgreSQL both speak ON CONFLICT) and send rows in batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from agent.errors import ConfigError

BATCH = 2000  # rows per executemany; SQLAlchemy splits further to respect parameter limits


def upsert_statement(
    dialect: str,
    table: sa.Table,
    keys: Sequence[str],
    update: Sequence[str],
    only_if: Any = None,
) -> Any:
    """INSERT into `table`; on a conflict over `keys` set the `update` columns from the new row.

    `only_if(table, excluded)` may return a condition under which the existing row is updated.
    """
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        statement: Any = sqlite.insert(table)
    elif dialect == "postgresql":
        from sqlalchemy.dialects import postgresql  # ~0.2 s to import: only when it is in use

        statement = postgresql.insert(table)
    else:
        raise ConfigError(
            f"the store supports SQLite and PostgreSQL, not {dialect}; set DATABASE_URL to a "
            "sqlite:/// or postgresql+psycopg:// URL"
        )
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: excluded[name] for name in update},
        where=only_if(table, excluded) if only_if is not None else None,
    )


def batches(
    rows: Sequence[dict[str, Any]], size: int = BATCH
) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
