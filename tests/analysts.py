"""An LLM analyst pointed at the loopback OpenAI server, and candidates for it to read.

Shared by the LLM analyst's test files (test files never import one another).
"""

from __future__ import annotations

from typing import Any

from agent.analyst import Brief, Candidate
from agent.analyst.backends import AnalystSetup
from agent.analyst.llm import LLMAnalyst
from agent.models import LLMCall, Match, Paper, Track
from agent.settings import LLMSettings
from tests.fakes.openai_server import FakeOpenAIServer

SECRET = "sk-test-SECRET-never-logged"

TRACKS = [
    Track("sae", "Audio SAEs", "Sparse autoencoders on audio models", ("sparse autoencoder",), 5),
    Track("listen", "Listen vs guess", "Do audio LMs use the audio?", ("grounding",), 3),
]
BRIEF = Brief(TRACKS)


def make_candidate(paper_id: str, abstract: str = "", track: str = "sae") -> Candidate:
    paper = Paper(
        id=paper_id,
        title=f"Paper {paper_id}",
        abstract=abstract or f"We propose method {paper_id}. It improves accuracy by 4.2%.",
        authors=("A. Author", "B. Author"),
        categories=("cs.SD",),
    )
    return Candidate(paper, [Match(paper_id, track, 0.8, True, ("sparse autoencoder",))])


def make_analyst(server: FakeOpenAIServer, calls: list[LLMCall], **settings: Any) -> LLMAnalyst:
    options: dict[str, Any] = {"max_retries": 0, "timeout_seconds": 5.0, **settings}
    budget = options.pop("budget", None)
    llm = LLMSettings(base_url=server.base_url, api_key=SECRET, model="fake-model", **options)
    return LLMAnalyst(AnalystSetup(llm, calls.append, researcher="Leo", budget=budget))
