"""Older work for one track: a keyword search at the source, ranked, kept for `learn`.

A scan reads the complete new listing of the watched categories; finding what a track missed
before the radar existed is a keyword search (`research-agent papers discover TRACK`). The papers
found are stored as ranked, so the next learn cycle can pick the relevant ones. The search runs
before the store is opened: a slow arXiv never holds a database transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.errors import ConfigError
from agent.models import Paper
from agent.tracks import load_tracks
from agent.workspace import Workspace


@dataclass
class Discovered:
    paper: Paper
    score: float
    relevant: bool
    new: bool  # not in the store before this search


def discover_papers(
    workspace: Path,
    track_id: str,
    limit: int = 50,
    source: str = "arxiv",
    progress: Callable[[str], None] | None = None,
) -> list[Discovered]:
    """Papers matching the track's keywords at the source, best score first; new ones stored."""
    from agent.rank import Ranker
    from agent.rank.embeddings import load_embedder
    from agent.sources.choose import make_source

    if not 1 <= limit <= 2000:
        raise ConfigError(f"--limit must be 1 .. 2000, got {limit}.")
    space = Workspace(workspace)
    settings = space.settings
    tracks = load_tracks(settings.tracks_path)
    track = next((t for t in tracks if t.id == track_id), None)
    if track is None:
        known = ", ".join(t.id for t in tracks)
        raise ConfigError(
            f"{settings.tracks_path}: no track with id '{track_id}'. Known ids: {known}."
        )
    if progress is not None:
        progress(f"searching {source} for older papers on {track.name}")
    papers = make_source(settings, source).search(track, limit)
    with space.open_store() as store:
        known_papers = store.get_papers([p.id for p in papers])
        ratings = store.ratings()
        rated = store.get_papers(list({r.paper_id for r in ratings}))
        ranker = Ranker([track], ratings=ratings, rated_papers=list(rated.values()),
                        embedder=load_embedder(store))
        matches = {m.paper_id: m for m in ranker.rank(papers).get(track.id, [])}
        fresh = [p for p in papers if p.id not in known_papers]
        with store.transaction():
            store.upsert_papers(fresh)
            store.save_matches(matches[p.id] for p in fresh if p.id in matches)
            store.set_status([p.id for p in fresh], "ranked")
    found = [
        Discovered(
            p,
            matches[p.id].score if p.id in matches else 0.0,
            bool(p.id in matches and matches[p.id].relevant),
            p.id not in known_papers,
        )
        for p in papers
    ]
    return sorted(found, key=lambda d: -d.score)
