"""A rating moves a track's query; it must not shrink what the track finds.

A paper rated up matches its own words best of all. When it (and the words the rating added to
the query) set the track's scale, every other paper's score fell: one rating up took a January
dev track from 128 relevant papers to 46, and most core papers fell below the threshold.
"""

from __future__ import annotations

from agent.models import Rating
from agent.rank import Ranker
from agent.sources.jsonl import SAMPLE_PATH, read_papers_jsonl
from tests.corpus import AGENTS, HALLUCINATION

SAMPLE = read_papers_jsonl(SAMPLE_PATH)


def relevant(ranker: Ranker, track_id: str) -> list[str]:
    return [m.paper_id for m in ranker.rank(SAMPLE)[track_id] if m.relevant]


def test_one_rating_up_keeps_what_the_track_found():
    tracks = [AGENTS, HALLUCINATION]
    before = relevant(Ranker(tracks, background=SAMPLE, embedder=None), AGENTS.id)
    assert len(before) >= 20
    rated = before[len(before) // 2]  # a paper in the middle of the relevant set
    after = relevant(
        Ranker(tracks, [Rating(rated, 1, AGENTS.id)], background=SAMPLE, embedder=None),
        AGENTS.id,
    )
    assert rated in after
    kept = set(before) & set(after)
    assert len(kept) >= 0.8 * len(before), (len(before), len(after), len(kept))
    assert len(after) >= len(before)  # "more like this" adds; it does not take away


def test_the_rated_paper_does_not_set_the_scale():
    """The level (what the track's best background papers reach) leaves the rated papers out."""
    tracks = [AGENTS]
    plain = Ranker(tracks, background=SAMPLE, embedder=None)
    top = relevant(plain, AGENTS.id)[0]
    rated = Ranker(tracks, [Rating(top, 1, AGENTS.id)], background=SAMPLE, embedder=None)
    rated.rank(SAMPLE[:10])
    plain.rank(SAMPLE[:10])
    # the moved query alone would put the rated paper first in the background and raise the
    # level; without it the level stays near the unrated one
    assert rated._levels[AGENTS.id] <= plain._levels[AGENTS.id] * 1.5
