"""`papers search`: ranked by relevance (title over abstract), phrases in quotes, score and tracks.

On the bundled sample after one scan (the `scanned` fixture), through the CLI as a user runs it.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from agent.cycle import CycleOptions, run_cycle
from agent.models import Paper
from agent.sources.sample import SampleSource
from agent.store import Store
from agent.store.quick_search import SearchReader, open_searcher
from agent.store.search_sql import parse_query
from tests.cli import run_cli


@pytest.fixture(scope="module")
def radar(scanned_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scanned sample workspace after a second scan of the rest of January and February."""
    path = Path(shutil.copytree(scanned_template, tmp_path_factory.mktemp("search") / "radar",
                                symlinks=True))
    whole = CycleOptions(action="scan", source="sample", make_source=lambda settings, name:
                         SampleSource(start=date(2026, 1, 5), days_per_fetch=60))
    outcome = run_cycle(path, whole)
    assert outcome.status == "committed", outcome.error
    return path


def search(capsys: pytest.CaptureFixture[str], workspace: Path, *words: str) -> list[dict]:
    result = run_cli(capsys, "papers", "search", *words, "-w", str(workspace), "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_prompt_injection_ranks_the_landscape_paper_first(
    radar: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = search(capsys, radar, "prompt", "injection", "--limit", "50")
    titles = [row["title"] for row in rows]
    landscape = next(i for i, t in enumerate(titles) if t.startswith("The Landscape of Prompt"))
    for above in titles[:landscape]:  # only papers about prompt injection rank above it
        assert "prompt injection" in above.lower(), (above, landscape)
    unrelated = [i for i, t in enumerate(titles) if "injection" not in t.lower()]
    assert unrelated and landscape < unrelated[0] < len(titles)
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1] > 0


