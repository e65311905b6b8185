"""Steering tracks from the CLI: one commit per edit, only state/tracks.toml, comments kept.

Runs `agent.cli.main` (the console script's entry point), so exit codes are the user's.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from agent import journal
from agent.cli import main
from agent.cycle import CycleOptions, run_cycle
from agent.review import read_note
from agent.tracks import load_tracks
from agent.workspace import init_workspace
from tests.repo import git

COMMENTED_TRACKS = '''# My tracks: hand-written comments that every edit must keep.

[[track]]
id = "listen-vs-guess"   # the flagship question
name = "Listen vs Guess"
priority = 3  # raised after ICASSP?
description = """Do audio-language models use the audio, or guess from text priors?"""
keywords = ["audio-language model", "audio grounding",
            "hallucination"]  # phrases, matched as phrases
# the audio categories
categories = ["cs.SD", "eess.AS", "cs.CL"]

[[track]]
id = "audio-interpretability"
name = "Mechanistic interpretability of audio models"
priority = 4
description = "Sparse autoencoders and neurons of speech models."
keywords = ["sparse autoencoder", "neuron"]  # keep short

# end of file: a trailing comment
'''
TRACKS = "state/tracks.toml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI like the console script; (exit code, stdout, stderr with wrapping undone)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def tracks(capsys: pytest.CaptureFixture[str], workspace: Path, *args: str) -> tuple[int, str, str]:
    """`research-agent tracks ARGS -w WORKSPACE`."""
    return run(capsys, "tracks", *args, "-w", str(workspace))


def commits(workspace: Path) -> int:
    return int(git(workspace, "rev-list", "--count", "HEAD"))


def head_files(workspace: Path) -> list[str]:
    return git(workspace, "show", "--name-only", "--format=", "HEAD").split()


def head_subject(workspace: Path) -> str:
    return git(workspace, "log", "-1", "--format=%s").strip()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace whose tracks file carries comments, committed, plus an unrelated dirty file."""
    path, _ = init_workspace(tmp_path / "ws")
    (path / TRACKS).write_text(COMMENTED_TRACKS, encoding="utf-8")
    journal.commit_paths(path, [TRACKS], "test: commented tracks", cycle=None)
    with (path / "research.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n# an uncommitted edit that no track edit may sweep into its commit\n")
    return path


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed, added) lines between two texts."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    removed = [line[2:] for line in diff if line.startswith("- ")]
    added = [line[2:] for line in diff if line.startswith("+ ")]
    return removed, added


def assert_one_commit(workspace: Path, before: int, subject: str) -> None:
    assert commits(workspace) == before + 1
    assert head_files(workspace) == [TRACKS]
    assert head_subject(workspace) == subject
    assert git(workspace, "status", "--porcelain", "--", TRACKS) == ""
    assert "research.toml" in git(workspace, "status", "--porcelain")  # left alone


def test_set_priority_changes_only_the_value(workspace: Path, capsys) -> None:
    before, count = (workspace / TRACKS).read_text(), commits(workspace)
    code, out, _ = tracks(capsys, workspace, "set-priority", "listen-vs-guess", "5")
    assert code == 0
    assert "listen-vs-guess: priority 5" in out
    removed, added = changed_lines(before, (workspace / TRACKS).read_text())
    assert removed == ["priority = 3  # raised after ICASSP?"]
    assert added == ["priority = 5  # raised after ICASSP?"]
    assert_one_commit(workspace, count, "tracks: listen-vs-guess priority 3 → 5")
    track = next(t for t in load_tracks(workspace / TRACKS) if t.id == "listen-vs-guess")
    assert track.priority == 5


