"""The resolved settings of one workspace: plain frozen data (config.py builds it).

Names mirror research.toml sections: `settings.arxiv.api_url` is `[arxiv] api_url`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MODEL = "gpt-4.1-mini"


@dataclass(frozen=True)
class ArxivSettings:
    api_url: str = "https://export.arxiv.org/api/query"
    html_url: str = "https://arxiv.org/html/"
    pdf_url: str = "https://arxiv.org/pdf/"
    delay_seconds: float = 3.0  # arXiv's terms: one request every three seconds
    timeout_seconds: float = 60.0  # total deadline per request (a 2,000-paper page is ~5 MB)
    max_retries: int = 4  # on 429/503/timeouts/non-feed answers, with exponential backoff
    overlap_days: int = 3  # re-read this far behind the cursor: moderation delays papers
    backfill_days: int = 3  # the first scan of a workspace reads the listing this far back
    max_results: int = 200  # per keyword search for older work (discovery)
    page_size: int = 2000  # papers per request (arXiv's maximum)


@dataclass(frozen=True)
class LLMSettings:
    base_url: str | None = None  # None: the OpenAI API
    api_key: str | None = field(default=None, repr=False)  # never written anywhere
    model: str = DEFAULT_MODEL
    timeout_seconds: float = 120.0  # per request, whole answer (a trickled one too)
    max_retries: int = 2
    concurrency: int = 8  # calls in flight at once: a learn's summaries go out together
    daily_token_budget: int = 400_000
    cycle_token_budget: int = 120_000

    @property
    def enabled(self) -> bool:
        """A key, or a base URL alone (local servers such as Ollama or vLLM need no key)."""
        return bool(self.api_key or self.base_url)


@dataclass(frozen=True)
class LearnSettings:
    max_papers: int = 5  # papers summarised per learn cycle
    queue_threshold: float = 0.8  # learn queues papers scoring above this for a deep read
    queue_per_cycle: int = 2  # at most this many of them per learn cycle (deep reads are costly)
    memory_papers: int = 8  # earlier papers recalled into a field update


@dataclass(frozen=True)
class FulltextSettings:
    max_bytes: int = 25 * 1024 * 1024
    deadline_seconds: float = 120.0  # per request, whole download, not per read
    section_tokens: int = 3000  # per map step of a deep read
    max_sections: int = 40


@dataclass(frozen=True)
class ScheduleSettings:
    every: str = "1h"  # or a cron expression in `cron`
    cron: str | None = None
    timezone: str = "UTC"
    active_hours: str = "22-07"  # when deep work happens (the researcher sleeps)
    shutdown_grace: float = 10.0
    cycle_deadline: float = 1800.0  # seconds; past it a cycle is abandoned like on SIGTERM


@dataclass(frozen=True)
class Settings:
    workspace: Path
    database_url: str
    arxiv: ArxivSettings = ArxivSettings()
    llm: LLMSettings = LLMSettings()
    learn: LearnSettings = LearnSettings()
    fulltext: FulltextSettings = FulltextSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    researcher: str = "the researcher"  # how notes address the user ("Leo")

    @property
    def state_dir(self) -> Path:
        return self.workspace / "state"

    @property
    def cycles_dir(self) -> Path:
        return self.workspace / "cycles"

    @property
    def tracks_path(self) -> Path:
        return self.workspace / "state" / "tracks.toml"

    @property
    def cache_dir(self) -> Path:
        return self.workspace / "state" / "cache"
