"""What the next learn cycle chooses from: one rule for learn's pick (agent/actions/pick.py)
and for `status`, which counts it from the stored scores without ranking anything.

With an LLM judge a learn cycle chooses among papers never judged that score at least `[learn]
judge_floor` on an active track (not only those the ranker calls relevant), and papers the
judge kept in an earlier cycle (at or above `JUDGE_BAR`, or rated up) that are still unread and
scored on an active track, relevant or not: the judge's verdict stands when a rating or an
edited track moves a paper below the ranker's bar. Without a judge
it chooses among the relevant papers, less those an LLM judged below the bar earlier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.models import Match
    from agent.store.quick import Reader

JUDGE_BAR = 5  # of 10: papers the LLM judges below this cost no summary


def turned_down(scores: Mapping[str, int], wanted: set[str]) -> set[str]:
    """Papers an LLM judged below the bar, unless the researcher rated them up (`wanted`)."""
    return {pid for pid, score in scores.items() if score < JUDGE_BAR and pid not in wanted}


def choosable(
    matches: Sequence[Match], verdict: int | None, rated_up: bool, floor: float | None
) -> list[Match]:
    """The matches on which the next learn cycle would choose one paper (the rule above, for
    one paper; `waiting_counts` counts it in SQL): with a judge (`floor` given), all of them if
    the judge kept it (or it was rated up after), none if the judge turned it down, else those
    scoring at least `floor`; without a judge, its relevant ones."""
    if floor is None:
        return [m for m in matches if m.relevant]
    if verdict is not None:
        return list(matches) if verdict >= JUDGE_BAR or rated_up else []
    return [m for m in matches if m.score >= floor]


def waiting_counts(
    reader: Reader, tracks: Sequence[str] | None, judging: bool, floor: float | None = None
) -> tuple[int, int]:
    """(unread papers the next learn cycle chooses from, how many of them the LLM judge kept
    in an earlier cycle) by the stored scores; `tracks`: the active tracks (None: every track).
    A judge's new candidates are the papers relevant to a track, or with `floor` (`[learn]
    judge_floor`) those scoring at least `floor` on one.

    A learn after a change of tracks or ratings ranks the unread papers again first, and counts
    by its new scores; this count catches up when that learn stores them.
    """
    wanted = {r.paper_id for r in reader.ratings() if r.value > 0}
    floor = floor if judging else None
    # every scored track active (nothing paused or removed): the papers' best scores tell
    scope = None if tracks is None or set(reader.scored_tracks()) <= set(tracks) else tracks
    fresh, kept, down_relevant = reader.count_by_verdict(JUDGE_BAR, floor, judging, scope)
    verdicts = reader.verdicts_of(sorted(wanted))  # the rated ones only, not every verdict
    rescued = sorted(pid for pid in wanted if verdicts.get(pid, JUDGE_BAR) < JUDGE_BAR)
    unread = reader.unread_on_tracks(rescued, tracks)  # rated up after a verdict below the bar
    if not judging:
        return fresh - down_relevant + sum(unread.values()), 0
    return fresh + kept + len(unread), kept + len(unread)
