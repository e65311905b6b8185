"""The ranker: every paper against every track, a score in [0, 1], and learning from ratings.

Relevance = BM25F of the track's query over title and abstract (keywords as phrases), times
priors (categories, excluded terms), times how many of the track's facets the paper covers
(see facets.py). That raw value is compared with what the track's best papers in the
background corpus reach (its level), which makes scores comparable across tracks: a paper at
the level scores about 0.9, one at 45% of it scores 0.5, where it starts to count as relevant.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from agent.models import Match, Paper, Rating, Track
from agent.rank.background import Background, load_background
from agent.rank.embeddings import Embedder, fuse_with_embeddings, load_embedder
from agent.rank.facets import (
    Facet,
    attach_keywords,
    facet_coverage,
    grounded_facets,
    name_facets,
)
from agent.rank.feedback import rated_ids, rocchio
from agent.rank.index import Index, tokenize_papers
from agent.rank.query import Query, build_query
from agent.rank.score import (
    Stats,
    build_stats,
    doc_vectors,
    has_all,
    score_query,
    similarity_to,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tuning:
    """The ranker's constants (chosen on the January dev set, bench/ranking_quality.py)."""

    primary_category: float = 1.0
    cross_listed: float = 0.92
    other_category: float = 0.75
    excluded: float = 0.25  # a paper naming an excluded term keeps a quarter of its score
    coverage: float = 2.0  # raw * (floor + (1 - floor) * share_of_facets ** coverage)
    coverage_floor: float = 0.2
    facet_min_idf: float = 0.7  # facets in more than ~half the papers ("model") are ignored
    abstract_credit: float = 0.8  # a facet named only in the abstract counts this much
    reference_papers: int = 5  # the track's level: mean of its best background papers
    reference_floor: float = 0.2  # share of the ideal score below which no level is trusted
    half_point: float = 0.45  # share of the level at which the score is 0.5
    steepness: float = 3.0
    threshold: float = 0.5  # relevant from this score on, for every track


