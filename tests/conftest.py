"""Shared fixtures. Loopback fakes of the outside world live in tests/fakes/ (one module each)."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.workspaces import ENVIRONMENT, scanned_workspace

pytest_plugins = [
    "tests.fakes.arxiv_server",
    "tests.fakes.openai_server",
    "tests.fakes.fulltext_server",
    "tests.fakes.trickle_server",
    "tests.postgres",
]

@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's key, endpoints or workspace; arXiv pacing is off."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARXIV_DELAY_SECONDS", "0")
    yield


# The terminal every test sees, whatever the developer's shell or the CI runner exports: output
# asserted to fit 80 columns is rendered 80 columns wide, and local time is UTC.
TERMINAL = {"COLUMNS": "80", "LINES": "25", "TZ": "UTC"}


@pytest.fixture(autouse=True)
def pinned_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """80 columns and UTC for every test, including the CLI's consoles made at import time."""
    from agent import cli

    for name, value in TERMINAL.items():
        monkeypatch.setenv(name, value)
    time.tzset()
    for console in (cli.console, cli.errors):  # rich read COLUMNS once, when agent.cli loaded
        monkeypatch.setattr(console, "width", 80)
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="session")
def workspace_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace just made by `init`, made once per test session (in the tests' environment)."""
    from agent.workspace import init_workspace

    with pytest.MonkeyPatch.context() as env:
        for name in ENVIRONMENT:
            env.delenv(name, raising=False)
        for name, value in TERMINAL.items():
            env.setenv(name, value)
        time.tzset()
        path, _ = init_workspace(tmp_path_factory.mktemp("fresh") / "radar")
    time.tzset()
    return path


@pytest.fixture
def workspace(workspace_template: Path, tmp_path: Path) -> Path:
    """A fresh workspace made by `init` (example tracks, git repo, initial commit): a private
    copy of the session's, as `init` costs several git processes."""
    copy = shutil.copytree(workspace_template, tmp_path / "radar", symlinks=True)
    return Path(copy).resolve()


@pytest.fixture(scope="session")
def scanned_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace after one offline scan of the sample, made once per test session."""
    return scanned_workspace(tmp_path_factory.mktemp("scanned"))


@pytest.fixture
def scanned(scanned_template: Path, tmp_path: Path) -> Path:
    """A private copy of the scanned workspace (git repository and store included)."""
    return Path(shutil.copytree(scanned_template, tmp_path / "radar", symlinks=True))


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    """Put the root logger's handlers and levels (root's, agent's) back as they were: commands
    under test configure logging to their workspace's file."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    agent_level = logging.getLogger("agent").level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("agent").setLevel(agent_level)
