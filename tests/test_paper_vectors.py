"""Paper vectors kept in the store: each paper is embedded once, ever, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from agent.config import load_settings
from agent.errors import ConfigError
from agent.rank import Ranker
from agent.rank.embeddings import SWITCH, Embedder, load_embedder
from agent.store import Store, sqlite_url
from tests.context import context
from tests.corpus import BACKGROUND, HALLUCINATION, audio_papers
from tests.hashed_embedder import HASHED_MODEL, register_hashed_model


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The store on a SQLite file, and on a PostgreSQL server when one is configured."""
    if request.param == "sqlite":
        url = sqlite_url(str(tmp_path / "agent.db"))
    else:
        url = request.getfixturevalue("pg_url")
    with Store(url) as s:
        yield s


def test_vectors_round_trip_through_the_store(store: Store) -> None:
    first = np.asarray([0.25, -1.5, 3.0e-8, 7.0], dtype=np.float32)
    store.save_vectors("m", {"2601.00001": ("d1", first), "2601.00002": ("d2", first[::-1])})
    store.save_vectors("other", {"2601.00001": ("d9", np.ones(3))})
    loaded = store.load_vectors("m", ["2601.00001", "2601.00002", "2601.99999"])
    assert set(loaded) == {"2601.00001", "2601.00002"}
    digest, vector = loaded["2601.00001"]
    assert digest == "d1" and vector.dtype == np.float32 and vector.tobytes() == first.tobytes()
    assert list(loaded["2601.00002"][1]) == list(first[::-1])
    # a paper re-embedded (its text changed) replaces its vector under that model only
    store.save_vectors("m", {"2601.00001": ("d3", np.zeros(2))})
    assert store.load_vectors("m", ["2601.00001"])["2601.00001"][0] == "d3"
    assert list(store.load_vectors("other", ["2601.00001"])["2601.00001"][1]) == [1.0, 1.0, 1.0]
    assert (store.count_vectors("m"), store.count_vectors()) == (2, 3)


def test_many_vectors_are_written_and_read_in_batches(store: Store) -> None:
    vectors = {f"2601.{i:05d}": (f"d{i}", np.full(8, i, dtype=np.float32)) for i in range(2500)}
    store.save_vectors("m", vectors)
    loaded = store.load_vectors("m", list(vectors))
    assert len(loaded) == 2500 and loaded["2601.02499"][1][0] == 2499.0


def test_a_damaged_vector_is_skipped_and_embedded_again(tmp_path: Path) -> None:
    url = sqlite_url(str(tmp_path / "agent.db"))
    papers = audio_papers(3)
    with Store(url) as store:
        Embedder(register_hashed_model(), model=HASHED_MODEL, cache=store).paper_vectors(papers)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE paper_vectors SET vector = X'00' WHERE paper_id = :id"),
                     {"id": papers[0].id})
    engine.dispose()
    encoder = register_hashed_model()
    with Store(url) as store:
        Embedder(encoder, model=HASHED_MODEL, cache=store).paper_vectors(papers)
        assert store.load_vectors(HASHED_MODEL, [papers[0].id])[papers[0].id][1].size == 64
    assert encoder.calls == [[f"{papers[0].title}. {papers[0].abstract}"]]


def test_a_second_ranking_embeds_no_paper_and_ranks_the_same(store: Store) -> None:
    papers = audio_papers(30)
    encoder = register_hashed_model()

    def rank() -> tuple[Embedder, dict[str, float]]:  # a cycle: a new ranker and embedder
        embedder = Embedder(encoder, model=HASHED_MODEL, cache=store)
        ranker = Ranker([HALLUCINATION], background=BACKGROUND, embedder=embedder)
        return embedder, {m.paper_id: m.score for m in ranker.rank(papers)[HALLUCINATION.id]}

    first, scores = rank()
    assert first.encoded == 30 and encoder.texts == 31  # the papers and the track's query
    assert store.count_vectors(HASHED_MODEL) == 31
    second, again = rank()
    assert second.encoded == 0, "every vector must come from the store"
    assert again == scores
    assert len(encoder.calls) == 1, "the second cycle never asks the model"

    # a replacement whose abstract changed is embedded again; the others are not
    changed = dataclasses.replace(papers[4], version=2, abstract="A new abstract about audio.")
    third = Embedder(encoder, model=HASHED_MODEL, cache=store)
    third.paper_vectors([*papers[:4], changed, *papers[5:]])
    assert third.encoded == 1 and encoder.calls[-1] == [f"{changed.title}. {changed.abstract}"]


def test_each_cycles_ranker_takes_the_vectors_from_the_workspace_store(
    scanned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = register_hashed_model()
    monkeypatch.setenv(SWITCH, HASHED_MODEL)
    settings = load_settings(scanned)
    with Store(settings.database_url) as store:
        pool = [paper for paper, _ in store.candidates(statuses=("ranked",))]
        first = context(store, scanned).ranker()
        assert isinstance(first.embedder, Embedder) and first.embedder.model == HASHED_MODEL
        ranked = first.rank(pool)
        assert first.embedder.encoded == len(pool) > 100
    with Store(settings.database_url) as store:  # the next cycle: a new process, a new ranker
        second = context(store, scanned).ranker()
        calls = len(encoder.calls)
        assert second.rank(pool) == ranked
        assert len(encoder.calls) == calls, "the second cycle never asks the model"
        assert second.embedder is not None and second.embedder.encoded == 0
        assert store.count_vectors(HASHED_MODEL) == len(pool) + len(context(store, scanned).tracks)


def test_an_unknown_model_name_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SWITCH, "no-such-model")
    with pytest.raises(ConfigError, match=f"{SWITCH}='no-such-model' names no sentence-embedding"):
        load_embedder()


def test_an_interrupted_first_embedding_keeps_the_batches_it_finished(store: Store) -> None:
    papers = audio_papers(5)
    encoder = register_hashed_model()

    def fails_on_the_third_batch(texts: list[str]) -> np.ndarray:
        if len(encoder.calls) == 2:
            raise RuntimeError("cycle deadline")
        return encoder(texts)

    first = Embedder(fails_on_the_third_batch, model=HASHED_MODEL, cache=store, batch=2)
    with pytest.raises(RuntimeError, match="cycle deadline"):
        first.paper_vectors(papers)
    assert store.count_vectors(HASHED_MODEL) == 4  # two batches of two were kept
    second = Embedder(encoder, model=HASHED_MODEL, cache=store, batch=2)
    second.paper_vectors(papers)
    assert second.encoded == 1 and encoder.calls[-1] == [f"{papers[4].title}. {papers[4].abstract}"]
