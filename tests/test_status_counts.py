"""`status` counts what the policy weighs: papers waiting on an ACTIVE track (issue 11: one
definition of "relevant" in every view)."""

from __future__ import annotations

from pathlib import Path

from agent.status import collect_status
from agent.steer import change_track
from agent.store import Store
from agent.workspace import Workspace


def waiting_only_on(workspace: Path, track_id: str) -> int:
    """Papers still to read that are relevant to `track_id` and to no other track."""
    with Store(Workspace(workspace).settings.database_url) as store:
        waiting = store.candidates(("ranked",), relevant_only=True)
    return sum(
        1 for _, matches in waiting if {m.track_id for m in matches if m.relevant} == {track_id}
    )


def test_a_paused_tracks_papers_are_not_counted_as_waiting(scanned: Path) -> None:
    before = collect_status(scanned)["candidates"]
    only_interp = waiting_only_on(scanned, "audio-interpretability")
    assert before > 0 and only_interp > 0  # the sample has papers for that track alone
    change_track(scanned, "audio-interpretability", active=False)
    assert collect_status(scanned)["candidates"] == before - only_interp
    change_track(scanned, "audio-interpretability", active=True)
    assert collect_status(scanned)["candidates"] == before
