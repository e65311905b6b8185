"""A cycle's source and full-text reader, chosen by name: the arXiv API, or the bundled sample
replayed offline (the demo and tests never touch the network with it)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date

from agent.errors import AgentError
from agent.settings import Settings
from agent.sources import Source

SAMPLE_DAYS_PER_SCAN = 3  # a replayed scan takes three listing days: enough for a demo to learn
SOURCES = ("arxiv", "sample")
SAMPLE_OFFLINE_TEXT = "The sample replay runs offline: only the abstract was read."


def make_source(settings: Settings, name: str) -> Source:
    """The arXiv API, or the replay of the bundled sample."""
    if name == "sample":
        from agent.sources.sample import SampleSource

        # the bundled sample is sparse before its dense run of daily listings from 2026-01-05
        return SampleSource(start=date(2026, 1, 5), days_per_fetch=SAMPLE_DAYS_PER_SCAN)
    if name != "arxiv":
        raise AgentError(f"unknown source '{name}'; choose arxiv or sample.")
    from agent.sources.arxiv_api import ArxivSource

    return ArxivSource(settings.arxiv)


def text_fetcher(  # type: ignore[no-untyped-def]
    settings: Settings, source: str = "arxiv", deadline_at: float | None = None
):
    """A function reading a paper's full text (HTML, then PDF, then the abstract)."""

    def fetch(paper):  # type: ignore[no-untyped-def]
        # imported on first use: slow to import, and only a deep read reads a full text
        from agent.sources.fulltext import abstract_full_text, fetch_full_text_with_report

        if source == "sample":  # the replay (and the demo) must never wait on the network
            return abstract_full_text(paper), [SAMPLE_OFFLINE_TEXT]
        limits = settings.fulltext
        if deadline_at is not None:  # no download outlives the cycle's deadline
            left = max(0.001, deadline_at - time.monotonic())
            limits = replace(limits, deadline_seconds=min(limits.deadline_seconds, left))
        return fetch_full_text_with_report(
            paper, settings.arxiv, limits, settings.cache_dir / "fulltext"
        )

    return fetch
