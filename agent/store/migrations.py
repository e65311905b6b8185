"""Named, ordered schema migrations, each applied in the same transaction as the row recording it.

Modelled on sqlite_utils/migrations.py. A migration is a function of a SQLAlchemy `Connection`
that is already inside a transaction. Migration bodies are frozen: they never import the current
tables, so migration 1 still builds the *first* schema after later migrations change tables.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from agent.errors import ConfigError
from agent.store.engine import MIGRATION_LOCK, WRITE_OPTION
from agent.store.tables import SchemaMigrationRow
from agent.store.types import UTCDateTime

log = logging.getLogger(__name__)

MigrationFn = Callable[[sa.Connection], None]
MIGRATIONS_TABLE: sa.Table = SchemaMigrationRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Migration:
    name: str
    fn: MigrationFn


class Migrations:
    """An ordered list of named migrations; `@migrations()` registers a function."""

    def __init__(self, migrations: list[Migration] | None = None) -> None:
        self._migrations: list[Migration] = list(migrations or [])

    def __call__(self, *, name: str | None = None) -> Callable[[MigrationFn], MigrationFn]:
        def inner(fn: MigrationFn) -> MigrationFn:
            migration_name = name or fn.__name__
            if migration_name in self.names:
                raise ValueError(f"duplicate migration name {migration_name!r}")
            self._migrations.append(Migration(migration_name, fn))
            return fn

        return inner

    @property
    def names(self) -> list[str]:
        return [m.name for m in self._migrations]

    def copy(self) -> Migrations:
        """A copy to extend (tests simulate a later release this way)."""
        return Migrations(self._migrations)

    def __iter__(self) -> Iterator[Migration]:
        return iter(self._migrations)

    def __repr__(self) -> str:
        return f"<Migrations [{', '.join(self.names)}]>"


def applied_migrations(conn: sa.Connection) -> list[str]:
    """Names of the migrations recorded in the database, in the order they were applied."""
    MIGRATIONS_TABLE.create(conn, checkfirst=True)
    query = sa.select(MIGRATIONS_TABLE.c.name).order_by(MIGRATIONS_TABLE.c.id)
    return list(conn.scalars(query))


def apply_migrations(
    engine: sa.Engine, migrations: Migrations, now: Callable[[], datetime]
) -> list[str]:
    """Apply every pending migration, one transaction each; return the names applied."""
    done: list[str] = []
    for migration in migrations:
        # The write option makes SQLite take its write lock at BEGIN, so two processes opening
        # the same new database serialise here and the second one sees the first one's rows.
        with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
            if conn.dialect.name == "postgresql":  # SQLite serialises at BEGIN IMMEDIATE
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            applied = applied_migrations(conn)
            check_known(applied, migrations, engine)
            if migration.name in applied:
                continue
            log.info("applying migration %s", migration.name)
            migration.fn(conn)
            conn.execute(MIGRATIONS_TABLE.insert().values(name=migration.name, applied_at=now()))
            done.append(migration.name)
    return done


def check_known(applied: list[str], migrations: Migrations, engine: sa.Engine) -> None:
    """Refuse a database that a newer release has migrated past what this code knows."""
    unknown = [name for name in applied if name not in migrations.names]
    if unknown:
        url = engine.url.render_as_string(hide_password=True)
        raise ConfigError(
            f"The database {url} has schema migrations this research-agent does not know "
            f"({', '.join(unknown)}): it was written by a newer version. Upgrade research-agent "
            "or point DATABASE_URL at another database."
        )


MIGRATIONS = Migrations()


@MIGRATIONS(name="m001_initial_schema")
def m001_initial_schema(conn: sa.Connection) -> None:
    """The first schema: every table of tables.py as it was in the first release."""
    metadata = sa.MetaData()
    _m001_paper_tables(metadata)
    _m001_cycle_tables(metadata)
    _m001_user_tables(metadata)
    metadata.create_all(conn)


def _m001_paper_tables(metadata: sa.MetaData) -> None:
    sa.Table(
        "papers",
        metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("authors", sa.JSON, nullable=False),
        sa.Column("abstract", sa.Text, nullable=False),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("published", UTCDateTime, nullable=True),
        sa.Column("updated", UTCDateTime, nullable=True),
        sa.Column("comment", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False, index=True),
        sa.Column("first_seen_cycle", sa.Integer, nullable=True),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
    )
    sa.Table(
        "scores",
        metadata,
        sa.Column(
            "paper_id", sa.String, sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("track_id", sa.String, primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("relevant", sa.Boolean, nullable=False),
        sa.Column("terms", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    sa.Table(
        "analyses",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "paper_id",
            sa.String,
            sa.ForeignKey("papers.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("track_id", sa.String, nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def _m001_cycle_tables(metadata: sa.MetaData) -> None:
    sa.Table(
        "cycles",
        metadata,
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String, nullable=False, index=True),
        sa.Column("step", sa.String, nullable=True),
        sa.Column("started", UTCDateTime, nullable=False),
        sa.Column("ended", UTCDateTime, nullable=True),
        sa.Column("note_path", sa.String, nullable=True),
        sa.Column("commit_sha", sa.String, nullable=True),
        sa.Column("tokens_in", sa.Integer, nullable=False),
        sa.Column("tokens_out", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("result_json", sa.Text, nullable=True),
        sa.Column("pid", sa.Integer, nullable=True),
    )
    sa.Table(
        "llm_calls",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("cycle", sa.Integer, nullable=True, index=True),
        sa.Column("purpose", sa.String, nullable=False),
        sa.Column("model", sa.String, nullable=False),
        sa.Column("tokens_in", sa.Integer, nullable=False),
        sa.Column("tokens_out", sa.Integer, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("outcome", sa.String, nullable=False),
        sa.Column("started", UTCDateTime, nullable=False, index=True),
    )
    sa.Table(
        "cursors",
        metadata,
        sa.Column("source", sa.String, primary_key=True),
        sa.Column("value", UTCDateTime, nullable=False),
    )
    sa.Table(
        "meta",
        metadata,
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def _m001_user_tables(metadata: sa.MetaData) -> None:
    sa.Table(
        "queue",
        metadata,
        sa.Column("paper_id", sa.String, primary_key=True),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("added_by", sa.String, nullable=False),
        sa.Column("added", UTCDateTime, nullable=False),
    )
    sa.Table(
        "ratings",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("paper_id", sa.String, nullable=False, index=True),
        sa.Column("track_id", sa.String, nullable=True),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


@MIGRATIONS(name="m002_best_scores")
def m002_best_scores(conn: sa.Connection) -> None:
    """Each paper's best (and best relevant) score on the paper, indexed with its status.

    Choosing candidates then reads an index instead of grouping every stored score.
    """
    conn.execute(sa.text("ALTER TABLE papers ADD COLUMN best_score FLOAT NOT NULL DEFAULT -1"))
    conn.execute(sa.text("ALTER TABLE papers ADD COLUMN best_relevant FLOAT"))
    conn.execute(
        sa.text(
            "UPDATE papers SET "
            "best_score = COALESCE((SELECT MAX(s.score) FROM scores s "
            "WHERE s.paper_id = papers.id), -1), "
            "best_relevant = (SELECT MAX(CASE WHEN s.relevant THEN s.score END) "
            "FROM scores s WHERE s.paper_id = papers.id)"
        )
    )
    conn.execute(sa.text(
        "CREATE INDEX ix_papers_status_best ON papers (status, best_score DESC, id)"))
    conn.execute(sa.text(
        "CREATE INDEX ix_papers_status_relevant ON papers (status, best_relevant DESC, id)"))
    conn.execute(sa.text(
        "CREATE INDEX ix_scores_track_relevant ON scores (track_id, relevant, score, paper_id)"))


@MIGRATIONS(name="m003_paper_search")
def m003_paper_search(conn: sa.Connection) -> None:
    """A full-text index of title and abstract, filled now and kept in step by the database.

    SQLite: an FTS5 table with triggers on `papers`, so bulk writes are indexed too. PostgreSQL:
    a GIN index on the weighted tsvector the search ranks with (title A, abstract B).
    """
    if conn.dialect.name == "sqlite":
        for statement in _M003_SQLITE:
            conn.exec_driver_sql(statement)
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE INDEX IF NOT EXISTS papers_search ON papers USING GIN (("
            "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
            "setweight(to_tsvector('english', coalesce(abstract, '')), 'B')))"
        )


_M003_SQLITE = (
    "CREATE VIRTUAL TABLE paper_search USING fts5("
    "id UNINDEXED, title, abstract, tokenize = 'porter unicode61 remove_diacritics 2')",
    "INSERT INTO paper_search (id, title, abstract) SELECT id, title, abstract FROM papers",
    "CREATE TRIGGER paper_search_insert AFTER INSERT ON papers BEGIN "
    "INSERT INTO paper_search (id, title, abstract) VALUES (new.id, new.title, new.abstract); "
    "END",
    "CREATE TRIGGER paper_search_update AFTER UPDATE OF id, title, abstract ON papers "
    "WHEN old.id IS NOT new.id OR old.title IS NOT new.title OR old.abstract IS NOT new.abstract "
    "BEGIN DELETE FROM paper_search WHERE id = old.id; "
    "INSERT INTO paper_search (id, title, abstract) VALUES (new.id, new.title, new.abstract); "
    "END",
    "CREATE TRIGGER paper_search_delete AFTER DELETE ON papers BEGIN "
    "DELETE FROM paper_search WHERE id = old.id; END",
)


@MIGRATIONS(name="m004_paper_vectors")
def m004_paper_vectors(conn: sa.Connection) -> None:
    """Sentence-embedding vectors of papers, one per paper and model, so each paper is embedded
    once: float32 bytes, their dimension, and a digest of the text they were computed from."""
    metadata = sa.MetaData()
    sa.Table(
        "paper_vectors",
        metadata,
        # no foreign key: a batch is ranked (and embedded) before its papers are stored
        sa.Column("paper_id", sa.String, primary_key=True),
        sa.Column("model", sa.String, primary_key=True),
        sa.Column("digest", sa.String, nullable=False),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    metadata.create_all(conn)


@MIGRATIONS(name="m005_paper_search_by_id")
def m005_paper_search_by_id(conn: sa.Connection) -> None:
    """SQLite: the search index finds a paper's own entry through its id, which m003 left
    unindexed, so each new version of a paper read the whole index (seconds at 500k papers).

    The table is rebuilt with `id` as an indexed column (searches still rank title and abstract
    only); the triggers find the old entry by a phrase query on the id, then the exact id.
    """
    if conn.dialect.name == "sqlite":
        for statement in _M005_SQLITE:
            conn.exec_driver_sql(statement)


# The entry of paper `old.id`: found by its id as an FTS5 phrase (quotes doubled), then the exact
# id. An id with no ASCII letter or digit (never an arXiv id) makes no phrase: the second
# statement reads the whole index for it, and is skipped for every other id.
_DELETE_OLD = (
    "DELETE FROM paper_search WHERE rowid IN (SELECT rowid FROM paper_search WHERE "
    "paper_search MATCH ('id : \"' || replace(old.id, '\"', '\"\"') || '\"') AND id = old.id); "
    "DELETE FROM paper_search WHERE old.id NOT GLOB '*[0-9A-Za-z]*' AND id = old.id;"
)
_M005_SQLITE = (
    "DROP TRIGGER IF EXISTS paper_search_insert",
    "DROP TRIGGER IF EXISTS paper_search_update",
    "DROP TRIGGER IF EXISTS paper_search_delete",
    "DROP TABLE IF EXISTS paper_search",
    "CREATE VIRTUAL TABLE paper_search USING fts5("
    "id, title, abstract, tokenize = 'porter unicode61 remove_diacritics 2')",
    "INSERT INTO paper_search (id, title, abstract) SELECT id, title, abstract FROM papers",
    "CREATE TRIGGER paper_search_insert AFTER INSERT ON papers BEGIN "
    "INSERT INTO paper_search (id, title, abstract) VALUES (new.id, new.title, new.abstract); "
    "END",
    "CREATE TRIGGER paper_search_update AFTER UPDATE OF id, title, abstract ON papers "
    "WHEN old.id IS NOT new.id OR old.title IS NOT new.title OR old.abstract IS NOT new.abstract "
    f"BEGIN {_DELETE_OLD} "
    "INSERT INTO paper_search (id, title, abstract) VALUES (new.id, new.title, new.abstract); "
    "END",
    "CREATE TRIGGER paper_search_delete AFTER DELETE ON papers BEGIN "
    f"{_DELETE_OLD} END",
)


@MIGRATIONS(name="m006_papers_published_index")
def m006_papers_published_index(conn: sa.Connection) -> None:
    """An index on `papers.published`: the oldest stored paper (field velocity, in every note
    and in `status`) is one index lookup instead of reading every paper of a year."""
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_papers_published ON papers (published)")


@MIGRATIONS(name="m007_papers_first_seen_index")
def m007_papers_first_seen_index(conn: sa.Connection) -> None:
    """An index on `papers.first_seen_cycle`: the digest counts the papers a cycle stored first
    from the index instead of reading every paper of a year."""
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_papers_first_seen ON papers (first_seen_cycle)"
    )


@MIGRATIONS(name="m008_papers_id_dates_index")
def m008_papers_id_dates_index(conn: sa.Connection) -> None:
    """A covering index of each paper's dates by id: the relevant counts (`tracks`, the digest,
    field velocity in every note and in `status`) join some 24,000 relevant scores of a year to
    their papers; each join is now one lookup in a small index instead of a read of the paper's
    row (its abstract and all) in a 2.7 GB table."""
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_papers_id_dates ON papers (id, first_seen_cycle, published)"
    )


@MIGRATIONS(name="m009_papers_verdict")
def m009_papers_verdict(conn: sa.Connection) -> None:
    """Each paper's latest LLM judge score on the paper (`verdict`, NULL when never judged),
    indexed with its status and best scores: an LLM learn's pick, `status` and the policy tell
    judged from unjudged papers in an index range instead of parsing every judgement (90,000 at
    a year: 25 s for `status`). Filled here from the judgements already stored."""
    conn.execute(sa.text("ALTER TABLE papers ADD COLUMN verdict INTEGER"))
    latest: dict[str, int] = {}
    rows = conn.execute(sa.text(
        "SELECT paper_id, payload FROM analyses WHERE kind = 'judgement' ORDER BY id"))
    for paper_id, payload in rows:
        score = _verdict_of(payload)
        if score is not None:
            latest[paper_id] = score
    update = sa.text("UPDATE papers SET verdict = :verdict WHERE id = :id")
    pairs = [{"id": pid, "verdict": score} for pid, score in latest.items()]
    for start in range(0, len(pairs), 1000):
        conn.execute(update, pairs[start : start + 1000])
    conn.execute(sa.text("CREATE INDEX ix_papers_verdict ON papers "
                         "(status, verdict, best_score, best_relevant, id)"))


def _verdict_of(payload: str) -> int | None:
    """A stored judgement's score, when it is a whole number from 0 to 10."""
    try:
        score = json.loads(payload).get("score")
    except (ValueError, AttributeError):
        return None
    whole = isinstance(score, int) and not isinstance(score, bool)
    return score if whole and 0 <= score <= 10 else None