def test_pause_then_resume(workspace: Path, capsys) -> None:
    original, count = (workspace / TRACKS).read_text(), commits(workspace)
    code, out, _ = tracks(capsys, workspace, "pause", "audio-interpretability")
    assert code == 0 and "audio-interpretability: paused" in out
    paused = (workspace / TRACKS).read_text()
    assert changed_lines(original, paused) == ([], ["active = false"])
    assert_one_commit(workspace, count, "tracks: audio-interpretability paused")
    assert [t.active for t in load_tracks(workspace / TRACKS)] == [True, False]

    code, out, _ = tracks(capsys, workspace, "resume", "audio-interpretability")
    assert code == 0 and "audio-interpretability: active" in out
    resumed = (workspace / TRACKS).read_text()
    assert resumed == original  # true is the default: resuming removes the line pause added
    assert_one_commit(workspace, count + 1, "tracks: audio-interpretability resumed")
    assert all(t.active for t in load_tracks(workspace / TRACKS))


def test_an_edit_that_changes_nothing_commits_nothing(workspace: Path, capsys) -> None:
    before, count = (workspace / TRACKS).read_text(), commits(workspace)
    code, out, _ = tracks(capsys, workspace, "resume", "listen-vs-guess")
    assert code == 0
    assert "nothing changed" in out
    code, out, _ = tracks(capsys, workspace, "set-priority", "listen-vs-guess", "3")
    assert code == 0 and "nothing changed" in out
    assert (workspace / TRACKS).read_text() == before
    assert commits(workspace) == count


def test_add_track_appends_and_keeps_everything_else(workspace: Path, capsys) -> None:
    before, count = (workspace / TRACKS).read_text(), commits(workspace)
    code, out, _ = tracks(
        capsys,
        workspace,
        "add",
        "--id",
        "speech-benchmarks",
        "--name",
        "Evaluating spoken language models",
        "--description",
        "Do speech benchmarks measure listening?",
        "--keywords",
        "benchmark, spoken language model",
        "--categories",
        "cs.CL, eess.AS",
        "--priority",
        "2",
    )
    assert code == 0 and "added track speech-benchmarks" in out
    after = (workspace / TRACKS).read_text()
    assert after.startswith(before)  # every byte before the new table is untouched
    assert '\n\n[[track]]\nid = "speech-benchmarks"' in after  # set apart like the others
    assert_one_commit(workspace, count, "tracks: add speech-benchmarks")
    added = load_tracks(workspace / TRACKS)[-1]
    assert (added.id, added.priority, added.keywords, added.categories) == (
        "speech-benchmarks",
        2,
        ("benchmark", "spoken language model"),
        ("cs.CL", "eess.AS"),
    )


@pytest.mark.parametrize(
    "command",
    [
        ["set-priority", "no-such-track", "4"],
        ["pause", "no-such-track"],
        ["resume", "no-such-track"],
    ],
)
def test_unknown_track_id_is_refused(workspace: Path, capsys, command: list[str]) -> None:
    before, count = (workspace / TRACKS).read_text(), commits(workspace)
    code, out, err = tracks(capsys, workspace, *command)
    assert code == 2
    assert "no track with id 'no-such-track'" in err
    assert "listen-vs-guess" in err  # the known ids, to pick from
    assert (workspace / TRACKS).read_text() == before
    assert commits(workspace) == count


@pytest.mark.parametrize(
    "command",
    [
        ["set-priority", "listen-vs-guess", "9"],
        ["set-priority", "listen-vs-guess", "0"],
        [
            "add",
            "--id",
            "too-high",
            "--name",
            "n",
            "--description",
            "d",
            "--keywords",
            "k",
            "--categories",
            "",
            "--priority",
            "6",
        ],
    ],
)
def test_out_of_range_priority_is_refused(workspace: Path, capsys, command: list[str]) -> None:
    before, count = (workspace / TRACKS).read_text(), commits(workspace)
    code, _, err = tracks(capsys, workspace, *command)
    assert code == 2
    assert "'priority' must be 1 (background) .. 5 (top)" in err
    assert (workspace / TRACKS).read_text() == before
    assert commits(workspace) == count


