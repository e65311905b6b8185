"""What every action is given (`Context`), and how a cycle is abandoned (`Cancelled`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from agent.analyst import Analyst
from agent.errors import AgentError
from agent.models import FullText, Paper, Track
from agent.rank import Ranker
from agent.rank.embeddings import load_embedder
from agent.settings import Settings
from agent.sources import Source
from agent.store import Store

logger = logging.getLogger(__name__)


class Cancelled(AgentError):
    """The daemon asked the cycle to stop (SIGTERM); nothing was written."""


@dataclass
class Context:
    """Everything an action may use, wired by the cycle."""

    settings: Settings
    tracks: list[Track]  # active, highest priority first
    store: Store  # read-only here
    source: Source
    analyst: Analyst
    now: datetime
    stop: threading.Event = field(default_factory=threading.Event)
    fetch_text: Callable[[Paper], tuple[FullText, list[str]]] | None = None
    progress: Callable[[str], None] = lambda message: None  # the CLI shows it as a status line

    def step(self, message: str) -> None:
        """Say what the cycle is doing now (it may wait on arXiv or the LLM for a while)."""
        logger.debug(message)
        self.progress(message)

    def checkpoint(self) -> None:
        """Abandon the cycle here if a shutdown was requested."""
        if self.stop.is_set():
            raise Cancelled("shutdown requested; the cycle was abandoned before writing anything")

    def ranker(self) -> Ranker:
        """A ranker that learns from the ratings, with the rated papers' text from the store."""
        ratings = self.store.ratings()
        # Rocchio needs each rated paper's words; it may be in neither this batch nor the sample
        rated = self.store.get_papers(list({r.paper_id for r in ratings}))
        # the embeddings extra, when installed, keeps its paper vectors in the store
        return Ranker(self.tracks, ratings=ratings, rated_papers=list(rated.values()),
                      embedder=load_embedder(self.store))


