"""Workspaces several test files build from (test files never import one another)."""

from __future__ import annotations

from pathlib import Path

import pytest

# What a developer's shell may export that would reach a test: keys, endpoints, the workspace.
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


def scanned_workspace(parent: Path, extra_tracks: str = "") -> Path:
    """`parent`/radar after `init` and one offline scan of the bundled sample, with the
    `[[track]]` tables of `extra_tracks` added to the example tracks before the scan."""
    from agent.cycle import CycleOptions, run_cycle
    from agent.workspace import init_workspace

    with pytest.MonkeyPatch.context() as env:
        for name in ENVIRONMENT:
            env.delenv(name, raising=False)
        path, _ = init_workspace(parent / "radar")
        if extra_tracks:
            tracks = path / "state" / "tracks.toml"
            tracks.write_text(tracks.read_text(encoding="utf-8") + extra_tracks, encoding="utf-8")
        outcome = run_cycle(path, CycleOptions(action="scan", source="sample"))
    assert outcome.status == "committed", outcome.error
    return path
