"""The background corpus: papers whose statistics make idf sane for a scan of a dozen papers.

By default the bundled sample. Reading and tokenizing it costs a second, so its tokens are kept
in a cache file (in `agent.memo.cache_dir`) built by the first process and checked against the
sample's content hash and the tokenizer's version; every later process loads arrays instead. The
cache is an optimisation only: when it cannot be read or written, the sample is tokenized as
before.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.files import write_atomic
from agent.memo import CACHE_ENV, cache_dir  # noqa: F401  (CACHE_ENV: tests set it)
from agent.models import Paper
from agent.rank.index import STOP, VOCABULARY, Index, Tokens, Vocabulary, tokenize_papers

logger = logging.getLogger(__name__)

TOKENIZER_VERSION = "7"  # bump when text.py or index.py change what a token is

_LOCK = threading.Lock()
_DEFAULT: Background | None = None


@dataclass(frozen=True)
class Background:
    """Papers (their ids and categories, primary first), their tokens and word-only index."""

    ids: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    tokens: Tokens
    words: Index | None = None  # prebuilt (from the cache): only pairs are left to index

    def index(self, pairs: Iterable[int]) -> Index:
        """The index of the background's words and of the wanted word pairs."""
        if self.words is not None:
            return self.words.with_pairs(self.tokens, pairs)
        return Index(self.tokens, pairs)


def load_background(papers: Sequence[Paper] | None) -> Background:
    """The given papers as a background, or the bundled sample (cached) when None."""
    if papers is not None:
        return _of_papers(papers)
    global _DEFAULT
    with _LOCK:
        if _DEFAULT is None:
            _DEFAULT = _bundled()
        return _DEFAULT


def _of_papers(papers: Sequence[Paper]) -> Background:
    return Background(
        tuple(p.id for p in papers), tuple(p.categories for p in papers), tokenize_papers(papers)
    )


def _bundled() -> Background:
    """The bundled sample's background, from the cache when it is there and current."""
    from agent.sources.jsonl import SAMPLE_PATH, read_papers_jsonl

    key = hashlib.sha256(SAMPLE_PATH.read_bytes()).hexdigest()[:16] + "-t" + TOKENIZER_VERSION
    path = cache_dir() / f"background-{key}.npz"
    try:
        found = _read_cache(path, VOCABULARY)
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("background cache %s unreadable (%s): rebuilding it", path, exc)
        found = None
    if found is not None:
        logger.debug("background: %d sample papers from %s", len(found.ids), path)
        return found
    background = _of_papers(read_papers_jsonl(SAMPLE_PATH))
    try:
        _write_cache(path, background, VOCABULARY)
    except OSError as exc:
        logger.info("background cache not written to %s: %s", path, exc)
    logger.debug("background: %d sample papers tokenized", len(background.ids))
    return background


def _write_cache(path: Path, background: Background, vocabulary: Vocabulary) -> None:
    """Tokens as compact arrays, the words they name as text; written whole or not at all."""
    tokens = background.tokens
    used = np.unique(tokens.words)
    # raw token -> position of its stem in "stems", or STOP / BREAK: spares later processes
    # stemming the words the sample already taught us
    # (the marks BREAK and FIELD_END are in every vocabulary already)
    raw = [(t, i) for t, i in vocabulary.ids.items() if i == STOP or _member(used, i)]
    raw_codes = np.asarray([i for _, i in raw], dtype=np.int64)
    raw_codes = np.where(raw_codes >= 0, np.searchsorted(used, raw_codes), raw_codes)
    meta = {"ids": background.ids, "categories": background.categories}
    words = Index(tokens)
    title_counts = np.bincount(tokens.docs[tokens.fields == 0], minlength=tokens.n_docs)
    starts = np.ones(len(tokens.segments), dtype=bool)
    starts[1:] = tokens.segments[1:] != tokens.segments[:-1]
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    np.savez(
        out,
        words=np.searchsorted(used, tokens.words).astype(np.int32),
        doc_counts=np.bincount(tokens.docs, minlength=tokens.n_docs).astype(np.int32),
        title_counts=title_counts.astype(np.int32),
        segment_starts=starts,
        index_keys=np.searchsorted(used, words.keys).astype(np.int32),
        index_docs=words.docs,
        index_tf_title=words.tf_title.astype(np.uint16),
        index_tf_abstract=words.tf_abstract.astype(np.uint16),
        stems=_text_array([vocabulary.stems[i] for i in used.tolist()]),
        raw_tokens=_text_array([t.decode("ascii") for t, _ in raw]),
        raw_codes=raw_codes.astype(np.int32),
        meta=_text_array([json.dumps(meta)]),
    )
    write_atomic(path, out.getvalue())


def _member(sorted_values: np.ndarray, value: int) -> bool:
    at = int(np.searchsorted(sorted_values, value))
    return at < len(sorted_values) and int(sorted_values[at]) == value


def _text_array(lines: list[str]) -> np.ndarray:
    """Lines of text as one byte array (NUL-separated: no line holds a NUL)."""
    return np.frombuffer("\x00".join(lines).encode("utf-8"), dtype=np.uint8)


def _text_lines(array: np.ndarray) -> list[str]:
    return array.tobytes().decode("utf-8").split("\x00")


def _learn_tokens(vocabulary: Vocabulary, learned: dict[bytes, int]) -> None:
    """Add raw token -> id pairs the vocabulary lacks (a token it knows keeps its id), in C:
    a per-token loop cost a noticeable share of a short `triage`."""
    with vocabulary.lock:
        learned.update(vocabulary.ids)
        vocabulary.ids.update(learned)


def _read_cache(path: Path, vocabulary: Vocabulary) -> Background | None:
    """The cached background, its word numbers mapped to this process's vocabulary."""
    if not path.exists():
        return None
    with np.load(path) as data:
        meta = json.loads(_text_lines(data["meta"])[0])
        local = vocabulary.stem_ids_of(_text_lines(data["stems"]))
        codes = data["raw_codes"]
        codes = np.where(codes >= 0, local[np.maximum(codes, 0)], codes)
        raw = data["raw_tokens"].tobytes().split(b"\x00")  # ASCII: the bytes are the tokens
        _learn_tokens(vocabulary, dict(zip(raw, codes.tolist(), strict=True)))
        doc_counts, title_counts = data["doc_counts"], data["title_counts"]
        n_docs = len(doc_counts)
        docs = np.repeat(np.arange(n_docs, dtype=np.int32), doc_counts)
        first = np.concatenate(([0], np.cumsum(doc_counts)[:-1]))
        fields = (np.arange(len(docs)) - first[docs] >= title_counts[docs]).astype(np.int8)
        segments = np.cumsum(data["segment_starts"], dtype=np.int32)
        tokens = Tokens(local[data["words"]], docs, fields, segments, n_docs)
        cached = Index.__new__(Index)
        cached.n_docs = n_docs
        cached.keys = data["index_keys"].astype(np.int64)
        cached.docs = data["index_docs"]
        cached.tf_title = data["index_tf_title"].astype(np.float32)
        cached.tf_abstract = data["index_tf_abstract"].astype(np.float32)
    cached.len_title = title_counts.astype(np.int64)
    cached.len_abstract = (doc_counts - title_counts).astype(np.int64)
    words = cached.remapped(local)
    categories = tuple(tuple(c) for c in meta["categories"])
    return Background(tuple(meta["ids"]), categories, tokens, words)
