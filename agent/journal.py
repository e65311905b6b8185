"""The workspace's git history: commit exactly the files a cycle wrote, and find cycles again.

The only module that imports `git` (GitPython). GitPython keeps helper processes alive per `Repo`,
which leaks in a long-running daemon, so every operation opens a Repo and closes it again
(`with open_journal(workspace) as journal:` for several operations in a row).

Commits never touch the user's other work: `git commit --only -- <paths>` commits exactly the
listed paths from the working tree and leaves whatever else the user has staged staged. Git
operations that write are serialised between processes (the daemon and a quick CLI edit) by
`fcntl.flock` on `.git/research-agent.git.lock`: inside the git directory it is never committed,
never shows in `git status`, and belongs to exactly one repository.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import git

from agent.commits import (  # re-exported: part of the journal's API
    TITLE_LIMIT as TITLE_LIMIT,
    check_path as check_path,
    check_writable as check_writable,
    clean_message as clean_message,
    commit_message as commit_message,
    trailer_cycle as trailer_cycle,
    with_trailer as with_trailer,
)
from agent.errors import JournalError
from agent.files import lock_within, unlock
from agent.text import clean_text

logger = logging.getLogger(__name__)

LOCK_NAME = "research-agent.git.lock"
DEFAULT_NAME = "research-agent"
DEFAULT_EMAIL = "research-agent@localhost"


@contextmanager
def git_lock(
    git_dir: Path,
    timeout: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Hold the inter-process git lock of one repository (flock: released if we die)."""
    with open(git_dir / LOCK_NAME, "a+") as handle:
        if not lock_within(handle, timeout, sleep=sleep, clock=clock):
            raise JournalError(
                f"{git_dir / LOCK_NAME}: another research-agent process kept the git lock "
                f"for {timeout:g}s; try again when it has finished."
            )
        try:
            yield
        finally:
            unlock(handle)


