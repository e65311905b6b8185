"""BM25F scoring of a weighted query over an index, and papers as term vectors.

Statistics (document frequencies, average lengths) come from `Stats`, built from the background
corpus plus the papers being ranked, so a scan of twelve papers gets the same idf as the sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agent.rank.index import Index

K1 = 1.2  # term-frequency saturation of plain BM25 (the ranker's main part sets its own)
TITLE_WEIGHT = 2.5  # a word in the title says more than one in the abstract
B_TITLE = 0.3
B_ABSTRACT = 0.75


@dataclass
class Stats:
    """Collection statistics: how many papers, their mean field lengths, and a df function."""

    n_docs: float
    avg_title: float
    avg_abstract: float
    indexes: list[tuple[Index, np.ndarray | None]]  # (index, which of its papers count)
    kept_before: list[np.ndarray | None] = field(default_factory=list)  # see build_stats

    def doc_freq(self, keys: np.ndarray) -> np.ndarray:
        """Papers holding each feature, summed over the counted indexes."""
        total = np.zeros(len(keys))
        for (index, _), kept in zip(self.indexes, self.kept_before, strict=True):
            starts = np.searchsorted(index.keys, keys, "left")
            ends = np.searchsorted(index.keys, keys, "right")
            total += ends - starts if kept is None else kept[ends] - kept[starts]
        return total

    def idf(self, keys: np.ndarray) -> np.ndarray:
        """BM25 idf of each feature (always positive)."""
        df = self.doc_freq(keys)
        return np.log1p((self.n_docs - df + 0.5) / (df + 0.5))


def build_stats(indexes: list[tuple[Index, np.ndarray | None]]) -> Stats:
    """Statistics over the kept papers of several indexes."""
    n = title = abstract = 0.0
    for index, keep in indexes:
        mask = np.ones(index.n_docs, dtype=bool) if keep is None else keep
        n += float(mask.sum())
        title += float(index.len_title[mask].sum())
        abstract += float(index.len_abstract[mask].sum())
    n = max(n, 1.0)
    # per index with a mask: how many counted entries come before each entry (one cumsum here,
    # not one per idf lookup)
    kept_before = [
        None if keep is None else np.concatenate(([0], np.cumsum(keep[index.docs])))
        for index, keep in indexes
    ]
    return Stats(n, max(title / n, 1.0), max(abstract / n, 1.0), indexes, kept_before)


def entry_weights(
    index: Index, stats: Stats, entries: np.ndarray, k1: float = K1
) -> np.ndarray:
    """Saturated BM25F term frequency (0..1) of the given entries of `index`; a larger `k1`
    saturates later (a word said five times counts more against one said once)."""
    docs = index.docs[entries]
    norm_title = 1 - B_TITLE + B_TITLE * index.len_title[docs] / stats.avg_title
    norm_abstract = 1 - B_ABSTRACT + B_ABSTRACT * index.len_abstract[docs] / stats.avg_abstract
    tf = TITLE_WEIGHT * index.tf_title[entries] / norm_title
    tf += index.tf_abstract[entries] / norm_abstract
    saturated: np.ndarray = tf / (k1 + tf)
    return saturated


def query_entries(index: Index, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All entries of the given features, and for each entry which feature it belongs to."""
    starts = np.searchsorted(index.keys, keys, "left")
    ends = np.searchsorted(index.keys, keys, "right")
    counts = ends - starts
    owner = np.repeat(np.arange(len(keys)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offsets, owner


def score_query(
    index: Index, stats: Stats, weights: dict[int, float], k1: float = K1
) -> tuple[np.ndarray, float]:
    """Raw BM25F score of every paper of `index`, and the score of a paper matching everything
    (`k1`: see entry_weights)."""
    if not weights:
        return np.zeros(index.n_docs), 1.0
    keys = np.fromiter(weights, dtype=np.int64, count=len(weights))
    values = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
    idf = stats.idf(keys)
    entries, owner = query_entries(index, keys)
    contrib = (values * idf)[owner] * entry_weights(index, stats, entries, k1)
    scores = np.bincount(index.docs[entries], weights=contrib, minlength=index.n_docs)
    return scores, ideal_score(stats, weights)


def ideal_score(stats: Stats, weights: dict[int, float]) -> float:
    """The raw score of a paper matching every word of a query: the unit of its scores."""
    if not weights:
        return 1.0
    keys = np.fromiter(weights, dtype=np.int64, count=len(weights))
    values = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
    return max(float(np.clip(values, 0, None) @ stats.idf(keys)), 1e-9)


def reference_level(values: np.ndarray, papers: int, floor: float) -> float:
    """Mean of the `papers` largest values, at least `floor`: what a track's best background
    papers reach (a background with nothing on the track must not make mediocre papers look
    good)."""
    best = np.sort(values)[::-1][:papers]
    return max(float(best.mean()) if len(best) else 0.0, floor)


def has_all(index: Index, keys: tuple[int, ...], title_only: bool = False) -> np.ndarray:
    """Mask of the papers holding every one of `keys` (a phrase: all its word pairs)."""
    found = np.ones(index.n_docs, dtype=bool) if keys else np.zeros(index.n_docs, dtype=bool)
    for key in keys:
        mask = np.zeros(index.n_docs, dtype=bool)
        entries = index.postings(key)
        docs = index.docs[entries]
        mask[docs[index.tf_title[entries] > 0] if title_only else docs] = True
        found &= mask
    return found


def doc_vectors(index: Index, stats: Stats, docs: np.ndarray) -> list[dict[int, float]]:
    """Unit-length tf-idf vectors (single words only) of some papers of `index`."""
    wanted = np.zeros(index.n_docs, dtype=bool)
    wanted[docs] = True
    entries = np.flatnonzero(wanted[index.docs] & index.word_entries())
    weights = entry_weights(index, stats, entries) * stats.idf(index.keys[entries])
    vectors: dict[int, dict[int, float]] = {int(d): {} for d in docs}
    for doc, key, weight in zip(
        index.docs[entries].tolist(), index.keys[entries].tolist(), weights.tolist(), strict=True
    ):
        vectors[doc][key] = weight
    for vector in vectors.values():
        norm = sum(v * v for v in vector.values()) ** 0.5 or 1.0
        for key in vector:
            vector[key] /= norm
    return [vectors[int(d)] for d in docs]



def similarity_to(index: Index, stats: Stats, vector: dict[int, float]) -> np.ndarray:
    """Cosine of every paper of `index` (tf-idf, single words) with a unit-length vector."""
    words = np.flatnonzero(index.word_entries())
    weights = entry_weights(index, stats, words) * stats.idf(index.keys[words])
    norms = np.sqrt(np.bincount(index.docs[words], weights=weights**2, minlength=index.n_docs))
    keys = np.fromiter(vector, dtype=np.int64, count=len(vector))
    values = np.fromiter(vector.values(), dtype=np.float64, count=len(vector))
    entries, owner = query_entries(index, keys)
    contrib = values[owner] * entry_weights(index, stats, entries) * stats.idf(keys)[owner]
    dots = np.bincount(index.docs[entries], weights=contrib, minlength=index.n_docs)
    return dots / np.maximum(norms, 1e-12)
