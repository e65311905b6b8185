"""Shared fixtures. Loopback fakes of the outside world live in tests/fakes/ (one module each)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fakes.arxiv_server",
    "tests.fakes.openai_server",
    "tests.fakes.fulltext_server",
]

ENVIRONMENT = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "RESEARCH_AGENT_MODEL",
    "DATABASE_URL",
    "ARXIV_API_URL",
    "ARXIV_HTML_URL",
    "ARXIV_PDF_URL",
    "ARXIV_DELAY_SECONDS",
    "RESEARCH_AGENT_WORKSPACE",
    "RESEARCH_AGENT_CRASH_AT",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's key, endpoints or workspace; arXiv pacing is off."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARXIV_DELAY_SECONDS", "0")
    yield


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh workspace made by `init` (example tracks, git repo, initial commit)."""
    from agent.workspace import init_workspace

    path, _ = init_workspace(tmp_path / "radar")
    return path
