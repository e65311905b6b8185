"""The radar on a PostgreSQL server: every command, migrations, and writers that take turns.

Runs only with RESEARCH_AGENT_TEST_PG_URL set (see tests/postgres.py); `.ci/run` starts a real
server and runs `pytest -m postgres`. tests/test_store.py runs its store tests here too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from agent.models import Paper, QueueItem
from agent.store import MIGRATIONS, Store
from agent.store.engine import WRITE_LOCK
from agent.workspace import init_workspace
from tests.cli import run_cli
from tests.repo import git

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 1, 5, tzinfo=UTC)


def paper(paper_id: str, title: str = "A paper", abstract: str = "An abstract.") -> Paper:
    return Paper(id=paper_id, title=title, abstract=abstract, authors=("A",),
                 categories=("cs.SD",), published=NOW, updated=NOW)


def test_migrations_run_once_and_a_second_store_sees_them(pg_url: str) -> None:
    with Store(pg_url) as first:
        assert first.dialect == "postgresql" and first.applied == MIGRATIONS.names
    with Store(pg_url) as second:
        assert second.applied == []


def test_a_writer_waits_for_the_other_and_readers_never_do(pg_url: str) -> None:
    """The daemon's write transaction holds the database-wide write lock; a morning command
    reads meanwhile, and its write waits its turn instead of interleaving."""
    with Store(pg_url) as daemon, Store(pg_url) as cli:
        daemon.upsert_papers([paper("2601.00001")])
        engine = sa.create_engine(pg_url, poolclass=sa.NullPool)
        with daemon.transaction():
            daemon.set_status(["2601.00001"], "read")
            assert cli.paper_status("2601.00001") == "new"  # a reader is not blocked
            with engine.connect() as other, other.begin():
                other.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
                with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                    other.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        engine.dispose()
        cli.queue_add(QueueItem("2601.00001", 5, "read this", "user"))  # its turn now
        assert cli.paper_status("2601.00001") == "read"
        assert [q.paper_id for q in daemon.queue_list()] == ["2601.00001"]


def test_search_uses_full_text_ranking(pg_url: str) -> None:
    with Store(pg_url) as store:
        store.upsert_papers([
            paper("2601.00001", "Sparse coding", "An autoencoder, elsewhere."),
            paper("2601.00002", "Sparse autoencoders for audio", "We train sparse autoencoders."),
            paper("2601.00003", "Diffusion", "Nothing to see."),
        ])
        found = store.search_ranked("sparse autoencoder")
        assert [p.id for p, _ in found] == ["2601.00002", "2601.00001"]
        assert found[0][1] > found[1][1] > 0
        assert [p.id for p, _ in store.search_ranked('"sparse autoencoder"')] == ["2601.00002"]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    result = run_cli(capsys, *args)
    assert result.code == 0, (args, result.err)
    return result.out


def test_every_command_works_on_a_server_and_no_sqlite_file_appears(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    workspace, _ = init_workspace(tmp_path / "radar")
    ws = ("-w", str(workspace))
    cli(capsys, "cycle", *ws, "--source", "sample", "--action", "scan")
    cli(capsys, "cycle", *ws, "--source", "sample", "--action", "learn")
    env = {**os.environ, "DATABASE_URL": pg_url}
    daemon = subprocess.run(
        [sys.executable, "-m", "agent", "run", *ws, "--every", "1s", "--max-cycles", "1",
         "--source", "sample"], env=env, capture_output=True, text=True, timeout=300)
    assert daemon.returncode == 0, daemon.stderr
    status = json.loads(cli(capsys, "status", *ws, "--json"))
    assert status["papers"] > 0 if "papers" in status else status
    log = cli(capsys, "log", *ws)
    assert " 1 " in log and " 3 " in log
    assert "# " in cli(capsys, "digest", *ws, "--since", "3d")
    rows = json.loads(cli(capsys, "papers", "search", "audio", *ws, "--json"))
    assert rows and rows[0]["score"] > 0
    paper_id = rows[0]["id"]
    cli(capsys, "papers", "show", paper_id, *ws)
    cli(capsys, "queue", "add", paper_id, "--priority", "5", "--source", "sample", *ws)
    assert paper_id in cli(capsys, "queue", *ws)
    cli(capsys, "rate", paper_id, "up", "--source", "sample", *ws)
    cli(capsys, "tracks", *ws)
    cli(capsys, "tracks", "pause", "speech-benchmarks", *ws)
    assert "@" in cli(capsys, "export", "--all", *ws)
    assert git(workspace, "status", "--porcelain") == ""
    assert not list(workspace.rglob("*.db*")), "a SQLite file was created"
    with Store(pg_url) as store:
        assert [r.status for r in store.recent_cycles()] == ["committed"] * 3


def test_the_judges_verdicts_are_kept_and_counted_on_a_server(pg_url: str) -> None:
    """papers.verdict (m009) on PostgreSQL: kept by save_analysis, read by learn's pick and
    counted by `status` (agent/waiting.py) with the planner's own choice of index."""
    from agent.models import Match, Rating
    from agent.waiting import waiting_counts

    with Store(pg_url) as store:
        ids = [f"2601.{i:05d}" for i in range(6)]
        store.upsert_papers([paper(pid) for pid in ids])
        store.set_status(ids, "ranked")
        store.save_matches(Match(pid, "t", 0.9 if i < 2 else 0.3, i < 2) for i, pid in
                           enumerate(ids))
        for pid, score in [(ids[0], 8), (ids[2], 2), (ids[3], 3), (ids[3], 9)]:  # latest wins
            store.save_analysis(pid, 1, "judgement", {"paper_id": pid, "score": score})
        store.add_rating(Rating(ids[2], 1, "t"))  # rated up after the judge turned it down
        assert store.judgement_scores() == {ids[0]: 8, ids[2]: 2, ids[3]: 9}
        assert store.kept_unread(5) == [ids[0], ids[3]]
        # unjudged at the floor: ids 1, 4, 5; kept: 0, 3 and the rated-up 2
        assert waiting_counts(store, ["t"], judging=True, floor=0.15) == (6, 3)
        # without a judge: the relevant ones (0 kept by the judge, 1 never judged)
        assert waiting_counts(store, ["t"], judging=False) == (2, 0)
