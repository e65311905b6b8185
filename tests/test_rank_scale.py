"""The ranker at a listing's scale: chunked tokenizing, background cache, top-k, recall levers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.models import Rating
from agent.rank import Ranker, background
from agent.rank.facets import grounded_facets, name_facets
from agent.rank.index import VOCABULARY, Vocabulary, tokenize_papers
from agent.rank.text import stem, terms_of
from tests.corpus import AGENTS, BACKGROUND, HALLUCINATION, paper

ROOT = Path(__file__).resolve().parent.parent


def stems_of(tokens, vocabulary=VOCABULARY) -> list[list[str]]:
    """The stems of each paper's tokens, in order."""
    out: list[list[str]] = [[] for _ in range(tokens.n_docs)]
    for word, doc in zip(tokens.words.tolist(), tokens.docs.tolist(), strict=True):
        out[doc].append(vocabulary.stems[word])
    return out


def test_chunked_tokenizer_keeps_each_paper_its_own_words():
    papers = [
        paper("a", "Speech\x00LLM hallucination", "Models hear what is not there."),
        paper("b", "Fréchet audio distance", "Café-style -- NUL-free text; with (brackets)."),
        paper("c", "", ""),
        paper("d", "Tool use", "Agents call tools."),
        paper("e", "A -- b\tx - - y", "LLM-as-a-judge:\n-\tthe 2nd {set} [of] \"it\"/they | 3.5x"),
        paper("f", "Em\u2014dash and en\u2013dash", "Ünïcödé ΑΒΓ words \x01 marks"),
    ]
    tokens = tokenize_papers(papers)
    expected = [terms_of(p.title.replace("\x00", " ")) + terms_of(p.abstract) for p in papers]
    assert stems_of(tokens) == expected
    assert tokens.fields[tokens.docs == 3].tolist() == [0, 0, 1, 1, 1]


def test_background_cache_round_trip_into_another_vocabulary(tmp_path):
    built = background.load_background(BACKGROUND)
    path = tmp_path / "bg.npz"
    background._write_cache(path, built, VOCABULARY)
    fresh = Vocabulary()
    fresh.stem_id("unrelated")  # words already known get other numbers: the cache must remap
    loaded = background._read_cache(path, fresh)
    assert loaded is not None and loaded.ids == built.ids
    assert loaded.categories == built.categories
    assert stems_of(loaded.tokens, fresh) == stems_of(built.tokens)
    assert loaded.words is not None
    words = {fresh.stems[k] for k in loaded.words.keys.tolist()}
    assert "hallucinat" in {stem("hallucinations")} and words >= {stem("speech"), "diffusion"}


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, background.Background]:
    """The bundled background built once into an empty cache folder: (folder, background)."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(background.CACHE_ENV, str(folder))
        patch.setattr(background, "_DEFAULT", None)
        return folder, background.load_background(None)


def test_bundled_background_is_built_once_then_read_from_the_cache(bundled, monkeypatch):
    folder, first = bundled
    files = list(folder.glob("background-*.npz"))
    assert len(files) == 1 and len(first.ids) > 4000
    monkeypatch.setenv(background.CACHE_ENV, str(folder))
    monkeypatch.setattr(background, "_DEFAULT", None)
    second = background.load_background(None)
    assert second.words is not None  # came from the file: the word index was prebuilt
    assert second.ids == first.ids
    assert np.array_equal(second.tokens.docs, first.tokens.docs)


def test_a_broken_cache_is_rebuilt_not_fatal(bundled, tmp_path, monkeypatch, caplog):
    (built,) = bundled[0].glob("background-*.npz")
    cache = tmp_path / built.name
    cache.write_bytes(b"not a numpy archive")
    monkeypatch.setenv(background.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(background, "_DEFAULT", None)
    rebuilt = background.load_background(None)
    assert len(rebuilt.ids) > 4000
    assert "unreadable" in caplog.text and str(cache) in caplog.text
    assert cache.stat().st_size > 1000  # written again, whole


def test_top_k_is_the_head_of_the_full_ranking():
    papers = BACKGROUND + [
        paper("p.1", "Speech LLM hallucination", "A speech LLM invents words."),
        paper("p.2", "Hallucination in audio", "Audio models hallucinate sound events."),
    ]
    ratings = (Rating("bg.3", -1, "hallucination"), Rating("p.2", 1, "hallucination"))
    ranker = Ranker([HALLUCINATION, AGENTS], ratings, background=BACKGROUND, embedder=None)
    full = ranker.rank(papers)
    top = ranker.rank(papers, top=3)
    assert {k: v[:3] for k, v in full.items()} == top
    assert len(full["agents"]) == len(papers)


def test_a_name_word_only_inside_another_aspects_keyword_is_not_required():
    # "use" appears only in the keyword "tool use", which names the "tool" aspect already, and
    # "LLM" only in "LLM agent"; "tool" and "agent" have keywords of their own
    keywords = ("tool use", "tool learning", "LLM agent", "agent benchmark")
    facets = grounded_facets(name_facets(AGENTS.name), keywords)
    words = [{VOCABULARY.stems[w] for w in f.words} for f in facets]
    assert words == [{"agent"}, {"tool"}]
    # aspects only ever named together are one aspect, shown by any of their words
    together = grounded_facets(name_facets(AGENTS.name), ("tool use", "LLM agent"))
    assert [{VOCABULARY.stems[w] for w in f.words} for f in together] == [
        {"llm", "agent"}, {"use", "tool"}]


def test_judgment_and_judge_share_a_stem():
    assert stem("judgment") == stem("judgements") == stem("judges") == stem("judging")
    assert stem("comment") == "comment"  # too short a base to fold


def test_fingerprint_changes_with_tracks_and_ratings_only():
    base = Ranker([HALLUCINATION], background=BACKGROUND, embedder=None)
    same = Ranker([HALLUCINATION], background=BACKGROUND, embedder=None)
    rated = Ranker([HALLUCINATION], (Rating("x", 1, None),), background=BACKGROUND,
                   embedder=None)
    more = Ranker([HALLUCINATION, AGENTS], background=BACKGROUND, embedder=None)
    assert base.fingerprint() == same.fingerprint()
    assert len({base.fingerprint(), rated.fingerprint(), more.fingerprint()}) == 3


HEAVY_CLIENTS = ("openai", "sqlmodel", "sqlalchemy", "arxiv")


def test_triage_imports_no_heavy_client(tmp_path):
    """One process for the four clients: each is a separate assertion on its sys.modules."""
    papers = tmp_path / "papers.jsonl"
    papers.write_text('{"id": "1", "title": "Speech LLM hallucination", "abstract": "x"}\n')
    tracks = tmp_path / "tracks.toml"
    tracks.write_text('[[track]]\nid = "h"\nname = "Hallucination"\ndescription = "d"\n'
                      'keywords = ["speech LLM"]\npriority = 3\n')
    code = (
        "import sys\nfrom agent.cli import main\n"
        f"try:\n    main(['triage', '--papers', {str(papers)!r}, '--tracks', {str(tracks)!r}])\n"
        "except SystemExit:\n    pass\n"
        f"print('LOADED', [m for m in {HEAVY_CLIENTS!r} if m in sys.modules], file=sys.stderr)\n"
    )
    env = {"RESEARCH_AGENT_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"h"' in done.stdout
    assert "LOADED []" in done.stderr, done.stderr[-2000:]