class Ranker:
    """Scores papers against tracks; built once per cycle from the tracks and the ratings."""

    def __init__(
        self,
        tracks: Sequence[Track],
        ratings: Sequence[Rating] = (),
        background: Sequence[Paper] | None = None,
        *,
        rated_papers: Sequence[Paper] = (),
        tuning: Tuning = Tuning(),
        embedder: Embedder | Literal["auto"] | None = "auto",
    ) -> None:
        self.tracks = list(tracks)
        self.ratings = list(ratings)
        self.tuning = tuning
        # "auto": the optional embeddings extra when installed (see embeddings.py); None: off
        self.embedder = load_embedder() if embedder == "auto" else embedder
        self.queries = {track.id: build_query(track) for track in self.tracks}
        self._background_papers = background
        self._rated_papers = list(rated_papers)
        self._background: Background | None = None
        self._background_index: Index | None = None
        self._facets: dict[str, list[Facet]] = {}
        self._levels: dict[str, float] = {}

    def rank(self, papers: Sequence[Paper]) -> dict[str, list[Match]]:
        """Every active track -> a Match for every paper, best first."""
        index = Index(tokenize_papers(papers), self._pairs())
        stats = self._stats_with(index, papers)
        ranked: dict[str, list[Match]] = {}
        for track in self.tracks:
            if track.active:
                query = self._final_query(track, papers, index, stats)
                raw = self._relevance(track, query, index, stats, papers)
                scores = self._calibrate(raw / self._level(track, query))
                if self.embedder is not None:
                    scores = fuse_with_embeddings(self.embedder, track, papers, scores)
                scores *= self._exclusion(query, index)
                ranked[track.id] = self._matches(track, query, index, scores, papers)
        logger.debug("ranked %d papers against %d tracks", len(papers), len(ranked))
        return ranked

    def thresholds(self) -> dict[str, float]:
        """The score from which a paper counts as relevant, per track."""
        return {track.id: self.tuning.threshold for track in self.tracks}

    def related(self, paper: Paper, pool: Sequence[Paper], k: int = 5) -> list[tuple[str, float]]:
        """The `k` papers of `pool` most similar to `paper` (cosine of tf-idf), best first."""
        others = [p for p in pool if p.id != paper.id]
        if not others or k <= 0:
            return []
        index = Index(tokenize_papers([paper, *others]))
        stats = self._stats_with(index, [paper, *others])
        target = doc_vectors(index, stats, np.asarray([0]))[0]
        sims = similarity_to(index, stats, target)[1:] if target else np.zeros(len(others))
        order = np.argsort(-sims, kind="stable")[:k]
        return [(others[i].id, round(float(sims[i]), 4)) for i in order if sims[i] > 0]

    # -- corpus ----------------------------------------------------------------------------

    def _pairs(self) -> set[int]:
        """Word pairs any query needs indexed."""
        return set().union(*(query.pairs() for query in self.queries.values()))

    def _ensure_background(self) -> tuple[Background, Index]:
        """The background corpus and its index, built on first use."""
        if self._background is None or self._background_index is None:
            self._background = load_background(self._background_papers)
            self._background_index = Index(self._background.tokens, self._pairs())
        return self._background, self._background_index

    def _stats_with(self, index: Index, papers: Sequence[Paper]) -> Stats:
        """Statistics over the background plus `papers` (each paper counted once)."""
        background, background_index = self._ensure_background()
        ids = {paper.id for paper in papers}
        keep = np.fromiter((p.id not in ids for p in background.papers), dtype=bool)
        return build_stats([(background_index, keep), (index, None)])

    # -- scoring ---------------------------------------------------------------------------

    def _relevance(
        self, track: Track, query: Query, index: Index, stats: Stats, papers: Sequence[Paper]
    ) -> np.ndarray:
        """Raw relevance of each paper as a share of an ideal paper's BM25F score."""
        raw, ideal = score_query(index, stats, query.weights)
        raw = raw * self._prior(track, query, index, papers)
        tuning = self.tuning
        share = facet_coverage(
            index, stats, self._track_facets(track), tuning.facet_min_idf, tuning.abstract_credit
        )
        raw = raw * (tuning.coverage_floor + (1 - tuning.coverage_floor) * share**tuning.coverage)
        return raw / ideal

    def _exclusion(self, query: Query, index: Index) -> np.ndarray:
        """Multiplier of the final score: a paper naming an excluded term keeps a fraction."""
        factor = np.ones(index.n_docs)
        for _, keys in query.excludes:
            factor[has_all(index, keys)] = self.tuning.excluded
        return factor

    def _prior(
        self, track: Track, query: Query, index: Index, papers: Sequence[Paper]
    ) -> np.ndarray:
        """Multiplier per paper from the track's categories."""
        prior = np.ones(index.n_docs)
        if track.categories:
            wanted = set(track.categories)
            for doc, paper in enumerate(papers):
                if paper.primary_category in wanted:
                    prior[doc] = self.tuning.primary_category
                elif wanted.intersection(paper.categories):
                    prior[doc] = self.tuning.cross_listed
                else:
                    prior[doc] = self.tuning.other_category
        return prior

    def _track_facets(self, track: Track) -> list[Facet]:
        """The track's facets with its keywords attached (cached)."""
        if track.id not in self._facets:
            _, index = self._ensure_background()
            stats = build_stats([(index, None)])
            facets = grounded_facets(name_facets(track.name), track.keywords)
            self._facets[track.id] = attach_keywords(facets, track.keywords, index, stats)
        return self._facets[track.id]

    def _level(self, track: Track, query: Query) -> float:
        """What the track's best background papers reach (cached): the scale of its scores."""
        if track.id not in self._levels:
            background, index = self._ensure_background()
            stats = build_stats([(index, None)])
            raw = self._relevance(track, query, index, stats, background.papers)
            best = np.sort(raw)[::-1][: self.tuning.reference_papers]
            level = float(best.mean()) if len(best) else 0.0
            # a background with nothing on the track must not make mediocre papers look good
            self._levels[track.id] = max(level, self.tuning.reference_floor)
        return self._levels[track.id]

    def _calibrate(self, ratio: np.ndarray) -> np.ndarray:
        """Map a share of the track's level to [0, 1]: 0.5 at the half point."""
        ratio = np.clip(ratio, 0.0, None) / self.tuning.half_point
        powered = ratio**self.tuning.steepness
        return powered / (1.0 + powered)

    # -- feedback --------------------------------------------------------------------------

    def _final_query(
        self, track: Track, papers: Sequence[Paper], index: Index, stats: Stats
    ) -> Query:
        """The track's query moved by the researcher's ratings for it (Rocchio)."""
        query = self.queries[track.id]
        up, down = rated_ids(self.ratings, track.id)
        if not up and not down:
            return query
        return rocchio(
            query,
            self._vectors_of(up, papers, index, stats),
            self._vectors_of(down, papers, index, stats),
        )

    def _vectors_of(
        self, ids: set[str], papers: Sequence[Paper], index: Index, stats: Stats
    ) -> list[dict[int, float]]:
        """Term vectors of the rated papers we can find (batch, background, rated_papers)."""
        if not ids:
            return []
        background, background_index = self._ensure_background()
        found: list[dict[int, float]] = []
        seen: set[str] = set()
        for source, source_index in ((papers, index), (background.papers, background_index)):
            docs = [i for i, p in enumerate(source) if p.id in ids and p.id not in seen]
            seen.update(source[i].id for i in docs)
            if docs:
                found += doc_vectors(source_index, stats, np.asarray(docs))
        extra = [p for p in self._rated_papers if p.id in ids and p.id not in seen]
        if extra:
            found += doc_vectors(Index(tokenize_papers(extra)), stats, np.arange(len(extra)))
        return found

    def _matches(
        self,
        track: Track,
        query: Query,
        index: Index,
        scores: np.ndarray,
        papers: Sequence[Paper],
    ) -> list[Match]:
        """Matches of one track, best first; a paper rated down for the track scores 0."""
        up, down = rated_ids(self.ratings, track.id)
        threshold = self.tuning.threshold
        phrases = [(keyword, has_all(index, keys)) for keyword, keys in query.phrases]
        matches = []
        for doc, paper in enumerate(papers):
            score = 0.0 if paper.id in down else float(scores[doc])
            if paper.id in up:
                score = max(score, threshold)
            terms = tuple(keyword for keyword, mask in phrases if mask[doc])
            relevant = paper.id not in down and score >= threshold
            matches.append(Match(paper.id, track.id, round(score, 6), relevant, terms))
        order = sorted(range(len(matches)), key=lambda i: (-matches[i].score, i))
        return [matches[i] for i in order]


def triage(
    tracks: Sequence[Track], papers: Sequence[Paper], top: int = 50
) -> dict[str, list[dict[str, float | str]]]:
    """The best `top` papers per active track as plain JSON-ready data, scores to 4 places."""
    ranked = Ranker(tracks).rank(papers)
    return {
        track_id: [{"id": m.paper_id, "score": round(m.score, 4)} for m in matches[:top]]
        for track_id, matches in ranked.items()
    }