class Journal:
    """Git operations on one workspace through one open Repo (see `open_journal`)."""

    def __init__(self, workspace: Path, repo: git.Repo):
        self.workspace = workspace
        self.repo = repo
        self.git_dir = Path(repo.git_dir)

    def run(self, *args: str) -> str:
        """Run git with literal pathspecs ("*" is a name, not a glob); JournalError on failure."""
        status, out, err = self.run_status(*args)
        if status != 0:
            detail = clean_text(err, 500) or f"exit status {status}"
            raise JournalError(f"git {args[0]} failed in {self.workspace}: {detail}")
        return out

    def run_status(
        self, *args: str, env: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        """Run git and hand back (exit status, stdout, stderr) without raising."""
        command = ["git", "-c", "core.quotepath=off", "--literal-pathspecs", *args]
        status, out, err = self.repo.git.execute(
            command, with_extended_output=True, with_exceptions=False, env=env
        )
        return int(status or 0), str(out or ""), str(err or "")

    def run_env(self, env: dict[str, str], *args: str) -> str:
        """`run` with extra environment variables (e.g. a temporary GIT_INDEX_FILE)."""
        status, out, err = self.run_status(*args, env=env)
        if status != 0:
            detail = clean_text(err, 500) or f"exit status {status}"
            raise JournalError(f"git {args[0]} failed in {self.workspace}: {detail}")
        return out

    def head_bytes(self, path: str) -> bytes | None:
        """The content of `path` in HEAD, or None when HEAD has no such file."""
        checked = check_path(path)
        if self.head_sha() is None or not self.run("ls-tree", "HEAD", "--", checked):
            return None
        raw = self.repo.git.execute(
            ["git", "cat-file", "blob", f"HEAD:{checked}"], strip_newline_in_stdout=False,
            as_process=False, stdout_as_string=False,
        )
        return raw if isinstance(raw, bytes) else str(raw).encode("utf-8")

    def commit_content(self, path: str, content: bytes, message: str) -> str:
        """Commit `content` as `path` on top of HEAD, whatever the work tree holds there.

        Only this one change is committed: the researcher's uncommitted edits of the same file
        stay in the work tree, uncommitted, and their other staged files stay staged. The index
        entry of `path` becomes the committed content, so `git diff` shows just their edits.
        """
        checked = check_path(path)
        message = clean_message(message)
        with git_lock(self.git_dir):
            head = self.head_sha()
            if head is None:
                raise JournalError(f"{self.workspace} has no commit yet to add {checked} to.")
            listed = self.run("ls-tree", "HEAD", "--", checked).split()
            mode = listed[0] if listed else "100644"
            scratch = self.git_dir / "research-agent.blob.tmp"
            index = self.git_dir / "research-agent.index.tmp"
            try:
                scratch.write_bytes(content)
                blob = self.run("hash-object", "-w", "--no-filters", "--", str(scratch)).strip()
                env = {"GIT_INDEX_FILE": str(index)}
                self.run_env(env, "read-tree", head)
                entry = f"{mode},{blob},{checked}"
                self.run_env(env, "update-index", "--add", "--cacheinfo", entry)
                tree = self.run_env(env, "write-tree").strip()
                sha = self.run("commit-tree", tree, "-p", head, "-m", message).strip()
                self.run("update-index", "--add", "--cacheinfo", entry)
                reflog = f"commit: {message.splitlines()[0]}"
                self.run("update-ref", "-m", reflog, "HEAD", sha, head)
            finally:
                scratch.unlink(missing_ok=True)
                index.unlink(missing_ok=True)
        logger.info("committed %s: %s (only this change)", sha[:12], message.splitlines()[0])
        return sha

    def head_sha(self) -> str | None:
        """The commit HEAD points at, or None in a repository without commits."""
        status, out, _ = self.run_status("rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        return out.strip() if status == 0 and out.strip() else None

    def is_tracked(self, path: str) -> bool:
        """True when git tracks `path` (or, for a directory, anything under it)."""
        return bool(self.run("ls-files", "-z", "--", check_path(path)))

    def is_clean(self, paths: Sequence[str]) -> bool:
        """True when none of `paths` has staged, unstaged or untracked changes."""
        checked = [check_path(p) for p in paths]
        return not self.run("status", "--porcelain", "-z", "--untracked-files=all", "--", *checked)

    def has_changes(self, paths: Sequence[str]) -> bool:
        """True when the index differs from HEAD for `paths` (after they were added)."""
        if self.head_sha() is None:
            return bool(self.run("ls-files", "-z", "--", *paths))
        status, _, err = self.run_status("diff", "--cached", "--quiet", "HEAD", "--", *paths)
        if status > 1:
            raise JournalError(f"git diff failed in {self.workspace}: {clean_text(err, 500)}")
        return status == 1

    def commit_paths(
        self,
        paths: Sequence[str],
        message: str,
        cycle: int | None = None,
        allow_empty: bool = False,
    ) -> str:
        """Commit exactly `paths` (added, modified or deleted) and return the new sha."""
        checked = [check_path(p) for p in paths]
        folders = [p for p in checked if (self.workspace / p).is_dir()]
        if folders:  # `git add folder` would sweep in whatever else lies there
            raise JournalError(f"{', '.join(folders)}: commit files one by one, not folders.")
        message = with_trailer(clean_message(message), cycle)
        with git_lock(self.git_dir):
            present = [p for p in checked if self.exists(p) or self.is_tracked(p)]
            for path in sorted(set(checked) - set(present)):
                logger.debug("skipping %s: neither in the work tree nor tracked", path)
            if present:
                self.run("add", "--", *present)
            if not present or not self.has_changes(present):
                if not allow_empty:
                    raise JournalError(
                        f"nothing to commit in {self.workspace}: {', '.join(checked) or 'no paths'}"
                        " unchanged since the last commit."
                    )
                present = []
            extra = ["--allow-empty"] if not present else []
            self.run(
                "commit", "--only", "--no-verify", "--cleanup=whitespace", "--quiet",
                *extra, "-m", message, "--", *present,
            )  # fmt: skip
            sha = self.head_sha()
        if sha is None:
            raise JournalError(f"git commit in {self.workspace} left no HEAD commit.")
        logger.info("committed %s: %s", sha[:12], message.splitlines()[0])
        return sha

    def check_can_commit(self, paths: Sequence[str]) -> None:
        """Raise JournalError naming the file when a commit of `paths` could not happen now.

        A cycle asks before it spends anything (LLM tokens above all): a git lock left by the
        user's own git, a read-only folder or a broken repository would otherwise only show at
        the commit, after the work was paid for and thrown away.
        """
        index_lock = self.git_dir / "index.lock"
        if index_lock.exists():
            raise JournalError(
                f"{index_lock} exists: a git command is running in {self.workspace}, or one "
                "crashed. Let it finish, or remove that file if no git is running; nothing was "
                "spent."
            )
        for folder in (self.git_dir, self.git_dir / "objects"):
            if not os.access(folder, os.W_OK | os.X_OK):
                raise JournalError(f"{folder} is not writable: the cycle could not commit.")
        for path in paths:
            check_writable(self.workspace, check_path(path))
        status, _, err = self.run_status("rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        unborn = self.run_status("symbolic-ref", "--quiet", "HEAD")[0] == 0
        if status != 0 and not unborn:
            raise JournalError(
                f"git cannot read HEAD in {self.workspace} ({clean_text(err, 200) or 'broken'}): "
                "repair the repository (git status shows what is wrong)."
            )

    def discard_uncommitted(self, paths: Sequence[str]) -> list[str]:
        """Put `paths` back as HEAD has them: restore committed files, delete uncommitted ones."""
        checked = [check_path(p) for p in paths]
        discarded = []
        with git_lock(self.git_dir):
            head = self.head_sha()
            for path in checked:
                if head and self.run("ls-tree", "--name-only", "HEAD", "--", path):
                    if not self.is_clean([path]):
                        self.run("checkout", "HEAD", "--", path)
                        discarded.append(path)
                    continue
                if self.is_tracked(path):
                    self.run("rm", "--cached", "--quiet", "--", path)
                target = self.workspace / path
                if target.is_symlink() or target.is_file():
                    target.unlink()
                    discarded.append(path)
        for path in discarded:
            logger.info("discarded uncommitted %s", path)
        return discarded

    def exists(self, path: str) -> bool:
        """True when `path` is in the work tree (a dangling symlink counts)."""
        return os.path.lexists(self.workspace / path)

    def find_cycle_commits(self, since_cycle: int | None = None) -> dict[int, str]:
        """Cycle number -> sha of the newest commit carrying the trailer `Cycle: N`."""
        if self.head_sha() is None:
            return {}
        log = self.run("log", "--grep=^Cycle: [0-9]", "--format=%H%x1f%B%x1e", "HEAD")
        found: dict[int, str] = {}
        for record in log.split("\x1e"):
            sha, _, body = record.strip().partition("\x1f")
            cycle = trailer_cycle(body)
            if cycle is None or (since_cycle is not None and cycle < since_cycle):
                continue
            found.setdefault(cycle, sha)
        return found

    def ensure_identity(self) -> None:
        """Give the repository a local author only when none is configured anywhere."""
        for key, fallback, env in (
            ("user.name", DEFAULT_NAME, "GIT_AUTHOR_NAME"),
            ("user.email", DEFAULT_EMAIL, "GIT_AUTHOR_EMAIL"),
        ):
            status, out, _ = self.run_status("config", "--get", key)
            if (status == 0 and out.strip()) or os.environ.get(env):
                continue
            logger.info("no git %s configured: using %r for this repository", key, fallback)
            self.run("config", "--local", key, fallback)


@contextmanager
def open_journal(workspace: Path) -> Iterator[Journal]:
    """Open the workspace's repository for a few operations and close it again."""
    try:
        repo = git.Repo(workspace)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise JournalError(
            f"{workspace} is not a git repository: run `research-agent init {workspace}` "
            "or `git init` there."
        ) from exc
    try:
        yield Journal(Path(workspace), repo)
    finally:
        repo.close()


def check_can_commit(workspace: Path, paths: Sequence[str]) -> None:
    """JournalError naming the file if committing `paths` in `workspace` could not happen now."""
    with open_journal(workspace) as journal:
        journal.check_can_commit(paths)


def init_repo(workspace: Path, paths: Sequence[str], message: str) -> str:
    """`git init` the workspace if needed, make sure commits have an author, commit `paths`."""
    workspace = Path(workspace)
    if not (workspace / ".git").exists():
        workspace.mkdir(parents=True, exist_ok=True)
        git.Repo.init(workspace).close()
        logger.info("initialised a git repository in %s", workspace)
    with open_journal(workspace) as journal:
        journal.ensure_identity()
        return journal.commit_paths(paths, message)


def commit_paths(
    workspace: Path, paths: Sequence[str], message: str, cycle: int | None = None
) -> str:
    """Commit exactly `paths`, leaving the user's other staged and unstaged work alone."""
    with open_journal(workspace) as journal:
        return journal.commit_paths(paths, message, cycle)


def head_bytes(workspace: Path, path: str) -> bytes | None:
    """`path` as HEAD has it, or None when it is not in HEAD."""
    with open_journal(workspace) as journal:
        return journal.head_bytes(path)


def commit_content(workspace: Path, path: str, content: bytes, message: str) -> str:
    """Commit `content` as `path` on top of HEAD, leaving the work tree's own edits uncommitted."""
    with open_journal(workspace) as journal:
        return journal.commit_content(path, content, message)


def find_cycle_commits(workspace: Path, since_cycle: int | None = None) -> dict[int, str]:
    """Cycle number -> sha, from `Cycle: N` trailers (cycles >= since_cycle when given)."""
    with open_journal(workspace) as journal:
        return journal.find_cycle_commits(since_cycle)


def is_tracked(workspace: Path, path: str) -> bool:
    """True when git tracks `path` in the workspace."""
    with open_journal(workspace) as journal:
        return journal.is_tracked(path)


def is_clean(workspace: Path, paths: Sequence[str]) -> bool:
    """True when none of `paths` has uncommitted changes."""
    with open_journal(workspace) as journal:
        return journal.is_clean(paths)


def discard_uncommitted(workspace: Path, paths: Sequence[str]) -> list[str]:
    """Undo what an uncommitted cycle wrote to `paths` (and only there); returns those undone."""
    with open_journal(workspace) as journal:
        return journal.discard_uncommitted(paths)


def head_sha(workspace: Path) -> str | None:
    """The sha HEAD points at, or None before the first commit."""
    with open_journal(workspace) as journal:
        return journal.head_sha()


def oneline_log(workspace: Path) -> str:
    """`git log --oneline` of the workspace, for the demo's last screen ("" before any commit)."""
    with open_journal(workspace) as journal:
        status, out, _ = journal.run_status("log", "--oneline")
    return out.rstrip() if status == 0 else ""


def clear_stale_index_lock(
    workspace: Path, our_pids_dead: bool, not_before: float | None = None
) -> bool:
    """Remove `.git/index.lock` left by a crashed agent; True if removed.

    Git records no owner in index.lock, so only the caller can know it is stale: pass
    `our_pids_dead=True` only when the process that held the workspace lock (the agent that was
    committing) is known to be dead. Otherwise the lock may belong to a git the user is running
    right now, and removing it could corrupt their index, so it is left alone. `not_before`
    (epoch seconds, when the dead commit began): a lock older than that was not taken by it.
    """
    with open_journal(workspace) as journal:
        lock = journal.git_dir / "index.lock"
    if not lock.exists():
        return False
    if not our_pids_dead:
        logger.warning("%s exists and may belong to a running git: left alone", lock)
        return False
    if not_before is not None and lock.stat().st_mtime < not_before:
        logger.warning("%s is older than the crashed cycle, so another git holds it: left alone",
                       lock)
        return False
    lock.unlink(missing_ok=True)
    logger.warning("removed stale %s left by a crashed research-agent", lock)
    return True
