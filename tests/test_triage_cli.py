"""`research-agent triage`: JSON per track, best first, N per track."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.sources.jsonl import SAMPLE_PATH, iter_records
from tests.cli import run_cli


def write_papers(path: Path, count: int = 300) -> None:
    with path.open("w", encoding="utf-8") as out:
        for index, (record, _) in enumerate(iter_records(SAMPLE_PATH)):
            if index >= count:
                break
            out.write(json.dumps(record) + "\n")


def test_triage_prints_best_first_per_active_track(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    papers = tmp_path / "papers.jsonl"
    write_papers(papers)
    tracks = workspace / "state" / "tracks.toml"
    result = run_cli(
        capsys, "triage", "--tracks", str(tracks), "--papers", str(papers), "--top", "7"
    )
    assert result.code == 0, result.err
    ranking = json.loads(result.out)
    assert set(ranking) == {"listen-vs-guess", "audio-interpretability", "speech-benchmarks"}
    for rows in ranking.values():
        assert len(rows) == 7
        scores = [row["score"] for row in rows]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
        assert all(set(row) == {"id", "score"} for row in rows)
    # without --tracks the workspace's own tracks are used
    again = run_cli(capsys, "triage", "-w", str(workspace), "--papers", str(papers), "--top", "7")
    assert json.loads(again.out) == ranking


def test_triage_names_a_bad_papers_line(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    papers = tmp_path / "papers.jsonl"
    papers.write_text(
        '{"id": "2601.00001", "title": "t", "abstract": "a"}\nnot json\n', encoding="utf-8"
    )
    result = run_cli(capsys, "triage", "-w", str(workspace), "--papers", str(papers))
    assert result.code != 0 and "papers.jsonl:2" in result.err and "Traceback" not in result.err
