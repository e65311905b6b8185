"""The engine: any SQLAlchemy URL; SQLite gets WAL, foreign keys, a busy timeout and real BEGINs.

Everything SQLite-specific lives in this module, so the rest of the store runs unchanged on
PostgreSQL (`DATABASE_URL=postgresql+psycopg://...`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from agent.errors import ConfigError, DatabaseDamaged
from agent.text import hide_password

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# Execution option the store sets on connections that will write; SQLite then takes its write
# lock at BEGIN instead of failing with SQLITE_BUSY when a read later turns into a write.
WRITE_OPTION = "store_write"


def parse_url(url: str) -> URL:
    """A SQLAlchemy URL; a bare filesystem path means a SQLite file there."""
    if "://" not in url:
        return URL.create("sqlite", database=str(Path(url).expanduser()))
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as e:  # ValueError: a port that is not a number
        shown = hide_password(url)
        raise ConfigError(
            f"database URL {shown!r} is not a valid SQLAlchemy URL "
            f"({str(e).replace(url, shown)}); set DATABASE_URL to "
            "e.g. sqlite:///state/agent.db or postgresql+psycopg://user@host/db"
        ) from None


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_store_engine(url: str) -> sa.Engine:
    """An engine for `url`, with the parent directory of a SQLite file created if missing."""
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if is_memory(parsed):
            # One shared connection, or every pooled connection would see its own empty db.
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        elif parsed.database and not parsed.database.startswith("file:"):
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as e:
        shown = parsed.render_as_string(hide_password=True)
        raise ConfigError(
            f"no database driver for {shown} ({e}); install the driver named in the URL "
            "(e.g. pip install 'psycopg[binary]') or use a sqlite:/// URL"
        ) from e
    if engine.dialect.name == "sqlite":
        install_sqlite_hooks(engine)
        install_damage_check(engine, parsed.database or "")
    elif engine.dialect.name == "postgresql":
        install_postgres_hooks(engine)
    return engine


# One number per purpose for PostgreSQL advisory locks (any bigint; these spell "radar").
WRITE_LOCK = 0x7261646172
MIGRATION_LOCK = 0x7261646173


def install_postgres_hooks(engine: sa.Engine) -> None:
    """Writes take one database-wide lock at BEGIN, as SQLite's BEGIN IMMEDIATE does.

    The store's read-then-write steps (next cycle number, upserts, the queue) then behave on
    PostgreSQL exactly as on SQLite: the daemon and a researcher's morning command never
    interleave two writes, and a reader never waits. The lock ends with the transaction.
    """

    @sa.event.listens_for(engine, "begin")
    def on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION, False):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")


# What SQLite (or the driver) says when pages of a research-agent file are corrupted (not "locked",
# "readonly", or "file is not a database": that is a DATABASE_URL naming some other file).
_DAMAGE = ("malformed", "could not decode", "disk i/o error", "corrupt")


def install_damage_check(engine: sa.Engine, path: str) -> None:
    """Turn SQLite's "database disk image is malformed" (with the SQL it ran) into one message
    naming the file and how to recover."""

    @sa.event.listens_for(engine, "handle_error")
    def on_error(context: Any) -> None:
        reason = damage_reason(context.original_exception)
        if reason is not None:
            raise DatabaseDamaged(damaged_message(path, reason)) from None


def damage_reason(error: BaseException) -> str | None:
    """SQLite's words when `error` says the file's pages are damaged (no SQL); None otherwise."""
    reason = str(error).split(" with text ")[0][:120]
    return reason if any(mark in reason.lower() for mark in _DAMAGE) else None


def damaged_message(path: str, reason: str) -> str:
    """Which file is damaged, what is safe, how to recover, what comes back and what is lost."""
    return (
        f"the database file {path} is damaged ({reason}). Your cycle notes, knowledge graph and "
        "tracks are in git and intact. To recover: stop the daemon, move the file aside "
        f"(mv {path} {path}.damaged, and its -wal and -shm files if present), then run the "
        "command again. A new database is created; the cycle history is rebuilt from the "
        "commits' `Cycle: N` trailers and the next scans fetch papers again. Lost: the must-read "
        "queue, your ratings, the stored summaries and scores (the notes still hold their text)."
    )


def install_sqlite_hooks(engine: sa.Engine) -> None:
    """Pragmas on every new connection, and BEGIN emitted by us (pysqlite's own is unreliable)."""

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Take transaction control away from the driver: it skips BEGIN before SELECT and DDL,
        # which would make migrations non-atomic.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
