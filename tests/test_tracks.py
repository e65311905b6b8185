"""A broken tracks file stops the command with a clear message and changes nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.tracks import edit_track, load_tracks, parse_tracks
from tests.cli import run_cli
from tests.repo import git_head

GOOD = """# my tracks
[[track]]
id = "listen-vs-guess"   # keep this comment
name = "Listen vs Guess"
priority = 5
description = "Do audio-language models use the audio?"
keywords = ["audio grounding"]
"""

BROKEN = {
    "toml syntax": (GOOD.replace("priority = 5", "priority = = 5"), ["line 5"]),
    "missing field": (
        GOOD.replace('name = "Listen vs Guess"\n', ""),
        ["listen-vs-guess", "'name'"],
    ),
    "wrong type": (
        GOOD.replace("priority = 5", 'priority = "high"'),
        ["listen-vs-guess", "'priority'", "integer"],
    ),
    "duplicate id": (GOOD + GOOD.replace("# my tracks", ""), ["duplicate", "listen-vs-guess"]),
    "priority out of range": (
        GOOD.replace("priority = 5", "priority = 9"),
        ["listen-vs-guess", "'priority'", "1 (background) .. 5"],
    ),
    "unknown key": (GOOD + 'colour = "red"\n', ["listen-vs-guess", "'colour'"]),
    "keywords not strings": (
        GOOD.replace('["audio grounding"]', "[1, 2]"),
        ["'keywords'", "list of strings"],
    ),
    "bad id": (GOOD.replace('id = "listen-vs-guess"', 'id = "../etc"'), ["'id'", "slug"]),
    "no tracks": ("# nothing\n", ["no [[track]]"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_tracks_file_is_refused_without_change(
    case: str, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = BROKEN[case]
    tracks_file = workspace / "state" / "tracks.toml"
    tracks_file.write_text(text, encoding="utf-8")
    subprocess.run(["git", "-C", str(workspace), "commit", "-qam", "broken on purpose"], check=True)
    head = git_head(workspace)

    result = run_cli(capsys, "cycle", "--workspace", str(workspace), "--source", "sample")

    assert result.code != 0
    assert "tracks.toml" in result.err
    for fragment in expected:
        assert fragment in result.err.replace("\n", " ")
    assert "Traceback" not in result.err + result.out
    assert git_head(workspace) == head
    assert not list((workspace / "cycles").rglob("*-scan.md"))
    assert not (workspace / "state" / "agent.db").exists()
    assert tracks_file.read_text(encoding="utf-8") == text


def test_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "tracks.toml"
    path.write_text(GOOD, encoding="utf-8")
    [track] = load_tracks(path)
    assert track.id == "listen-vs-guess" and track.active and track.priority == 5
    assert track.exclude == () and track.categories == ()


def test_edit_keeps_comments_and_refuses_invalid_values(tmp_path: Path) -> None:
    path = tmp_path / "tracks.toml"
    path.write_text(GOOD, encoding="utf-8")
    track, old = edit_track(path, "listen-vs-guess", priority=3)
    assert track.priority == 3 and old == {"priority": 5}
    assert path.read_text(encoding="utf-8") == GOOD.replace("priority = 5", "priority = 3")
    with pytest.raises(ConfigError, match="priority"):
        edit_track(path, "listen-vs-guess", priority=7)
    assert "priority = 3" in path.read_text(encoding="utf-8")  # refused edit left no trace
    with pytest.raises(ConfigError, match="no track with id 'nope'"):
        edit_track(path, "nope", priority=2)


def test_shipped_example_tracks_are_valid() -> None:
    from agent.workspace import default_file

    tracks = parse_tracks(default_file("tracks.toml"))
    assert len(tracks) >= 2 and len({t.id for t in tracks}) == len(tracks)


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ('id = "listen-vs-guess"', 'id = "listen-vs-guess\\n"', "field 'id' must be a slug"),
        ("priority = 5", "priority = true", "field 'priority' must be an integer, got True"),
        ('name = "Listen vs Guess"', 'name = "  "', "field 'name' is empty"),
        ('["audio grounding"]', '[" "]', "field 'keywords' needs at least one keyword"),
        ("priority = 5", 'priority = 5\ncategories = ["cs CL"]', "'cs CL', not an arXiv category"),
    ],
)
def test_each_track_rule_names_the_field(old: str, new: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match="tracks.toml: track 'listen-vs-guess") as caught:
        parse_tracks(GOOD.replace(old, new))
    assert fragment in str(caught.value)
