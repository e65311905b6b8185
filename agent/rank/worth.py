"""One rule each for what the radar weighs: relevant, worth (score × priority), reading order.

The policy, the learn action, the snapshot, the steering commands and the views all ask these
functions, so a paper counted as relevant in one place is counted so everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from agent.models import Match

RELEVANT_FROM = 0.5  # the score from which a paper is relevant to a track (ranker.Tuning)


def is_relevant(score: float, verdict: int = 0, threshold: float = RELEVANT_FROM) -> bool:
    """Relevant: the score reaches the bar, unless the researcher rated the paper down for the
    track; rated up, it is relevant whatever its score."""
    return verdict > 0 or (verdict == 0 and score >= threshold)


def worth(score: float, priority: int) -> float:
    """What learning a paper is worth: its relevance, weighted by how much the track matters."""
    return score * priority


def best_match(matches: Iterable[Match], priorities: Mapping[str, int]) -> Match | None:
    """The relevant match worth most, among tracks in `priorities` (track id -> priority)."""
    usable = [m for m in matches if m.relevant and m.track_id in priorities]
    return max(usable, key=lambda m: worth(m.score, priorities[m.track_id]), default=None)


def reading_order(priority: int, added_by: str) -> tuple[int, bool]:
    """Sort key of the must-read queue: highest priority first, the researcher's picks first."""
    return (-priority, added_by != "user")
