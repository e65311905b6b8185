"""Older work by keyword: `papers discover TRACK`, learn's discovery, category suggestions."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.models import Paper, Track
from agent.sources.categories import coverage_lines, suggest_categories
from tests.cli import run_cli


def old_paper(n: int, title: str, cats: tuple[str, ...] = ("cs.SD",)) -> Paper:
    when = datetime(2019, 5, n, tzinfo=UTC)
    return Paper(id=f"1905.{n:05d}", title=title, abstract="An older study.", authors=("A",),
                 categories=cats, published=when, updated=when)


def test_papers_discover_searches_arxiv_by_keywords_and_stores_new_papers(
    workspace: Path, arxiv_server, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.setenv("ARXIV_API_URL", arxiv_server.url)
    arxiv_server.add_papers([
        old_paper(1, "Modality reliance in audio-language models", ("cs.SD", "cs.CL")),
        old_paper(2, "Graph colouring", ("math.CO",)),
    ])
    run = run_cli(capsys, "papers", "discover", "listen-vs-guess", "-w", str(workspace),
                  "--json")
    assert run.code == 0, run.err
    rows = json.loads(run.out)
    assert [r["id"] for r in rows] == ["1905.00001"] and rows[0]["new"] is True
    query = arxiv_server.requests[0]["search_query"]
    assert 'all:"modality reliance"' in query and arxiv_server.requests[0]["sortBy"] == "relevance"
    with sqlite3.connect(workspace / "state" / "agent.db") as db:
        assert db.execute("SELECT status FROM papers WHERE id = '1905.00001'").fetchall() == [
            ("ranked",)
        ]
    again = run_cli(capsys, "papers", "discover", "listen-vs-guess", "-w", str(workspace))
    assert again.code == 0 and "0 new papers stored" in again.out


def test_papers_discover_names_an_unknown_track(workspace: Path, capsys) -> None:
    run = run_cli(capsys, "papers", "discover", "nope", "-w", str(workspace), "--source",
                  "sample")
    assert run.code != 0 and "no track with id 'nope'" in run.err and "listen-vs-guess" in run.err


def test_papers_discover_refuses_a_track_whose_query_is_too_long(
    workspace: Path, arxiv_server, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("ARXIV_API_URL", arxiv_server.url)
    words = ", ".join(f'"word{n} phrase"' for n in range(5000))
    (workspace / "state" / "tracks.toml").write_text(
        f'[[track]]\nid = "huge"\nname = "Huge"\npriority = 3\ndescription = "d"\n'
        f"keywords = [{words}]\n", "utf-8")
    run = run_cli(capsys, "papers", "discover", "huge", "-w", str(workspace))
    assert run.code != 0 and "track 'huge' (5,000 keywords)" in run.err
    assert len(run.err) < 1000 and arxiv_server.requests == []


def test_categories_are_suggested_from_the_tracks_best_matches_in_the_sample() -> None:
    audio = Track("a", "Audio", "", ("audio-language model", "speech"), 3)
    suggested = suggest_categories(audio)
    assert suggested and set(suggested) <= {"cs.SD", "eess.AS", "cs.CL", "cs.AI", "cs.LG"}
    assert "cs.SD" in suggested or "eess.AS" in suggested
    assert suggest_categories(Track("z", "Z", "", ("zzqx-no-such-word",), 3)) == []
    lines = coverage_lines([audio, Track("c", "C", "", ("x",), 3, categories=("cs.CL",))])
    assert lines[0] == "A scan reads every new paper in cs.CL."
    assert "Track 'a' has no categories" in lines[1] and "categories = [" in lines[1]


def test_init_says_what_the_scan_reads(tmp_path: Path, capsys) -> None:
    run = run_cli(capsys, "init", str(tmp_path / "radar"))
    assert run.code == 0
    assert "A scan reads every new paper in cs.SD, eess.AS, cs.CL, cs.LG." in " ".join(
        run.out.split())


def test_tracks_add_without_categories_suggests_some(workspace: Path, capsys) -> None:
    run = run_cli(capsys, "tracks", "add", "-w", str(workspace), "--id", "codecs", "--name",
                  "Codecs", "--description", "d", "--keywords", "neural audio codec, speech",
                  "--categories", "", "--priority", "3")
    assert run.code == 0, run.err
    out = " ".join(run.out.split())
    assert "Track 'codecs' has no categories" in out and "best matches in the bundled" in out
    assert "codecs" in (workspace / "state" / "tracks.toml").read_text("utf-8")
