"""The state store on real SQLite files (WAL) and in-memory databases."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from agent.errors import ConfigError
from agent.models import LLMCall, Match, Paper, QueueItem, Rating
from agent.store import MIGRATIONS, Store, sqlite_url
from agent.store.tables import STORE_TABLES

T0 = datetime(2026, 2, 27, 2, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self, minutes: int = 1) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "agent.db"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, db_path: Path, clock: Clock) -> Iterator[Store]:
    """The store on a SQLite file, and on a PostgreSQL server when one is configured."""
    if request.param == "sqlite":
        url = sqlite_url(str(db_path))
    else:
        url = request.getfixturevalue("pg_url")
    with Store(url, clock=clock) as s:
        yield s


@pytest.fixture
def sqlite_store(db_path: Path, clock: Clock) -> Iterator[Store]:
    """For what is SQLite's own: the file, WAL, its locks (tests/test_postgres.py: the server's)."""
    with Store(sqlite_url(str(db_path)), clock=clock) as s:
        yield s


def paper(paper_id: str, version: int = 1, title: str = "", abstract: str = "") -> Paper:
    return Paper(
        id=paper_id,
        title=title or f"Paper {paper_id} v{version}",
        abstract=abstract or f"Abstract of {paper_id}. More text.",
        authors=("Zhao", "Schuller"),
        categories=("cs.CL", "eess.AS"),
        version=version,
        published=datetime(2026, 1, 5, tzinfo=UTC),
        updated=datetime(2026, 1, 5 + version, tzinfo=UTC),
    )


# --- engine -----------------------------------------------------------------------------------


def test_sqlite_file_is_in_wal_mode_with_parent_dir_created(
    sqlite_store: Store, db_path: Path
) -> None:
    assert db_path.exists()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError):
        store.save_matches([Match("9999.00001", "t1", 0.5)])


@pytest.mark.parametrize("form", ["url", "bare-path"])
def test_database_url_or_bare_path_opens_a_file(tmp_path: Path, form: str) -> None:
    path = tmp_path / "deep" / "er" / "agent.db"
    url = f"sqlite:///{path}" if form == "url" else str(path)
    with Store(url) as s:
        s.upsert_papers([paper("2601.03115")])
    with Store(f"sqlite:///{path}") as s:
        assert s.get_paper("2601.03115") is not None


def test_invalid_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a valid SQLAlchemy URL"):
        Store("not a url://")


def test_a_file_that_is_not_a_database_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="could not open the database"):
        Store(str(path))


def test_in_memory_database_is_shared_across_threads() -> None:
    with Store("sqlite://") as s:
        worker = threading.Thread(target=lambda: s.upsert_papers([paper("2602.15307")]))
        worker.start()
        worker.join()
        assert s.count_papers() == 1


def test_datetimes_come_back_as_aware_utc(store: Store) -> None:
    local = datetime(2026, 2, 27, 4, 0, tzinfo=timezone(timedelta(hours=2)))
    store.set_cursor("arxiv", local)
    value = store.get_cursor("arxiv")
    assert value == local and value is not None and value.tzinfo == UTC
    store.set_cursor("arxiv", datetime(2026, 3, 1, 12, 0))  # naive is taken as UTC
    assert store.get_cursor("arxiv") == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert store.get_cursor("sample") is None


# --- papers -----------------------------------------------------------------------------------


def test_upsert_counts_new_and_updated_and_ignores_older_versions(store: Store) -> None:
    assert store.upsert_papers([paper("a", 2), paper("b")], cycle=1) == (2, 0)
    store.set_status(["a"], "summarized")
    assert store.upsert_papers([paper("a", 1), paper("a", 2), paper("b", 1)], cycle=2) == (0, 0)
    assert store.get_paper("a") == paper("a", 2)
    assert store.upsert_papers([paper("a", 3), paper("c")], cycle=3) == (1, 1)
    updated = store.get_paper("a")
    assert updated is not None and updated.version == 3 and updated.title == "Paper a v3"
    assert store.paper_status("a") == "summarized"  # status kept across versions
    assert store.first_seen_cycle("a") == 1
    assert store.first_seen_cycle("c") == 3
    assert store.paper_status("c") == "new"


def test_duplicates_within_one_batch_count_once(store: Store) -> None:
    assert store.upsert_papers([paper("a"), paper("a", 2)]) == (1, 0)
    found = store.get_paper("a")
    assert found is not None and found.version == 2


def test_status_queries(store: Store) -> None:
    store.upsert_papers([paper(str(i)) for i in range(5)])
    store.set_status(["0", "1"], "ranked")
    store.set_status(["2"], "dismissed")
    assert store.count_papers() == 5
    assert store.count_papers(["new"]) == 2
    assert {p.id for p in store.papers_with_status(["ranked"])} == {"0", "1"}
    assert len(store.papers_with_status(["new", "ranked"], limit=3)) == 3
    assert set(store.get_papers(["0", "4", "missing"])) == {"0", "4"}
    assert store.paper_status("missing") is None
    with pytest.raises(ValueError, match="unknown paper status"):
        store.set_status(["0"], "loved")


def test_search_papers_matches_every_word_in_title_or_abstract(store: Store) -> None:
    store.upsert_papers(
        [
            paper("a", title="Sparse autoencoders for audio", abstract="Whisper layers."),
            paper("b", title="Emotion neurons", abstract="Audio-language models; 100% causal."),
            paper("c", title="Vision transformers", abstract="Images."),
        ]
    )
    assert {p.id for p in store.search_papers("AUDIO")} == {"a", "b"}
    assert [p.id for p in store.search_papers("audio whisper")] == ["a"]
    assert [p.id for p in store.search_papers("100%")] == ["b"]  # % is literal, not a wildcard


# --- scores -----------------------------------------------------------------------------------


def test_matches_upsert_per_track_and_come_best_first(store: Store) -> None:
    store.upsert_papers([paper("a"), paper("b"), paper("c")])
    store.save_matches([Match("a", "t1", 0.2), Match("a", "t2", 0.9, True, ("sae",))])
    store.save_matches([Match("a", "t1", 0.95, True, ("audio", "probe")), Match("b", "t1", 0.5)])
    found = store.matches_for(["a", "b", "c"])
    assert [(m.track_id, m.score) for m in found["a"]] == [("t1", 0.95), ("t2", 0.9)]
    assert found["a"][0].terms == ("audio", "probe") and found["a"][0].relevant
    assert found["c"] == []


def test_candidates_order_by_best_score(store: Store) -> None:
    store.upsert_papers([paper(x) for x in "abcd"])
    store.set_status(list("abcd"), "ranked")
    store.set_status(["d"], "summarized")
    store.save_matches(
        [Match("a", "t1", 0.4, True), Match("b", "t1", 0.9), Match("b", "t2", 0.3, True)]
    )
    assert [p.id for p, _ in store.candidates()] == ["b", "a", "c"]  # c unscored, last
    relevant = store.candidates(relevant_only=True)
    assert [p.id for p, _ in relevant] == ["a", "b"]  # by best *relevant* score
    assert [m.track_id for m in relevant[1][1]] == ["t1", "t2"]
    assert [p.id for p, _ in store.candidates(("ranked", "summarized"), limit=2)] == ["b", "a"]



def test_count_candidates_by_status_relevance_and_track(store: Store, db_path: Path) -> None:
    """The Store and the quick sqlite3 reader count with one rule (on PostgreSQL: the Store)."""
    from agent.store.quick import QuickReader

    store.upsert_papers([paper(x) for x in "abcd"])
    store.set_status(list("abc"), "ranked")
    store.save_matches(
        [Match("a", "t1", 0.4, True), Match("b", "t1", 0.9), Match("b", "t2", 0.3, True)]
    )
    readers = [store]
    quick = QuickReader.open(db_path) if store.dialect == "sqlite" else None
    readers += [quick] if quick else []
    for reader in readers:
        assert reader.count_candidates() == 3
        assert reader.count_candidates(("ranked", "new")) == 4
        assert reader.count_candidates(relevant_only=True) == 2
        assert reader.count_candidates(relevant_only=True, tracks=["t2"]) == 1
        assert reader.count_candidates(relevant_only=True, tracks=["t1", "t3"]) == 1
        assert reader.count_candidates(relevant_only=True, tracks=[]) == 0
        assert reader.count_candidates((), relevant_only=True) == 0
    assert quick is not None or store.dialect != "sqlite"
    if quick:
        quick.close()

# --- analyses and recall ----------------------------------------------------------------------


def test_analyses_keep_payload_and_creation_time(store: Store, clock: Clock) -> None:
    store.upsert_papers([paper("a")])
    store.save_analysis("a", 3, "summary", {"headline": "New", "key_findings": ["x"]})
    clock.tick()
    store.save_analysis("a", 4, "judgement", {"score": 8}, track_id="t1")
    every = store.analyses_for("a")
    assert [(a["cycle"], a["kind"], a["track_id"]) for a in every] == [
        (3, "summary", None),
        (4, "judgement", "t1"),
    ]
    assert every[0]["payload"] == {"headline": "New", "key_findings": ["x"]}
    assert every[1]["created"] == T0 + timedelta(minutes=1)
    assert [a["cycle"] for a in store.analyses_for("a", kind="judgement")] == [4]
    with pytest.raises(ValueError, match="unknown analysis kind"):
        store.save_analysis("a", 4, "poem", {})


def test_recall_newest_first_with_takeaways_and_relevant_tracks(store: Store) -> None:
    store.upsert_papers([paper("a"), paper("b"), paper("c"), paper("d")])
    store.save_matches(
        [Match("a", "t1", 0.8, True), Match("a", "t2", 0.1), Match("b", "t2", 0.6, True)]
    )
    store.save_analysis("a", 2, "summary", {"headline": "ESNs causally matter."})
    store.save_analysis("b", 3, "summary", {"headline": ""})  # falls back to the abstract
    store.save_analysis("a", 5, "deep-read", {"problem": "Which neurons listen?"})
    store.save_analysis("c", 6, "judgement", {"score": 9})  # judged only: not memory
    memory = store.recall()
    assert [(m.paper_id, m.cycle) for m in memory] == [("a", 5), ("b", 3)]
    assert memory[0].takeaway == "Which neurons listen?"
    assert memory[0].track_ids == ("t1",) and memory[0].score == 0.8
    assert memory[1].takeaway == "Abstract of b."
    assert [m.paper_id for m in store.recall(exclude=["a"])] == ["b"]
    assert len(store.recall(limit=1)) == 1


# --- transactions and concurrency -------------------------------------------------------------


def test_transaction_rollback_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert_papers([paper("a")], cycle=1)
        store.save_matches([Match("a", "t1", 0.5)])
        with store.transaction():  # nested: joins the outer one
            store.start_cycle("scan", "why", T0)
            store.queue_add(QueueItem("a", 3, "because", "agent"))
        store.set_cursor("arxiv", T0)
        raise RuntimeError("crash after the nested block")
    assert store.count_papers() == 0
    assert store.recent_cycles() == []
    assert store.queue_list() == []
    assert store.get_cursor("arxiv") is None


def test_transaction_commits_everything_together(sqlite_store: Store, db_path: Path) -> None:
    store = sqlite_store
    with store.transaction():
        store.upsert_papers([paper("a")])
        store.save_matches([Match("a", "t1", 0.5)])
        with sqlite3.connect(db_path) as other:  # not visible before commit
            assert other.execute("SELECT count(*) FROM papers").fetchone()[0] == 0
    assert store.matches_for(["a"])["a"][0].score == 0.5


def test_two_stores_on_one_file_see_each_others_commits(db_path: Path) -> None:
    url = sqlite_url(str(db_path))
    with Store(url) as daemon, Store(url) as cli:
        daemon.upsert_papers([paper("a")])
        assert cli.get_paper("a") is not None
        cli.queue_add(QueueItem("a", 5, "read this", "user"))
        assert [q.paper_id for q in daemon.queue_list()] == ["a"]
        with daemon.transaction():
            daemon.set_status(["a"], "read")
            assert cli.paper_status("a") == "new"  # WAL: the reader is not blocked
        assert cli.paper_status("a") == "read"


def test_a_transaction_takes_the_write_lock_up_front(sqlite_store: Store, db_path: Path) -> None:
    store = sqlite_store
    """So a read-then-write transaction cannot fail when another writer commits in between."""
    with store.transaction():
        store.get_paper("a")  # only a read so far
        other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        store.upsert_papers([paper("a")])
    assert store.count_papers() == 1


# --- cycles, tokens, cursors, meta ------------------------------------------------------------


def test_cycle_lifecycle(store: Store) -> None:
    assert store.next_cycle_number() == 1
    first = store.start_cycle("scan", "nothing scanned yet", T0, pid=42)
    assert first == 1
    store.update_cycle(first, status="committed", commit_sha="abc123", ended=T0, tokens_in=5)
    second = store.start_cycle("learn", "3 ranked papers wait", T0 + timedelta(hours=1))
    store.update_cycle(second, status="note_written", note_path="cycles/2026/02/0002-learn.md")
    assert store.start_cycle("rest", "daytime", T0, number=7) == 7
    store.update_cycle(7, status="rested")

    record = store.get_cycle(1)
    assert record is not None
    assert (record.status, record.commit_sha, record.pid, record.ended) == (
        "committed",
        "abc123",
        42,
        T0,
    )
    assert [c.number for c in store.recent_cycles()] == [7, 2, 1]
    assert [c.number for c in store.unfinished_cycles()] == [2]
    last = store.last_cycle()
    assert last is not None and last.number == 1
    assert store.last_cycle(action="learn") is None
    last_any = store.last_cycle(statuses=("committed", "rested"))
    assert last_any is not None and last_any.number == 7
    assert store.next_cycle_number() == 8
    assert store.get_cycle(99) is None


def test_update_cycle_rejects_unknown_fields_status_and_cycles(store: Store) -> None:
    number = store.start_cycle("scan", "why", T0)
    with pytest.raises(TypeError, match="unknown fields"):
        store.update_cycle(number, colour="red")
    with pytest.raises(ValueError, match="unknown cycle status"):
        store.update_cycle(number, status="happy")
    with pytest.raises(ValueError, match="no cycle 99"):
        store.update_cycle(99, status="failed")
    with pytest.raises(ValueError, match="already exists"):
        store.start_cycle("scan", "again", T0, number=number)


def test_result_json_survives_for_reconcile(store: Store) -> None:
    number = store.start_cycle("learn", "why", T0)
    store.update_cycle(number, result_json='{"action": "learn", "papers": []}', step="render")
    record = store.unfinished_cycles()[0]
    assert record.result_json == '{"action": "learn", "papers": []}' and record.step == "render"


def test_tokens_since_and_per_cycle(store: Store, clock: Clock) -> None:
    def call(cycle: int, tokens_in: int, started: datetime | None) -> LLMCall:
        return LLMCall(
            "summarize",
            "gpt-4.1-mini",
            tokens_in,
            tokens_in // 10,
            1.5,
            "ok",
            started=started,
            cycle=cycle,
        )

    store.record_llm_call(call(1, 1000, T0 - timedelta(days=1)))
    store.record_llm_call(call(2, 300, T0 + timedelta(hours=1)))
    store.record_llm_call(call(2, 200, None))  # started defaults to the store's clock: T0
    assert store.tokens_since(T0) == (500, 50)
    assert store.tokens_since(T0 - timedelta(days=2)) == (1500, 150)
    berlin = datetime(2026, 2, 27, 4, 30, tzinfo=timezone(timedelta(hours=2)))
    assert store.tokens_since(berlin) == (300, 30)  # 02:30 UTC: after T0
    assert store.tokens_for_cycle(2) == (500, 50)
    assert store.tokens_for_cycle(3) == (0, 0)


def test_meta_key_values(store: Store) -> None:
    assert store.get_meta("workspace") is None
    store.set_meta("workspace", "/home/leo/radar")
    store.set_meta("workspace", "/srv/radar")
    assert store.get_meta("workspace") == "/srv/radar"


# --- queue and ratings ------------------------------------------------------------------------


def test_queue_order_priority_then_user_then_oldest(store: Store, clock: Clock) -> None:
    store.upsert_papers([paper("known", title="Emotion neurons")])
    added = [
        QueueItem("agent-old", 3, "scored 0.8", "agent"),
        QueueItem("user-new", 3, "Leo asked", "user"),
        QueueItem("known", 5, "top", "agent"),
        QueueItem("agent-new", 3, "scored 0.7", "agent"),
        QueueItem("low", 1, "maybe", "user"),
    ]
    for item in added:
        assert store.queue_add(item)
        clock.tick()
    order = store.queue_list()
    assert [q.paper_id for q in order] == ["known", "user-new", "agent-old", "agent-new", "low"]
    assert order[0].title == "Emotion neurons" and order[1].title == ""
    assert order[2].added == T0
    top = store.queue_top()
    assert top is not None and top.paper_id == "known"


def test_queue_add_twice_raises_priority_and_user_replaces_agent(store: Store) -> None:
    assert store.queue_add(QueueItem("a", 2, "scored 0.7", "agent"))
    assert not store.queue_add(QueueItem("a", 4, "scored higher", "agent"))
    assert not store.queue_add(QueueItem("a", 3, "scored lower", "agent"))
    (item,) = store.queue_list()
    assert (item.priority, item.reason, item.added_by) == (4, "scored 0.7", "agent")
    assert not store.queue_add(QueueItem("a", 1, "I want this", "user"))
    (item,) = store.queue_list()
    assert (item.priority, item.reason, item.added_by) == (1, "I want this", "user")
    # the researcher's word is final: the agent neither raises nor rewrites their entry
    assert not store.queue_add(QueueItem("a", 5, "agent again", "agent"))
    (item,) = store.queue_list()
    assert (item.priority, item.reason, item.added_by) == (1, "I want this", "user")
    # and a second word of theirs replaces the first, priority and note alike
    assert not store.queue_add(QueueItem("a", 2, "on second thought", "user"))
    again = store.queue_get("a")
    assert again is not None
    assert (again.priority, again.reason, again.added_by) == (2, "on second thought", "user")
    assert store.queue_get("b") is None


def test_queue_drop(store: Store) -> None:
    store.queue_add(QueueItem("a", 2, "r", "agent"))
    assert store.queue_drop("a")
    assert not store.queue_drop("a")
    assert store.queue_top() is None
    with pytest.raises(ValueError, match="added_by"):
        store.queue_add(QueueItem("b", 2, "r", "robot"))


def test_ratings_per_track_include_paper_wide_ones(store: Store) -> None:
    store.add_rating(Rating("a", 1, "t1"))
    store.add_rating(Rating("b", -1))
    store.add_rating(Rating("c", 1, "t2"))
    assert store.ratings() == [Rating("a", 1, "t1"), Rating("b", -1), Rating("c", 1, "t2")]
    assert store.ratings("t1") == [Rating("a", 1, "t1"), Rating("b", -1)]


# --- migrations -------------------------------------------------------------------------------


def schema_of(url: str) -> dict[str, dict[str, object]]:
    """Tables of a database: columns (name, nullable), primary key, indexed columns."""
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    schema: dict[str, dict[str, object]] = {}
    for table in inspector.get_table_names():
        if table.startswith("paper_search"):
            continue  # the full-text index (FTS5 table and its shadows): not a SQLModel table
        schema[table] = {
            "columns": {(c["name"], bool(c["nullable"])) for c in inspector.get_columns(table)},
            "pk": set(inspector.get_pk_constraint(table)["constrained_columns"]),
            "indexes": {tuple(i["column_names"]) for i in inspector.get_indexes(table)},
            "fks": {
                (tuple(fk["constrained_columns"]), fk["referred_table"])
                for fk in inspector.get_foreign_keys(table)
            },
        }
    engine.dispose()
    return schema


def test_migrated_schema_equals_the_sqlmodel_tables(
    sqlite_store: Store, tmp_path: Path
) -> None:
    store = sqlite_store
    expected_url = f"sqlite:///{tmp_path / 'from-metadata.db'}"
    engine = sa.create_engine(expected_url)
    tables = [SQLModel.metadata.tables[name] for name in STORE_TABLES]
    SQLModel.metadata.create_all(engine, tables=tables)
    engine.dispose()
    migrated = schema_of(store.url)
    assert set(migrated) == set(STORE_TABLES)
    assert migrated == schema_of(expected_url)


def test_opening_an_existing_database_does_not_reapply(db_path: Path) -> None:
    url = sqlite_url(str(db_path))
    with Store(url) as first:
        assert first.applied == MIGRATIONS.names
        first.upsert_papers([paper("a")])
    with Store(url) as second:
        assert second.applied == []
        assert second.get_paper("a") is not None
    with sqlite3.connect(db_path) as conn:
        names = conn.execute("SELECT name FROM schema_migrations ORDER BY id").fetchall()
        assert [name for (name,) in names] == MIGRATIONS.names


def test_a_later_migration_is_applied_once(db_path: Path) -> None:
    url = sqlite_url(str(db_path))
    with Store(url) as old:
        old.upsert_papers([paper("a")])
    calls: list[str] = []
    later = MIGRATIONS.copy()

    @later(name="m900_add_paper_doi")
    def add_doi(conn: sa.Connection) -> None:
        calls.append("m900")
        conn.execute(sa.text("ALTER TABLE papers ADD COLUMN doi VARCHAR"))

    for _ in range(2):
        with Store(url, migrations=later) as s:
            assert s.get_paper("a") is not None
    assert calls == ["m900"]
    with sqlite3.connect(db_path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY id")]
        columns = [r[1] for r in conn.execute("PRAGMA table_info(papers)")]
    assert names == [*MIGRATIONS.names, "m900_add_paper_doi"]
    assert "doi" in columns


def test_a_failing_migration_leaves_no_trace(db_path: Path) -> None:
    url = sqlite_url(str(db_path))
    broken = MIGRATIONS.copy()

    @broken(name="m900_broken")
    def half_done(conn: sa.Connection) -> None:
        conn.execute(sa.text("CREATE TABLE half (id INTEGER)"))
        raise RuntimeError("migration bug")

    with pytest.raises(RuntimeError, match="migration bug"):
        Store(url, migrations=broken)
    with sqlite3.connect(db_path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations")]
    assert "half" not in tables  # the DDL rolled back with the migration's transaction
    assert names == MIGRATIONS.names


def test_a_database_from_a_newer_release_is_refused(db_path: Path) -> None:
    url = sqlite_url(str(db_path))
    newer = MIGRATIONS.copy()
    newer()(lambda conn: None)  # registered under the name "<lambda>"
    Store(url, migrations=newer).close()
    with pytest.raises(ConfigError, match="newer version"):
        Store(url)


def test_relevant_counts_per_track_and_per_cycle(store: Store, db_path: Path) -> None:
    """`tracks`, field velocity and the digest count relevant scores with one rule, through the
    (track_id, relevant) index; the Store and the quick reader answer alike."""
    from agent.store.quick import QuickReader

    store.upsert_papers([paper(x) for x in "ab"], cycle=1)
    store.upsert_papers([paper(x) for x in "cd"], cycle=2)
    store.save_matches([Match("a", "t1", 0.9, True), Match("a", "t2", 0.1), Match("b", "t2", 0.7,
                        True), Match("c", "t1", 0.8, True), Match("d", "t3", 0.2)])
    readers = [store]
    quick = QuickReader.open(db_path) if store.dialect == "sqlite" else None
    readers += [quick] if quick else []
    for reader in readers:
        assert reader.scored_tracks() == ["t1", "t2", "t3"]
        assert reader.relevant_per_track() == {"t1": (2, 2), "t2": (1, 1)}
        pairs, oldest = reader.arrivals()
        assert sorted((p, t) for p, t, _ in pairs) == [("a", "t1"), ("b", "t2"), ("c", "t1")]
        assert oldest == paper("a").published and pairs[0][2] == paper("a").published
        assert reader.new_per_cycle([1, 2, 3]) == {
            1: (2, {"t1": 1, "t2": 1}), 2: (2, {"t1": 1}), 3: (0, {})}
    if quick:
        quick.close()
