"""The resolved settings of one workspace: plain frozen data (config.py builds it).

Names mirror research.toml sections: `settings.arxiv.api_url` is `[arxiv] api_url`. Each field's
allowed values sit on its type (`Bounds`, the URL check), in pydantic's own protocol; config.py
validates research.toml, the environment and flags against them. Built directly, as tests do, the
dataclasses stay plain and unchecked. Nothing here imports pydantic: `status` reads settings
validated earlier (agent/memo.py) without paying for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from pydantic import ConfigDict, GetCoreSchemaHandler
    from pydantic_core import CoreSchema

DEFAULT_MODEL = "gpt-4.1-mini"
HOUR = 3600.0
HTTP_URL_RULE = "an http:// or https:// URL"
# Strings from the environment become numbers; nan/inf are refused; unknown keys are refused.
VALIDATION: ConfigDict = {"extra": "forbid", "allow_inf_nan": False, "coerce_numbers_to_str": True}


@dataclass(frozen=True)
class Bounds:
    """A number's range, applied by pydantic as `Field(ge=low, le=high)` (`gt` with open_low)."""

    low: float
    high: float
    open_low: bool = False

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        schema: Any = handler(source)
        schema["gt" if self.open_low else "ge"] = self.low
        schema["le"] = self.high
        return schema


def within(low: float, high: float, *, open_low: bool = False) -> Bounds:
    """A number from `low` (exclusive with open_low) to `high`: every numeric setting has a
    ceiling, so `inf`, `1e12` or a typo'd extra digit is refused instead of overflowing later."""
    return Bounds(low, high, open_low)


def http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(HTTP_URL_RULE)
    return value


class HttpUrlRule:
    """`http_url` run by pydantic after the string check, as `AfterValidator(http_url)` would."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(http_url, handler(source))


HttpUrl = Annotated[str, HttpUrlRule()]


@dataclass(frozen=True)
class ArxivSettings:
    __pydantic_config__ = VALIDATION
    api_url: HttpUrl = "https://export.arxiv.org/api/query"
    html_url: HttpUrl = "https://arxiv.org/html/"
    pdf_url: HttpUrl = "https://arxiv.org/pdf/"
    # arXiv's terms: one request every three seconds
    delay_seconds: Annotated[float, within(0, 60)] = 3.0
    # total deadline per request (a 2,000-paper page is ~5 MB)
    timeout_seconds: Annotated[float, within(0, 600, open_low=True)] = 60.0
    # on 429/503/timeouts/non-feed answers, with exponential backoff
    max_retries: Annotated[int, within(0, 10)] = 4
    # re-read this far behind the cursor: moderation delays papers
    overlap_days: Annotated[int, within(0, 30)] = 3
    # the first scan of a workspace reads the listing this far back
    backfill_days: Annotated[int, within(1, 365)] = 3
    # per keyword search for older work (discovery)
    max_results: Annotated[int, within(1, 10_000)] = 200
    page_size: Annotated[int, within(1, 2000)] = 2000  # papers per request (arXiv's maximum)


@dataclass(frozen=True)
class LLMSettings:
    __pydantic_config__ = VALIDATION
    base_url: HttpUrl | None = None  # None: the OpenAI API
    api_key: str | None = field(default=None, repr=False)  # never written anywhere
    model: str = DEFAULT_MODEL
    # per request, whole answer (a trickled one too)
    timeout_seconds: Annotated[float, within(0, HOUR, open_low=True)] = 120.0
    max_retries: Annotated[int, within(0, 10)] = 2
    # calls in flight at once: a learn's summaries go out together
    concurrency: Annotated[int, within(1, 64)] = 8
    daily_token_budget: Annotated[int, within(0, 1_000_000_000)] = 600_000
    cycle_token_budget: Annotated[int, within(0, 1_000_000_000)] = 120_000

    @property
    def enabled(self) -> bool:
        """A key, or a base URL alone (local servers such as Ollama or vLLM need no key)."""
        return bool(self.api_key or self.base_url)


@dataclass(frozen=True)
class LearnSettings:
    __pydantic_config__ = VALIDATION
    max_papers: Annotated[int, within(1, 1000)] = 5  # papers summarised per learn cycle
    # candidates an LLM judges per learn cycle, so that the best `max_papers` it clears are
    # summarised; less the papers it kept earlier that still wait, never fewer than max_papers
    # (the offline analyst judges none)
    judge_candidates: Annotated[int, within(1, 1000)] = 50
    # with an LLM judge, papers scoring at least this on a track are candidates, not only those
    # at the ranker's relevance threshold (0.5): the judge, not the threshold, decides
    judge_floor: Annotated[float, within(0, 1, open_low=True)] = 0.15
    # learn queues papers scoring above this for a deep read
    queue_threshold: Annotated[float, within(0, 1)] = 0.8
    # at most this many of them per learn cycle (deep reads are costly)
    queue_per_cycle: Annotated[int, within(0, 100)] = 2
    # earlier papers recalled into a field update
    memory_papers: Annotated[int, within(0, 1000)] = 8

    def judged_per_cycle(self, waiting: int = 0) -> int:
        """New candidates the judge reads in a cycle when `waiting` papers it kept earlier are
        still unread (one home for that rule): `judge_candidates` less those, so the backlog
        stays within about `judge_candidates`, and never fewer than `max_papers`, so the
        ranker's best fresh papers are always judged and a cycle can summarise `max_papers`."""
        return max(self.judge_candidates - waiting, self.max_papers)


@dataclass(frozen=True)
class FulltextSettings:
    __pydantic_config__ = VALIDATION
    max_bytes: Annotated[int, within(1, 1 << 30)] = 25 * 1024 * 1024
    # per request, whole download, not per read
    deadline_seconds: Annotated[float, within(0, HOUR, open_low=True)] = 120.0
    section_tokens: Annotated[int, within(100, 100_000)] = 3000  # per map step of a deep read
    max_sections: Annotated[int, within(1, 1000)] = 40


@dataclass(frozen=True)
class ScheduleSettings:
    __pydantic_config__ = VALIDATION
    every: str = "1h"  # or a cron expression in `cron`
    cron: str | None = None
    timezone: str = "UTC"
    active_hours: str = "22-07"  # when deep work happens (the researcher sleeps)
    shutdown_grace: Annotated[float, within(0, HOUR)] = 10.0
    # seconds; past it a cycle is abandoned like on SIGTERM
    cycle_deadline: Annotated[float, within(0, 24 * HOUR, open_low=True)] = 1800.0


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
