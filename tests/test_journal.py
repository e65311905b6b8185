"""The git journal against real repositories in tmp_path (git itself inspects the results)."""

from __future__ import annotations

import fcntl
import subprocess
from pathlib import Path

import pytest

from agent import journal
from agent.errors import JournalError
from tests.repo import committed_files, git

GIT_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "EMAIL",
)


def staged_files(repo: Path) -> set[str]:
    return set(git(repo, "diff", "--cached", "--name-only").splitlines())


def write(repo: Path, relative: str, text: str) -> None:
    path = repo / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture(autouse=True)
def isolated_git(tmp_path, monkeypatch):
    """No user or system git config leaks in; identity comes from a global file we control."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in GIT_ENV:
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def identity(isolated_git):
    (isolated_git / ".gitconfig").write_text("[user]\n\tname = Ada\n\temail = ada@example.org\n")


@pytest.fixture
def repo(tmp_path, identity) -> Path:
    workspace = tmp_path / "ws"
    write(workspace, "research.toml", "[agent]\n")
    write(workspace, "state/tracks.toml", "[[track]]\n")
    write(workspace, "src/code.py", "x = 1\n")
    journal.init_repo(workspace, ["research.toml", "state/tracks.toml", "src/code.py"], "init")
    return workspace


def test_init_repo_sets_an_identity_only_when_none_exists(tmp_path):
    workspace = tmp_path / "bare-ci"
    write(workspace, "research.toml", "[agent]\n")
    write(workspace, "scratch.txt", "not ours")
    sha = journal.init_repo(workspace, ["research.toml"], "research-agent: new workspace")
    assert sha == git(workspace, "rev-parse", "HEAD").strip()
    assert committed_files(workspace) == {"research.toml"}
    assert git(workspace, "config", "--local", "user.name").strip() == "research-agent"
    assert "scratch.txt" in git(workspace, "status", "--porcelain")


def test_init_repo_keeps_the_configured_identity(tmp_path, identity):
    workspace = tmp_path / "ws"
    write(workspace, "research.toml", "")
    journal.init_repo(workspace, ["research.toml"], "init")
    local = subprocess.run(["git", "config", "--local", "user.name"], cwd=workspace)
    assert local.returncode == 1  # nothing written locally
    assert git(workspace, "log", "-1", "--format=%an").strip() == "Ada"


def test_commit_contains_exactly_the_listed_paths(repo):
    write(repo, "cycles/2026/02/0001-scan.md", "note")
    write(repo, "state/tracks.toml", "[[track]]\nid = 'x'\n")
    write(repo, "src/code.py", "x = 2\n")  # the user's unstaged work
    write(repo, "untracked.txt", "mine")
    message = journal.commit_message(1, "scan", "41 new papers")
    sha = journal.commit_paths(repo, ["cycles/2026/02/0001-scan.md", "state/tracks.toml"], message,
                               cycle=1)  # fmt: skip
    assert committed_files(repo, sha) == {"cycles/2026/02/0001-scan.md", "state/tracks.toml"}
    assert journal.is_clean(repo, ["cycles/2026/02/0001-scan.md", "state/tracks.toml"])
    status = git(repo, "status", "--porcelain")
    assert " M src/code.py" in status and "?? untracked.txt" in status
    assert journal.head_sha(repo) == sha
    assert journal.is_tracked(repo, "cycles/2026/02/0001-scan.md")


def test_users_staged_work_stays_staged_and_out_of_our_commit(repo):
    write(repo, "src/code.py", "x = 3\n")
    write(repo, "src/new.py", "y = 1\n")
    git(repo, "add", "src/code.py", "src/new.py")
    write(repo, "cycles/README.md", "# Cycles\n")
    sha = journal.commit_paths(repo, ["cycles/README.md"], journal.commit_message(2, "learn", "x"))
    assert committed_files(repo, sha) == {"cycles/README.md"}
    assert staged_files(repo) == {"src/code.py", "src/new.py"}
    with journal.open_journal(repo) as j:  # an empty cycle commit leaves them staged too
        empty = j.commit_paths([], journal.commit_message(3, "rest", ""), allow_empty=True)
    assert committed_files(repo, empty) == set()
    assert staged_files(repo) == {"src/code.py", "src/new.py"}


def test_paths_are_literal_not_globs(repo):
    for name in ("x1.md", "x2.md", "x?.md"):
        write(repo, name, name)
    sha = journal.commit_paths(repo, ["x?.md"], "literal")
    assert committed_files(repo, sha) == {"x?.md"}


def test_trailer_is_parsed_back(repo):
    shas = {}
    for number in (1, 2, 3):
        write(repo, f"cycles/{number}.md", "n")
        message = journal.commit_message(number, "learn", f"{number} papers")
        shas[number] = journal.commit_paths(repo, [f"cycles/{number}.md"], message, cycle=number)
        write(repo, "notes.txt", f"user {number}\n\nCycle: 99 is not a trailer here\n\nbye")
        git(repo, "add", "notes.txt")
        git(repo, "commit", "-q", "-m", "user work\n\nCycle: 77 mentioned\n\nSigned-off-by: Ada")
    assert journal.find_cycle_commits(repo) == shas
    assert journal.find_cycle_commits(repo, since_cycle=2) == {2: shas[2], 3: shas[3]}
    trailer = git(repo, "log", "-1", "--format=%(trailers:key=Cycle,valueonly)", shas[3])
    assert trailer.strip() == "3"


def test_commit_paths_adds_the_trailer_when_missing(repo):
    write(repo, "a.md", "a")
    sha = journal.commit_paths(repo, ["a.md"], "cycle 8: scan — 3 new", cycle=8)
    assert git(repo, "log", "-1", "--format=%B", sha).strip() == "cycle 8: scan — 3 new\n\nCycle: 8"


def test_message_is_sanitised(repo):
    hostile = "Great\npaper\r\n\x1b[31mred\x1b[0m \x07bell\x00 " + "long " * 60
    message = journal.commit_message(5, "learn", hostile)
    title, _, rest = message.partition("\n")
    assert title.startswith("cycle 5: learn — Great paper red bell long")
    assert len(title) <= journal.TITLE_LIMIT and title.endswith("…")
    assert all(ch >= " " for ch in title)
    assert rest == "\nCycle: 5"
    assert journal.commit_message(6, "scan", "  ") == "cycle 6: scan\n\nCycle: 6"
    write(repo, "n.md", "n")
    sha = journal.commit_paths(repo, ["n.md"], message, cycle=5)
    assert git(repo, "log", "-1", "--format=%s", sha).strip() == title
    assert journal.find_cycle_commits(repo)[5] == sha


def test_deleting_a_path_commits_the_deletion(repo):
    (repo / "state" / "tracks.toml").unlink()
    sha = journal.commit_paths(repo, ["state/tracks.toml", "never/existed.md"], "remove tracks")
    assert git(repo, "show", "--name-status", "--format=", sha).split() == [
        "D",
        "state/tracks.toml",
    ]
    assert not journal.is_tracked(repo, "state/tracks.toml")
    assert git(repo, "status", "--porcelain") == ""


def test_nothing_to_commit_and_bad_paths_raise(repo, tmp_path):
    with pytest.raises(JournalError, match="nothing to commit"):
        journal.commit_paths(repo, ["research.toml"], "no change")
    for bad in ("../outside.md", "/etc/passwd", ".git/config", "a/../../b", ""):
        with pytest.raises(JournalError, match="relative to the workspace"):
            journal.commit_paths(repo, [bad], "bad")
    with pytest.raises(JournalError, match="not folders"):
        journal.commit_paths(repo, ["state"], "a whole folder")
    with pytest.raises(JournalError, match="not a git repository"):
        journal.head_sha(tmp_path / "nowhere")


def test_discard_uncommitted_touches_only_the_given_paths(repo):
    write(repo, "research.toml", "[agent]\nchanged = true\n")
    write(repo, "cycles/2026/02/0004-learn.md", "half-written note")
    git(repo, "add", "cycles/2026/02/0004-learn.md")
    write(repo, "src/code.py", "user edit\n")
    undone = journal.discard_uncommitted(
        repo, ["research.toml", "cycles/2026/02/0004-learn.md", "cycles/README.md"]
    )
    assert undone == ["research.toml", "cycles/2026/02/0004-learn.md"]
    assert (repo / "research.toml").read_text() == "[agent]\n"
    assert not (repo / "cycles/2026/02/0004-learn.md").exists()
    assert git(repo, "status", "--porcelain") == " M src/code.py\n"


def test_stale_index_lock_is_removed_only_when_its_owner_is_dead(repo):
    lock = repo / ".git" / "index.lock"
    assert journal.clear_stale_index_lock(repo, our_pids_dead=True) is False
    lock.write_text("")
    assert journal.clear_stale_index_lock(repo, our_pids_dead=False) is False
    assert lock.exists()
    assert journal.clear_stale_index_lock(repo, our_pids_dead=True) is True
    assert not lock.exists()


def test_git_lock_excludes_another_holder(repo):
    git_dir = repo / ".git"
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    with open(git_dir / journal.LOCK_NAME, "a+") as other:  # another process's open file
        fcntl.flock(other, fcntl.LOCK_EX)
        with (
            pytest.raises(JournalError, match="another research-agent process"),
            journal.git_lock(git_dir, timeout=0.2, sleep=sleep, clock=lambda: now[0]),
        ):
            pass
        assert waits and sum(waits) >= 0.2
        fcntl.flock(other, fcntl.LOCK_UN)
    with journal.git_lock(git_dir, timeout=0, sleep=sleep, clock=lambda: now[0]):
        write(repo, "after.md", "x")
    assert journal.commit_paths(repo, ["after.md"], "after the lock")


def test_oneline_log_is_gits_own_short_log(repo):
    write(repo, "src/code.py", "x = 2\n")
    journal.commit_paths(repo, ["src/code.py"], "cycle 1: scan", cycle=1)
    assert journal.oneline_log(repo) == git(repo, "log", "--oneline").rstrip()
    assert journal.oneline_log(repo).splitlines()[0].endswith("cycle 1: scan")
