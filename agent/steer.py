"""The researcher steering the agent: queue papers, rate them, edit tracks.

These run while the daemon may be running: short store transactions, and track edits committed
on their own through the journal's git lock. None of them takes the workspace lock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent import journal
from agent.config import load_settings
from agent.errors import ConfigError, UnknownPaperError
from agent.models import Paper, QueueItem, Rating, Track
from agent.settings import Settings
from agent.sources.ids import normalize_arxiv_id
from agent.store import Store
from agent.tracks import add_track, edit_track, load_tracks

TRACKS_FILE = "state/tracks.toml"


def find_paper(store: Store, settings: Settings, paper_id: str, source: str) -> Paper:
    """A paper from the store, else looked up at the source; unknown ids are refused."""
    paper = store.get_paper(paper_id)
    if paper is not None:
        return paper
    from agent.cycle import make_source

    found = make_source(settings, source).lookup([paper_id])
    if not found:
        raise UnknownPaperError(
            f"arXiv does not know {paper_id} (looked up at {lookup_where(settings, source)}). "
            "Check the id on https://arxiv.org/abs/" + paper_id + "."
        )
    store.upsert_papers(found[:1])
    return found[0]


def lookup_where(settings: Settings, source: str) -> str:
    return settings.arxiv.api_url if source == "arxiv" else "the bundled sample"


def queue_add(
    workspace: Path, text: str, priority: int = 3, note: str = "", source: str = "arxiv"
) -> QueueItem:
    """Put a paper on the must-read queue as the researcher's own entry."""
    if not 1 <= priority <= 5:
        raise ConfigError(f"--priority must be 1 .. 5, got {priority}.")
    paper_id, _ = normalize_arxiv_id(text)
    settings = load_settings(workspace)
    with Store(settings.database_url) as store:
        paper = find_paper(store, settings, paper_id, source)
        item = QueueItem(paper_id=paper.id, priority=priority, added_by="user",
                         reason=note or "added by the researcher", added=datetime.now(UTC),
                         title=paper.title)
        store.queue_add(item)
        if store.paper_status(paper.id) not in ("read", "dismissed"):
            store.set_status([paper.id], "queued")
    return item


def queue_drop(workspace: Path, text: str) -> bool:
    """Remove a paper from the queue; False if it was not there."""
    paper_id, _ = normalize_arxiv_id(text)
    settings = load_settings(workspace)
    with Store(settings.database_url) as store:
        return store.queue_drop(paper_id)


def queue_list(workspace: Path) -> list[QueueItem]:
    settings = load_settings(workspace)
    with Store(settings.database_url) as store:
        return store.queue_list()


def rate(workspace: Path, text: str, verdict: str, track_id: str | None = None,
         source: str = "arxiv") -> Rating:
    """Record the researcher's up/down on a paper (for one track, or all)."""
    values = {"up": 1, "down": -1}
    if verdict not in values:
        raise ConfigError(f"rating must be 'up' or 'down', got {verdict!r}.")
    paper_id, _ = normalize_arxiv_id(text)
    settings = load_settings(workspace)
    if track_id is not None:
        known = {t.id for t in load_tracks(settings.tracks_path)}
        if track_id not in known:
            raise ConfigError(f"{settings.tracks_path}: no track with id '{track_id}'. "
                              f"Known ids: {', '.join(sorted(known))}.")
    rating = Rating(paper_id=paper_id, value=values[verdict], track_id=track_id)
    with Store(settings.database_url) as store:
        find_paper(store, settings, paper_id, source)
        with store.transaction():
            store.add_rating(rating)
            if rating.value < 0:
                drop_stored_matches(store, paper_id, track_id)
    return rating


def drop_stored_matches(store: Store, paper_id: str, track_id: str | None) -> None:
    """Zero a paper's stored scores for the track (or all): it is no longer waiting to be read."""
    stale = [m for m in store.matches_for([paper_id])[paper_id] if track_id in (None, m.track_id)]
    store.save_matches([replace(m, score=0.0, relevant=False) for m in stale])


def change_track(workspace: Path, track_id: str, **changes: Any) -> tuple[Track, str | None]:
    """Edit one track (comments kept) and commit just the tracks file; returns (track, sha).

    sha is None when the track already had these values: nothing is written or committed.
    """
    settings = load_settings(workspace)
    current = next((t for t in load_tracks(settings.tracks_path) if t.id == track_id), None)
    if current is not None and all(getattr(current, k, None) == v for k, v in changes.items()):
        return current, None
    track, old = edit_track(settings.tracks_path, track_id, **changes)
    described = ", ".join(describe_change(k, old.get(k), v) for k, v in changes.items())
    sha = journal.commit_paths(workspace, [TRACKS_FILE], f"tracks: {track_id} {described}",
                               cycle=None)
    return track, sha


def describe_change(key: str, old: Any, new: Any) -> str:
    if key == "active":
        return "resumed" if new else "paused"
    return f"{key} {old} → {new}"


def create_track(workspace: Path, track: Track) -> tuple[Track, str]:
    """Append a track and commit just the tracks file."""
    settings = load_settings(workspace)
    if track.id in {t.id for t in load_tracks(settings.tracks_path)}:
        raise ConfigError(f"{settings.tracks_path}: a track with id '{track.id}' already exists.")
    created = add_track(settings.tracks_path, track)
    sha = journal.commit_paths(workspace, [TRACKS_FILE], f"tracks: add {track.id}", cycle=None)
    return created, sha
