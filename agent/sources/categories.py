"""Which arXiv categories a track should watch: learned from its best matches in the sample.

A scan reads the complete listing of the tracks' categories; a track without any is covered
only by its own keyword query. `init` and `tracks add` suggest categories from the papers of the
bundled sample (`agent/data/arxiv-2026-jan-feb.jsonl.gz`) that the track's keywords match best.
The sample leans to cs.CL and cs.AI, so a suggestion is a starting point for the researcher.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from agent.models import Paper, Track
from agent.sources.arxiv_query import uncategorised, watched_categories

BEST_MATCHES = 40  # papers of the sample the suggestion is learned from
MIN_SHARE = 0.25  # a category must hold this share of those papers
MAX_SUGGESTED = 3


def suggest_categories(track: Track, papers: Sequence[Paper] | None = None) -> list[str]:
    """Up to three categories of the sample papers the track's keywords match best."""
    from agent.sources.sample import keyword_hits

    if papers is None:
        from agent.sources.jsonl import SAMPLE_PATH, read_papers_jsonl

        papers = read_papers_jsonl(SAMPLE_PATH)
    scored = [(keyword_hits(p, track.keywords), p) for p in papers]
    best = [p for hits, p in sorted(scored, key=lambda s: -s[0]) if hits > 0][:BEST_MATCHES]
    if not best:
        return []
    counts = Counter(c for p in best for c in dict.fromkeys(p.categories))
    floor = MIN_SHARE * len(best)
    return [c for c, n in counts.most_common(MAX_SUGGESTED) if n >= floor]


def coverage_lines(tracks: Sequence[Track], papers: Sequence[Paper] | None = None) -> list[str]:
    """What a scan will read for these tracks, with a suggestion for each track without
    categories (for `init` and `tracks add`)."""
    watched = watched_categories(tracks)
    lines = [
        "A scan reads every new paper in "
        + (", ".join(watched) if watched else "no category (no active track names one)")
        + "."
    ]
    for track in uncategorised(tracks):
        suggested = suggest_categories(track, papers)
        hint = (
            f"its best matches in the bundled sample are in {', '.join(suggested)}: add "
            f"categories = {list(suggested)!r} to its entry in state/tracks.toml".replace("'", '"')
            if suggested
            else "no paper of the bundled sample matches its keywords; pick its categories at "
            "https://arxiv.org/category_taxonomy"
        )
        lines.append(
            f"Track '{track.id}' has no categories: the scan covers it with its own keyword "
            f"query only; {hint}."
        )
    return lines
