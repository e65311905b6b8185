"""The analyst backends a cycle chooses from by name, as simonw/llm chooses a model.

"offline" reads without a model; "llm" is the LLM analyst behind the offline one, which takes
over if the LLM fails. Tests pass their own analyst through `CycleOptions.make_analyst`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.analyst import Analyst, UsageSink
from agent.analyst.budget import TokenBudget
from agent.analyst.fallback import FallbackAnalyst
from agent.analyst.offline import OfflineAnalyst
from agent.errors import ConfigError
from agent.settings import LLMSettings


@dataclass(frozen=True)
class AnalystSetup:
    """What a backend is built from for one cycle."""

    settings: LLMSettings
    usage_sink: UsageSink
    workspace: Path | None = None
    researcher: str = "the researcher"
    budget: TokenBudget | None = None
    stop_at: float | None = None  # time.monotonic: no LLM request outlives it (the deadline)
    section_tokens: int = 3000  # a deep read's map step reads about this many tokens at once


def offline_analyst(setup: AnalystSetup) -> Analyst:
    """The extractive analyst: no model, no network."""
    return OfflineAnalyst(workspace=setup.workspace)


def llm_analyst(setup: AnalystSetup) -> Analyst:
    """The LLM analyst, with the offline one ready to do the rest of the cycle if it fails."""
    from agent.analyst.llm import LLMAnalyst  # imports openai only when it is used

    return FallbackAnalyst(LLMAnalyst(setup), offline_analyst(setup))


BACKENDS: dict[str, Callable[[AnalystSetup], Analyst]] = {
    "offline": offline_analyst,
    "llm": llm_analyst,
}


def backend_for(settings: LLMSettings) -> str:
    """ "llm" with a key or a base URL, else "offline"."""
    return "llm" if settings.enabled else "offline"


def get_analyst(name: str, setup: AnalystSetup) -> Analyst:
    """The backend registered as `name`, built for this cycle."""
    try:
        build = BACKENDS[name]
    except KeyError:
        known = ", ".join(BACKENDS)
        raise ConfigError(f"Unknown analyst {name!r}: choose one of {known}.") from None
    return build(setup)
