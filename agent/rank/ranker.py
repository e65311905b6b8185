"""The ranker: every paper against every track, a score in [0, 1], and learning from ratings.

Relevance = BM25F of the track's query over title and abstract (keywords as phrases), times
priors (categories, excluded terms), times how many of the track's facets the paper covers
(see facets.py). That raw value is compared with what the track's best papers in the
background corpus reach (its level), which makes scores comparable across tracks: a paper at
the level scores about 0.9, one at 45% of it scores 0.5, where it starts to count as relevant.
A share of the score is plain BM25 of the description and keywords, against its own level:
no facets, no priors, no name words, so a track whose name or facets miss its papers' wording
still finds them (the facets helped the tracks they were shaped on and hurt fresh ones).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from agent.models import Match, Paper, Rating, Track
from agent.rank.acronyms import track_long_forms
from agent.rank.background import TOKENIZER_VERSION, Background, load_background
from agent.rank.embeddings import Embedder, fuse_with_embeddings, load_embedder
from agent.rank.facets import (
    Facet,
    attach_keywords,
    compound_words,
    facet_coverage,
    grounded_facets,
    name_facets,
    with_cues,
    with_long_forms,
)
from agent.rank.feedback import rated_ids, rocchio
from agent.rank.index import Index, tokenize_papers
from agent.rank.query import Query, build_query, plain_query
from agent.rank.score import (
    Stats,
    build_stats,
    doc_vectors,
    has_all,
    ideal_score,
    reference_level,
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
    abstract_credit: float = 0.9  # a facet named only in the abstract counts this much
    apart_credit: float = 0.9  # ...and a compound name term whose words a title holds apart
    long_forms: bool = True  # an acronym's long form ("large language model") shows its facet
    # facet cues (facets.with_cues) and the main part's k1 (the plain part's is score.K1):
    # chosen on 24 tracks, bench/devset/README.md "Round 5"
    cue_papers: int = 5  # a word in this many background papers or more...
    cue_share: float = 0.7  # ...that show the facet this often, and cue_lift x the base rate,
    cue_lift: float = 2.0
    cue_credit: float = 0.9  # shows it at cue_credit x that share
    # BM25 k1 of the facet-checked part; 2.0 lifted nDCG@20 on all 24 tracks (0.765 -> 0.776)
    # but made 10 ratings per dev track lower the rest (feedback figure 0.590 -> 0.585)
    saturation: float = 1.2
    # a name aspect that only one of the track's keywords names, when it has several ("bits" in
    # "Squeezing large models into fewer bits", said only by "low-bit"): weighs 1 - weak_facet
    # in the coverage and every paper shows weak_facet of it; 0 = a facet like any other.
    # Chosen on 30 tracks, bench/devset/README.md "Round 6"
    weak_facet: float = 0.5
    reference_papers: int = 5  # the track's level: mean of its best background papers
    reference_floor: float = 0.2  # share of the ideal score below which no level is trusted
    half_point: float = 0.45  # share of the level at which the score is 0.5
    steepness: float = 3.0
    threshold: float = 0.5  # relevant from this score on, for every track
    # share of the score that is plain BM25 (description + keywords) over its own level; chosen
    # on 18 tracks (dev + held-out 1 and 2, bench/devset/README.md "Generalisation round")
    plain_share: float = 0.25
    plain_floor: float = 0.05  # reference_floor of plain BM25 (long descriptions: lower shares)


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
        self._queries: dict[str, Query] | None = None
        self._background_papers = background
        self._rated_papers = list(rated_papers)
        self._background: Background | None = None
        self._background_index: Index | None = None
        self._facets: dict[str, list[Facet]] = {}
        self._levels: dict[str, float] = {}
        self._bg_stats: Stats | None = None
        self._acronyms: dict[str, dict[int, tuple[int, ...]]] = {}

    def rank(self, papers: Sequence[Paper], top: int | None = None) -> dict[str, list[Match]]:
        """Every active track -> a Match for every paper (or its best `top`), best first."""
        active = [track for track in self.tracks if track.active]
        queries = {track.id: self._final_query(track, papers) for track in active}
        pairs = set().union(*(query.pairs() for query in queries.values()))
        needed = self._needed_keys(active, queries.values())
        index = Index.of_papers(papers, pairs, only=needed)
        stats = self._stats_with(index, papers)
        categories = [paper.categories for paper in papers]
        ids = [paper.id for paper in papers]
        ranked: dict[str, list[Match]] = {}
        for track in active:
            query = queries[track.id]
            raw = self._relevance(track, query, index, stats, categories)
            ratio = raw / self._level(track, query)
            if self.tuning.plain_share > 0:
                share = self.tuning.plain_share
                ratio = (1 - share) * ratio + share * self._plain_ratio(track, papers, index, stats)
            scores = self._calibrate(ratio)
            if self.embedder is not None:
                scores = fuse_with_embeddings(self.embedder, track, papers, scores,
                                              rated_ids(self.ratings, track.id), self._rated_papers)
            scores *= self._exclusion(query, index)
            ranked[track.id] = self._matches(track, query, index, scores, ids, top)
        logger.debug("ranked %d papers against %d tracks", len(papers), len(ranked))
        return ranked

    def fingerprint(self) -> str:
        """A digest of everything a stored score depends on besides the paper itself (tracks,
        ratings, constants, tokenizer, background): a store keeps scores while it is unchanged
        and re-ranks only when it changes."""
        parts = {
            "tracks": [repr(track) for track in sorted(self.tracks, key=lambda t: t.id)],
            "ratings": [repr(rating) for rating in self.ratings],
            "tuning": repr(self.tuning),
            "tokenizer": TOKENIZER_VERSION,
            "background": "bundled" if self._background_papers is None
            else sorted(paper.id for paper in self._background_papers),
            "embedder": None if self.embedder is None else self.embedder.model,
        }
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]

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

    def _needed_keys(self, tracks: Sequence[Track], queries: Iterable[Query]) -> np.ndarray:
        """Sorted keys of every feature the queries, phrases, excludes and facets look up."""
        keys: set[int] = set()
        for query in queries:
            keys.update(query.weights)
            for _, phrase in query.phrases + query.excludes:
                keys.update(phrase)
        for track in tracks:
            for facet in self._track_facets(track):
                for term in facet.terms + facet.phrases + compound_words(facet):
                    keys.update(term)
                keys.update(facet.cues)
        return np.asarray(sorted(keys), dtype=np.int64)

    @property
    def queries(self) -> dict[str, Query]:
        """Each track's weighted query (built after the background, whose cached words then
        keep their numbers and need no re-sorting)."""
        if self._queries is None:
            self._load()
            self._queries = {track.id: self._with_long_forms(track) for track in self.tracks}
        return self._queries

    def _long_forms(self, track: Track) -> dict[int, tuple[int, ...]]:
        """The track's acronyms (word id) -> the word pairs of their long form (cached)."""
        if track.id not in self._acronyms:
            self._acronyms[track.id] = track_long_forms(track, self._load().tokens)
        return self._acronyms[track.id]

    def _with_long_forms(self, track: Track) -> Query:
        """The track's query, carrying its acronyms' long forms so they get indexed: they show
        the acronym's facet (see facets.with_long_forms) but add nothing to the score, which
        lowered nDCG on the dev set when they did."""
        query = build_query(track)
        if self.tuning.long_forms:
            query.facet_phrases.extend(self._long_forms(track).values())
        return query

    def _load(self) -> Background:
        """The background corpus, loaded on first use."""
        if self._background is None:
            self._background = load_background(self._background_papers)
        return self._background

    def _ensure_background(self) -> tuple[Background, Index]:
        """The background corpus and its index, built on first use."""
        background = self._load()
        if self._background_index is None:
            self._background_index = background.index(self._pairs())
        return background, self._background_index

    def _background_stats(self) -> Stats:
        """Statistics of the background alone (cached)."""
        if self._bg_stats is None:
            _, index = self._ensure_background()
            self._bg_stats = build_stats([(index, None)])
        return self._bg_stats

    def _stats_with(self, index: Index, papers: Sequence[Paper]) -> Stats:
        """Statistics over the background plus `papers` (each paper counted once)."""
        background, background_index = self._ensure_background()
        ids = {paper.id for paper in papers}
        keep = np.fromiter((i not in ids for i in background.ids), dtype=bool,
                           count=len(background.ids))
        return build_stats([(background_index, keep), (index, None)])

    # -- scoring ---------------------------------------------------------------------------

    def _relevance(
        self,
        track: Track,
        query: Query,
        index: Index,
        stats: Stats,
        categories: Sequence[tuple[str, ...]],
    ) -> np.ndarray:
        """Raw relevance of each paper as a share of an ideal paper's BM25F score."""
        tuning = self.tuning
        raw, _ = score_query(index, stats, query.weights, tuning.saturation)
        ideal = ideal_score(stats, self.queries[track.id].weights)  # see _level
        raw = raw * self._prior(track, categories)
        share = facet_coverage(
            index, stats, self._track_facets(track), tuning.facet_min_idf,
            tuning.abstract_credit, tuning.apart_credit,
        )
        raw = raw * (tuning.coverage_floor + (1 - tuning.coverage_floor) * share**tuning.coverage)
        relevance: np.ndarray = raw / ideal
        return relevance

    def _exclusion(self, query: Query, index: Index) -> np.ndarray:
        """Multiplier of the final score: a paper naming an excluded term keeps a fraction."""
        factor = np.ones(index.n_docs)
        for _, keys in query.excludes:
            factor[has_all(index, keys)] = self.tuning.excluded
        return factor

    def _prior(self, track: Track, categories: Sequence[tuple[str, ...]]) -> np.ndarray:
        """Multiplier per paper from the track's categories (primary first in `categories`)."""
        n = len(categories)
        if not track.categories:
            return np.ones(n)
        wanted = set(track.categories)
        primary = np.fromiter((bool(c) and c[0] in wanted for c in categories), bool, count=n)
        listed = np.fromiter((not wanted.isdisjoint(c) for c in categories), bool, count=n)
        tuning = self.tuning
        return np.where(
            primary, tuning.primary_category,
            np.where(listed, tuning.cross_listed, tuning.other_category),
        )

    def _track_facets(self, track: Track) -> list[Facet]:
        """The track's facets with its keywords attached (cached)."""
        if track.id not in self._facets:
            _, index = self._ensure_background()
            stats = self._background_stats()
            tuning = self.tuning
            facets = grounded_facets(name_facets(track.name), track.keywords, tuning.weak_facet)
            facets = attach_keywords(facets, track.keywords, index, stats)
            if tuning.long_forms:
                facets = with_long_forms(facets, self._long_forms(track))
            if tuning.cue_credit > 0:
                facets = with_cues(facets, index, tuning.cue_papers, tuning.cue_share,
                                   tuning.cue_lift, tuning.cue_credit)
            self._facets[track.id] = facets
        return self._facets[track.id]

    def _level(self, track: Track, query: Query) -> float:
        """What the track's best background papers reach (cached): the scale of its scores.

        Ratings move the query but must not shrink the track: the level leaves out the rated
        papers themselves (a paper rated up matches its own words best of all, and set the scale
        for every other paper), and scores, level and floor are all in units of the track's own
        query (`ideal_score` of the unmoved query; a moved query's ideal grows with the words a
        rating adds, which pushed the level onto its floor). Before, one rating up took a dev
        track from 128 relevant papers to 46, and the dev tracks' core papers at or above the
        threshold from 73% to 37% (bench/ranking_quality.py, feedback figure)."""
        if track.id not in self._levels:
            background, index = self._ensure_background()
            raw = self._relevance(track, query, index, self._background_stats(),
                                  background.categories)
            tuning = self.tuning
            self._levels[track.id] = reference_level(
                self._without_rated(track, raw), tuning.reference_papers, tuning.reference_floor)
        return self._levels[track.id]

    def _without_rated(self, track: Track, background_scores: np.ndarray) -> np.ndarray:
        """Background scores with the papers rated for `track` set to 0 (see _level)."""
        up, down = rated_ids(self.ratings, track.id)
        if not (up or down):
            return background_scores
        ids = self._ensure_background()[0].ids
        rated = np.fromiter((pid in up or pid in down for pid in ids), bool, count=len(ids))
        return np.where(rated, 0.0, background_scores)

    def _plain_ratio(
        self, track: Track, papers: Sequence[Paper], index: Index, stats: Stats
    ) -> np.ndarray:
        """Plain BM25 of the track's description and keywords (moved toward the papers rated
        up) as a share of what its best background papers reach: on the scale of the level.
        Not moved away from papers rated down: they ranked high by the track's own words, which
        that would take out (dev feedback figure 0.611 -> 0.620 with both, 0.630 up only)."""
        plain = Query(weights=plain_query(track))
        up = rated_ids(self.ratings, track.id)[0]
        weights = rocchio(plain, self._vectors_of(up, papers), []).weights if up else plain.weights
        if f"plain {track.id}" not in self._levels:  # as _level: without the rated papers,
            _, background_index = self._ensure_background()  # in the unmoved query's units
            bg_stats = self._background_stats()
            raw, _ = score_query(background_index, bg_stats, weights)
            share = self._without_rated(track, raw) / ideal_score(bg_stats, plain.weights)
            self._levels[f"plain {track.id}"] = reference_level(
                share, self.tuning.reference_papers, self.tuning.plain_floor)
        raw, _ = score_query(index, stats, weights)
        ratio: np.ndarray = (
            raw / ideal_score(stats, plain.weights) / self._levels[f"plain {track.id}"])
        return ratio

    def _calibrate(self, ratio: np.ndarray) -> np.ndarray:
        """Map a share of the track's level to [0, 1]: 0.5 at the half point."""
        ratio = np.clip(ratio, 0.0, None) / self.tuning.half_point
        powered = ratio**self.tuning.steepness
        return powered / (1.0 + powered)

    # -- feedback --------------------------------------------------------------------------

    def _final_query(self, track: Track, papers: Sequence[Paper]) -> Query:
        """The track's query moved by the researcher's ratings for it (Rocchio)."""
        query = self.queries[track.id]
        up, down = rated_ids(self.ratings, track.id)
        if not up and not down:
            return query
        return rocchio(query, self._vectors_of(up, papers), self._vectors_of(down, papers))

    def _vectors_of(self, ids: set[str], papers: Sequence[Paper]) -> list[dict[int, float]]:
        """Term vectors of the rated papers we can find (batch, rated_papers, background)."""
        if not ids:
            return []
        background, background_index = self._ensure_background()
        stats = self._background_stats()
        found: dict[str, Paper] = {}
        for paper in (*papers, *self._rated_papers):
            if paper.id in ids:
                found.setdefault(paper.id, paper)
        vectors = []
        if found:
            texts = list(found.values())
            vectors += doc_vectors(Index.of_papers(texts), stats, np.arange(len(texts)))
        docs = [i for i, pid in enumerate(background.ids) if pid in ids and pid not in found]
        if docs:
            vectors += doc_vectors(background_index, stats, np.asarray(docs))
        return vectors

    def _matches(
        self,
        track: Track,
        query: Query,
        index: Index,
        scores: np.ndarray,
        ids: Sequence[str],
        top: int | None,
    ) -> list[Match]:
        """Matches of one track, best first; a paper rated down for the track scores 0."""
        up, down = rated_ids(self.ratings, track.id)
        threshold = self.tuning.threshold
        n = len(ids)
        rated_down = np.zeros(n, dtype=bool)
        scores = np.asarray(scores, dtype=np.float64).copy()
        if up or down:
            rated_up = np.fromiter((i in up for i in ids), bool, count=n)
            rated_down = np.fromiter((i in down for i in ids), bool, count=n)
            scores[rated_up] = np.maximum(scores[rated_up], threshold)
            scores[rated_down] = 0.0
        scores = np.round(scores, 6)
        order = np.argsort(-scores, kind="stable")
        if top is not None:
            order = order[: max(top, 0)]
        phrases = [(keyword, has_all(index, keys)) for keyword, keys in query.phrases]
        matches = []
        for doc in order.tolist():
            terms = tuple(keyword for keyword, mask in phrases if mask[doc])
            score = float(scores[doc])
            relevant = not rated_down[doc] and score >= threshold
            matches.append(Match(ids[doc], track.id, score, bool(relevant), terms))
        return matches


def triage(
    tracks: Sequence[Track], papers: Sequence[Paper], top: int = 50
) -> dict[str, list[dict[str, float | str]]]:
    """The best `top` papers per active track as plain JSON-ready data, scores to 4 places."""
    ranked = Ranker(tracks).rank(papers, top=top)
    return {
        track_id: [{"id": m.paper_id, "score": round(m.score, 4)} for m in matches[:top]]
        for track_id, matches in ranked.items()
    }
