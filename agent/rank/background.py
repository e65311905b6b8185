"""The background corpus: papers whose statistics make idf sane for a scan of a dozen papers.

By default the bundled sample, read and tokenized once per process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from agent.models import Paper
from agent.rank.index import Tokens, tokenize_papers

logger = logging.getLogger(__name__)

_LOCK = threading.Lock()
_DEFAULT: Background | None = None


@dataclass(frozen=True)
class Background:
    """Papers and their tokens."""

    papers: tuple[Paper, ...]
    tokens: Tokens


def load_background(papers: Sequence[Paper] | None) -> Background:
    """The given papers as a background, or the bundled sample (cached) when None."""
    if papers is not None:
        return Background(tuple(papers), tokenize_papers(papers))
    global _DEFAULT
    with _LOCK:
        if _DEFAULT is None:
            from agent.sources.jsonl import SAMPLE_PATH, read_papers_jsonl

            sample = read_papers_jsonl(SAMPLE_PATH)
            _DEFAULT = Background(tuple(sample), tokenize_papers(sample))
            logger.debug("background: %d sample papers tokenized", len(sample))
        return _DEFAULT