def test_sparse_autoencoder_puts_audiosae_near_the_top(
    radar: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = search(capsys, radar, '"sparse autoencoder"')
    ids = [row["title"].split(":")[0] for row in rows]
    assert "AudioSAE" in ids[:3], ids[:10]
    audio = rows[ids.index("AudioSAE")]
    assert "audio-interpretability" in audio["tracks"]  # the tracks it is relevant to
    assert isinstance(audio["score"], float) and audio["score"] > 0


def test_table_shows_score_and_tracks(radar: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "papers", "search", "sparse autoencoder", "-w", str(radar))
    assert result.code == 0, result.err
    header = result.out.splitlines()[0]
    assert "score" in header and "tracks" in header
    assert "AudioSAE" in result.out


def test_a_quoted_phrase_needs_the_words_side_by_side(tmp_path: Path) -> None:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    with Store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        store.upsert_papers([
            Paper(id="2601.00001", title="Sparse coding", abstract="An autoencoder, elsewhere.",
                  authors=("A",), categories=("cs.LG",), published=now, updated=now),
            Paper(id="2601.00002", title="Audio", abstract="We train a sparse autoencoder.",
                  authors=("B",), categories=("cs.SD",), published=now, updated=now),
        ])
        assert [p.id for p, _ in store.search_ranked('"sparse autoencoder"')] == ["2601.00002"]
        both = [p.id for p, _ in store.search_ranked("sparse autoencoder")]
        assert both == ["2601.00002", "2601.00001"]  # side by side ranks first, both match
        # the index follows an update of the title (triggers, whatever writes the row)
        store.upsert_papers([Paper(id="2601.00001", title="Diffusion", abstract="Nothing here.",
                                   authors=("A",), categories=("cs.LG",), published=now,
                                   updated=now, version=2)])
        assert [p.id for p, _ in store.search_ranked("sparse")] == ["2601.00002"]
        assert [p.id for p, _ in store.search_ranked("diffusion")] == ["2601.00001"]


def test_query_syntax_from_the_user_is_only_words() -> None:
    query = parse_query('title:x OR "a b" NEAR(c d) -e *')
    assert query.terms[0] == ("a", "b")
    assert ("near",) in query.terms and ("or",) in query.terms and ("title",) in query.terms
    assert parse_query('"" ').terms == ()


def _papers(count: int, start: int = 0) -> list[Paper]:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    return [Paper(id=f"2601.{start + i:05d}", title=f"Paper w{i}x on speech", abstract="Words.",
                  authors=("A",), categories=("cs.CL",), published=now, updated=now)
            for i in range(count)]


def _steps_to_retitle(database: Path, paper_id: str) -> int:
    """SQLite VM steps (a count, not a time) to change one stored paper's title."""
    import sqlite3

    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    with sqlite3.connect(database) as conn:
        conn.set_progress_handler(count, 10)
        conn.execute("UPDATE papers SET title = 'Retitled' WHERE id = ?", (paper_id,))
    return steps[0] * 10


def test_a_replaced_paper_is_reindexed_without_reading_the_whole_index(tmp_path: Path) -> None:
    """A new version re-indexes its paper by id: the work must not grow with the store (m003's
    unindexed id made each replacement scan every stored paper: seconds each at 500k)."""
    steps = []
    for count in (20, 2000):
        database = tmp_path / f"{count}.db"
        with Store(f"sqlite:///{database}") as store:
            store.upsert_papers(_papers(count))
        steps.append(_steps_to_retitle(database, "2601.00007"))
        with Store(f"sqlite:///{database}") as store:  # and the index follows the new title
            assert [p.id for p, _ in store.search_ranked("retitled")] == ["2601.00007"]
            assert store.search_ranked("w7x") == []  # the old title is gone from the index
            assert len(store.search_ranked("speech", 5000)) == count - 1
    assert steps[1] < 3 * steps[0], steps


def test_best_rows_and_ties_as_a_full_sort_gives_them(tmp_path: Path) -> None:
    """Scores are read from the index first and ids only for the best: the rows and their order
    are those of sorting every match by score, then id (ties broken by id at the cut too)."""
    import sqlite3

    now = datetime(2026, 1, 5, tzinfo=UTC)
    texts = ["speech tokenizer", "speech", "a speech model", "tokenizer of text", "speech speech"]
    papers = [Paper(id=f"2601.{(i * 7919) % 10000:05d}", title=texts[i % 5], abstract="Words.",
                    authors=("A",), categories=("cs.CL",), published=now, updated=now)
              for i in range(60)]  # twelve copies of each text: ties at every cut
    database = tmp_path / "a.db"
    with Store(f"sqlite:///{database}") as store:
        store.upsert_papers(papers)
        for limit in (1, 5, 12, 13, 30, 100):
            found = [(p.id, score) for p, score in store.search_ranked("speech tokenizer", limit)]
            with sqlite3.connect(database) as conn:
                full = conn.execute(
                    "SELECT id, -bm25(paper_search, 0.0, 3.0, 1.0) AS score FROM paper_search "
                    "WHERE paper_search MATCH ? ORDER BY score DESC, id LIMIT ?",
                    ('{title abstract} : ("speech tokenizer" OR "speech" OR "tokenizer")', limit),
                ).fetchall()
            assert found == [(pid, round(score, 3)) for pid, score in full], limit
            assert len(found) == min(limit, 60)
            with open_searcher(f"sqlite:///{database}") as quick:  # stdlib sqlite3, same rows
                assert isinstance(quick, SearchReader)
                assert [(p.id, score) for p, score in quick.search_ranked(
                    "speech tokenizer", limit)] == found, limit


@pytest.mark.parametrize("text", ["prompt injection", '"sparse autoencoder"', "speech",
                                  'audio "language model" hallucination', "zzzq"])
def test_the_quick_reader_answers_as_the_store(radar: Path, text: str) -> None:
    """`papers search` reads a SQLite store without SQLAlchemy: the same papers, scores, order,
    statuses and matches as the Store, which runs the same statement (search_sql.py)."""
    url = f"sqlite:///{radar / 'state' / 'agent.db'}"
    with Store(url) as store:
        expected = store.search_ranked(text, limit=40)
        ids = [p.id for p, _ in expected]
        matches, statuses = store.matches_for(ids), store.paper_statuses(ids)
    with open_searcher(url) as quick:
        assert isinstance(quick, SearchReader)
        assert quick.search_ranked(text, limit=40) == expected
        assert quick.matches_for(ids) == matches and quick.paper_statuses(ids) == statuses
    if text != "zzzq":
        assert expected and any(m for m in matches.values())


def test_a_store_without_the_search_index_is_left_to_the_store(tmp_path: Path) -> None:
    database = tmp_path / "a.db"
    with Store(f"sqlite:///{database}") as store:
        store.upsert_papers(_papers(3))
    import sqlite3

    with sqlite3.connect(database) as conn:  # as a file from before the search index reads
        conn.execute("DELETE FROM schema_migrations WHERE name = 'm005_paper_search_by_id'")
    reader = SearchReader.open(database)
    assert isinstance(reader, SearchReader) and not reader.can_search()
    reader.close()
