"""Queries that learn from the researcher's ratings (Rocchio).

Ratings add words to a query or shift its weights; they never touch the keywords' phrase
structure, so Match.terms keeps naming what the researcher wrote.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from agent.models import Rating
from agent.rank.query import Query


@dataclass(frozen=True)
class FeedbackWeights:
    """How far feedback moves a query (tuned on the January dev set, see bench/)."""

    up_weight: float = 1.0
    down_weight: float = 1.5
    rocchio_terms: int = 60


FEEDBACK = FeedbackWeights()


def rated_ids(ratings: Sequence[Rating], track_id: str) -> tuple[set[str], set[str]]:
    """Ids rated up and ids rated down for this track, from each paper's verdict that counts."""
    up: set[str] = set()
    down: set[str] = set()
    for paper_id, value in verdicts(ratings, track_id).items():
        if value > 0:
            up.add(paper_id)
        elif value < 0:
            down.add(paper_id)
    return up, down


def verdicts(ratings: Sequence[Rating], track_id: str) -> dict[str, int]:
    """Each paper's verdict for the track: +1, -1 or 0 (none).

    Ratings come oldest first and the latest per (paper, scope) wins, so a verdict can be taken
    back (0 clears it); a rating for this track beats a paper-wide one (track None), whatever
    their order, and a cleared track rating falls back to the paper-wide one.
    """
    own: dict[str, int] = {}
    wide: dict[str, int] = {}
    for rating in ratings:
        if rating.track_id == track_id:
            own[rating.paper_id] = rating.value
        elif rating.track_id is None:
            wide[rating.paper_id] = rating.value
    return {**wide, **{paper_id: value for paper_id, value in own.items() if value}}


def centroid(vectors: Sequence[dict[int, float]], weights: Sequence[float]) -> dict[int, float]:
    """Weighted mean of sparse vectors."""
    total: dict[int, float] = defaultdict(float)
    norm = float(sum(weights)) or 1.0
    for vector, weight in zip(vectors, weights, strict=True):
        for key, value in vector.items():
            total[key] += value * weight / norm
    return dict(total)


def top_terms(vector: dict[int, float], n: int) -> dict[int, float]:
    """The `n` largest entries, scaled so the largest is 1 (ties broken by key)."""
    best = sorted(vector.items(), key=lambda item: (-item[1], item[0]))[:n]
    if not best or best[0][1] <= 0:
        return {}
    return {key: value / best[0][1] for key, value in best}


def rocchio(
    query: Query,
    up: Sequence[dict[int, float]],
    down: Sequence[dict[int, float]],
    weights: FeedbackWeights | None = None,
) -> Query:
    """The query moved toward papers rated up and away from papers rated down."""
    weights = weights or FEEDBACK
    if up:
        query = _add(query, top_terms(centroid(up, [1.0] * len(up)), weights.rocchio_terms),
                     weights.up_weight)
    if down:
        away = top_terms(centroid(down, [1.0] * len(down)), weights.rocchio_terms)
        query = _add(query, away, -weights.down_weight, floor=0.0)
    return query


def _add(query: Query, terms: dict[int, float], scale: float, floor: float | None = None) -> Query:
    """A copy of `query` with `scale * terms` added to its weights."""
    updated = dict(query.weights)
    for key, value in terms.items():
        new = updated.get(key, 0.0) + scale * value
        if floor is not None and key in updated:
            new = max(new, floor)
        elif floor is not None:
            continue  # moving away never adds new words
        updated[key] = new
    return replace(query, weights=updated)
