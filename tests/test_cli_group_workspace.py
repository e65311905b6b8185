"""`-w` before a subcommand names the workspace as it does after it (`tracks -w X add`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.tracks import load_tracks
from tests.cli import run_cli
from tests.repo import git


def test_a_workspace_given_to_the_group_is_the_one_edited(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not a workspace: only -w can name one
    added = run_cli(capsys, "tracks", "-w", str(workspace), "add", "--id", "codecs",
                    "--name", "Codecs", "--description", "Neural speech codecs.",
                    "--keywords", "speech codec")  # fmt: skip
    assert added.code == 0, added.err
    assert "codecs" in [t.id for t in load_tracks(workspace / "state" / "tracks.toml")]
    paused = run_cli(capsys, "tracks", "-w", str(workspace), "pause", "codecs")
    assert paused.code == 0, paused.err
    assert git(workspace, "log", "-1", "--format=%s").startswith("tracks:")
    dropped = run_cli(capsys, "queue", "-w", str(workspace), "drop", "2601.00001")
    assert "not in the queue" in dropped.out  # asked of the named workspace's store
    assert (workspace / "state" / "agent.db").is_file() and not (elsewhere / "state").exists()
