"""A tiny deterministic sentence-embedding model for tests: each word hashed into 64 buckets.

Registered under HASHED_MODEL, so `RESEARCH_AGENT_EMBEDDINGS=test-hashed-words` makes the product
use it (the model is no outside protocol: a stand-in computes vectors without torch). Papers that
share words get close vectors; `calls` records every batch the model was asked to encode.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from agent.rank.embeddings import register_model

HASHED_MODEL = "test-hashed-words"
DIM = 64
STOP = {"a", "an", "and", "are", "for", "in", "is", "it", "not", "of", "on", "or", "that",
        "the", "to", "we", "with", "keywords"}


class HashedWords:
    """The encoder, counting what it is asked to encode."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        vectors = np.zeros((len(texts), DIM))
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                if word not in STOP:
                    vectors[row, zlib.crc32(word.encode()) % DIM] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    @property
    def texts(self) -> int:
        return sum(len(call) for call in self.calls)


def register_hashed_model() -> HashedWords:
    """Register a fresh counting encoder as HASHED_MODEL and return it."""
    encoder = HashedWords()
    register_model(HASHED_MODEL, lambda: encoder)
    return encoder
