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
    from agent.store.quick import Reader

JUDGE_BAR = 5  # of 10: papers the LLM judges below this cost no summary


def turned_down(scores: Mapping[str, int], wanted: set[str]) -> set[str]:
    """Papers an LLM judged below the bar, unless the researcher rated them up (`wanted`)."""
    return {pid for pid, score in scores.items() if score < JUDGE_BAR and pid not in wanted}


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
    if tracks is None or set(reader.scored_tracks()) <= set(tracks):
        verdicts = reader.verdicts_of(sorted(wanted))  # the rated ones only, not every verdict
        return counts_by_verdict(reader, tracks, judging, floor, verdicts, wanted)
    scores = reader.judgement_scores()
    down = turned_down(scores, wanted)
    if floor is None:
        relevant = reader.count_candidates(("ranked",), relevant_only=True, tracks=tracks)
    else:
        relevant = reader.count_above(floor, tracks)
    unread = reader.unread_on_tracks(sorted(scores), tracks, floor)  # judged: id -> candidate
    if not judging:
        return relevant - sum(1 for pid, on in unread.items() if on and pid in down), 0
    kept = sum(1 for pid in unread if pid not in down)
    return relevant - sum(1 for on in unread.values() if on) + kept, kept


def counts_by_verdict(
    reader: Reader, tracks: Sequence[str] | None, judging: bool, floor: float | None,
    scores: Mapping[str, int], wanted: set[str],
) -> tuple[int, int]:
    """`waiting_counts` when every scored track is one of `tracks` (the usual case: nothing
    paused or removed), from the papers' best scores and verdicts alone: three index ranges
    (`count_by_verdict`), whatever the papers judged, and the papers rated up after a verdict
    below the bar (a handful) one by one."""
    fresh, kept, down_relevant = reader.count_by_verdict(JUDGE_BAR, floor, judging)
    rescued = sorted(pid for pid in wanted if scores.get(pid, JUDGE_BAR) < JUDGE_BAR)
    unread = reader.unread_on_tracks(rescued, tracks)  # rated up after a verdict below the bar
    if not judging:
        return fresh - down_relevant + sum(unread.values()), 0
    return fresh + kept + len(unread), kept + len(unread)