def test_adding_an_existing_id_is_refused(workspace: Path, capsys) -> None:
    before, count = (workspace / TRACKS).read_text(), commits(workspace)
    code, _, err = tracks(
        capsys,
        workspace,
        "add",
        "--id",
        "listen-vs-guess",
        "--name",
        "n",
        "--description",
        "d",
        "--keywords",
        "k",
        "--categories",
        "",
        "--priority",
        "3",
    )
    assert code == 2
    assert "'listen-vs-guess' already exists" in err
    assert (workspace / TRACKS).read_text() == before
    assert commits(workspace) == count


def test_tracks_list_shows_the_change(workspace: Path, capsys) -> None:
    tracks(capsys, workspace, "pause", "listen-vs-guess")
    code, out, _ = tracks(capsys, workspace, "--json")
    assert code == 0
    rows = {row["id"]: row for row in yaml.safe_load(out)}  # JSON is YAML
    assert rows["listen-vs-guess"]["active"] is False
    assert rows["audio-interpretability"]["priority"] == 4
    code, out, _ = tracks(capsys, workspace)
    assert "audio-interpretability" in out  # ids are never cut: they are typed next
    assert "paused" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_next_cycle_obeys_the_change(tmp_path: Path, capsys) -> None:
    path, _ = init_workspace(tmp_path / "ws")
    tracks(capsys, path, "pause", "listen-vs-guess")
    tracks(capsys, path, "set-priority", "speech-benchmarks", "5")
    started = datetime(2026, 2, 27, 2, 0, tzinfo=UTC)
    outcome = run_cycle(path, CycleOptions(source="sample", action="scan", now=lambda: started))
    assert outcome.status == "committed", outcome.error
    note = read_note(path, outcome.number)
    assert note.meta["tracks"] == ["speech-benchmarks", "audio-interpretability"]
    assert "Evaluating spoken language models (priority 5)" in note.body
    assert "Listen vs Guess" not in note.body


HAND_EDIT = ("# the flagship question", "# the flagship question (my uncommitted hand edit)")


@pytest.mark.parametrize(
    "command",
    [["set-priority", "audio-interpretability", "2"], ["pause", "audio-interpretability"],
     ["add", "--id", "new-track", "--name", "New", "--description", "Spectrograms.",
      "--keywords", "spectrogram", "--categories", "cs.SD", "--priority", "2"]],
)
def test_hand_edits_in_the_tracks_file_are_not_swept_into_the_commit(
    workspace: Path, capsys, command: list[str]
) -> None:
    edited = (workspace / TRACKS).read_text().replace(*HAND_EDIT)
    (workspace / TRACKS).write_text(edited)
    count = commits(workspace)
    code, _, err = tracks(capsys, workspace, *command)
    assert code == 0, err
    assert commits(workspace) == count + 1 and head_files(workspace) == [TRACKS]
    committed = git(workspace, "show", f"HEAD:{TRACKS}")
    assert HAND_EDIT[1] not in committed and HAND_EDIT[0] in committed  # the CLI's change only
    assert committed != COMMENTED_TRACKS
    now = (workspace / TRACKS).read_text()
    assert HAND_EDIT[1] in now  # the hand edit stays in the work tree, still uncommitted
    assert changed_lines(committed, now) == (
        [f'id = "listen-vs-guess"   {HAND_EDIT[0]}'], [f'id = "listen-vs-guess"   {HAND_EDIT[1]}'])
    assert git(workspace, "diff", "--cached", "--name-only") == ""  # nothing left staged
    assert TRACKS in git(workspace, "diff", "--name-only")


def test_an_edit_needing_uncommitted_hand_edits_is_refused(workspace: Path, capsys) -> None:
    text = (workspace / TRACKS).read_text() + (
        '\n[[track]]\nid = "hand-made"\nname = "Hand made"\npriority = 2\n'
        'description = "d"\nkeywords = ["x ray"]\n')
    (workspace / TRACKS).write_text(text)
    count = commits(workspace)
    code, _, err = tracks(capsys, workspace, "pause", "hand-made")
    assert code != 0 and "not committed" in err and TRACKS in err
    assert commits(workspace) == count and (workspace / TRACKS).read_text() == text
