"""The researcher steering the agent: queue papers, rate them, edit tracks.

These run while the daemon may be running: short store transactions, and track edits committed
on their own through the journal's git lock. None of them takes the workspace lock.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from agent import journal
from agent.errors import ConfigError, UnknownPaperError
from agent.files import write_atomic
from agent.models import Paper, QueueItem, Rating, Track
from agent.rank.feedback import verdicts
from agent.rank.ranker import Tuning
from agent.rank.worth import is_relevant
from agent.settings import Settings
from agent.sources.ids import normalize_arxiv_id
from agent.store import Store
from agent.tracks import add_track, edit_track, load_tracks
from agent.workspace import TRACKS_FILE, Workspace


def find_paper(store: Store, settings: Settings, paper_id: str, source: str) -> Paper:
    """A paper from the store, else looked up at the source; unknown ids are refused."""
    paper = store.get_paper(paper_id)
    if paper is not None:
        return paper
    from agent.sources.choose import make_source

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
    """Put a paper on the must-read queue as the researcher's own entry; returns it as stored."""
    if not 1 <= priority <= 5:
        raise ConfigError(f"--priority must be 1 .. 5, got {priority}.")
    paper_id, _ = normalize_arxiv_id(text)
    space = Workspace(workspace)
    settings = space.settings
    with space.open_store() as store:
        paper = find_paper(store, settings, paper_id, source)
        item = QueueItem(paper_id=paper.id, priority=priority, added_by="user",
                         reason=note or "added by the researcher", added=datetime.now(UTC),
                         title=paper.title)
        with store.transaction():
            store.queue_add(item)
            if store.paper_status(paper.id) not in ("read", "dismissed"):
                store.set_status([paper.id], "queued")
            stored = store.queue_get(paper.id)
    return replace(stored or item, title=paper.title)


def queue_drop(workspace: Path, text: str) -> bool:
    """Remove a paper from the queue; False if it was not there."""
    paper_id, _ = normalize_arxiv_id(text)
    with Workspace(workspace).open_store() as store:
        return store.queue_drop(paper_id)


def queue_list(workspace: Path) -> list[QueueItem]:
    with Workspace(workspace).open_store() as store:
        return store.queue_list()


VERDICTS = {"up": 1, "down": -1, "clear": 0}


def rate(workspace: Path, text: str, verdict: str, track_id: str | None = None,
         source: str = "arxiv") -> Rating | None:
    """Record the researcher's up/down on a paper (for one track, or all), or clear it.

    The latest verdict per (paper, track) counts. `clear` without a track takes back every
    verdict on the paper; with one, only that track's (a paper-wide verdict then applies).
    None: a clear with no verdict standing in its scope; nothing was recorded.
    """
    if verdict not in VERDICTS:
        raise ConfigError(f"rating must be 'up', 'down' or 'clear', got {verdict!r}.")
    paper_id, _ = normalize_arxiv_id(text)
    space = Workspace(workspace)
    settings = space.settings
    if track_id is not None:
        known = {t.id for t in load_tracks(settings.tracks_path)}
        if track_id not in known:
            raise ConfigError(f"{settings.tracks_path}: no track with id '{track_id}'. "
                              f"Known ids: {', '.join(sorted(known))}.")
    rating = Rating(paper_id=paper_id, value=VERDICTS[verdict], track_id=track_id)
    with space.open_store() as store:
        if rating.value != 0:
            find_paper(store, settings, paper_id, source)
        scopes = rated_scopes(store, rating)
        if rating.value == 0 and not standing(store, paper_id, scopes):
            return None  # nothing to take back: no rating row, no re-ranking for a non-change
        with store.transaction():
            for scope in scopes:
                store.add_rating(replace(rating, track_id=scope))
            refresh_stored_matches(store, paper_id)
    return rating


def rated_scopes(store: Store, rating: Rating) -> list[str | None]:
    """The track scopes a rating is recorded for: its own, or for a paper-wide clear, all."""
    if rating.value != 0 or rating.track_id is not None:
        return [rating.track_id]
    scopes = {r.track_id for r in store.ratings() if r.paper_id == rating.paper_id}
    return [None, *sorted(scope for scope in scopes if scope is not None)]


def standing(store: Store, paper_id: str, scopes: list[str | None]) -> bool:
    """Whether the paper has a verdict (up or down, not taken back) in any of these scopes."""
    latest: dict[str | None, int] = {}
    for r in store.ratings():  # oldest first: the latest per scope wins
        if r.paper_id == paper_id:
            latest[r.track_id] = r.value
    return any(latest.get(scope, 0) for scope in scopes)


def refresh_stored_matches(store: Store, paper_id: str) -> None:
    """Set a paper's stored relevance per track as its ratings now decide; scores are kept.

    The scores stay what the cycles found (notes and the knowledge graph cite them); only
    `relevant`, which status and the policy count as waiting to be read, follows the verdicts,
    the way the ranker applies them.
    """
    ratings = [r for r in store.ratings() if r.paper_id == paper_id]
    threshold = Tuning().threshold
    changed = []
    for match in store.matches_for([paper_id])[paper_id]:
        verdict = verdicts(ratings, match.track_id).get(paper_id, 0)
        relevant = is_relevant(match.score, verdict, threshold)
        if relevant != match.relevant:
            changed.append(replace(match, relevant=relevant))
    store.save_matches(changed)


def change_track(workspace: Path, track_id: str, **changes: Any) -> tuple[Track, str | None]:
    """Edit one track (comments kept) and commit just the tracks file; returns (track, sha).

    sha is None when the track already had these values: nothing is written or committed.
    If the commit fails the file is put back as it was, so running the command again works.
    """
    settings = Workspace(workspace).settings
    current = next((t for t in load_tracks(settings.tracks_path) if t.id == track_id), None)
    if current is not None and all(getattr(current, k, None) == v for k, v in changes.items()):
        return current, None
    before = settings.tracks_path.read_bytes()
    committed = edit_committed(workspace, before,
                               lambda path: edit_track(path, track_id, **changes))
    track, old = edit_track(settings.tracks_path, track_id, **changes)
    described = ", ".join(describe_change(k, old.get(k), v) for k, v in changes.items())
    sha = commit_or_restore(workspace, settings.tracks_path, before,
                            f"tracks: {track_id} {described}", committed)
    return track, sha


def edit_committed(workspace: Path, before: bytes, edit: Callable[[Path], object]) -> bytes | None:
    """With hand edits in tracks.toml not committed yet, the same CLI edit applied to the file
    as HEAD has it (what gets committed, so the hand edits are not swept in); else None."""
    head = journal.head_bytes(workspace, TRACKS_FILE)
    if head is None or head == before:
        return None
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / PurePosixPath(TRACKS_FILE).name
        copy.write_bytes(head)
        try:
            edit(copy)
        except ConfigError as exc:
            raise ConfigError(
                f"{workspace / TRACKS_FILE} has edits that are not committed, and this change "
                f"needs them ({exc}). Commit them first (git commit {TRACKS_FILE}), then run "
                "the command again; nothing was changed."
            ) from None
        return copy.read_bytes()


def describe_change(key: str, old: Any, new: Any) -> str:
    if key == "active":
        return "resumed" if new else "paused"
    return f"{key} {old} → {new}"


def create_track(workspace: Path, track: Track) -> tuple[Track, str]:
    """Append a track and commit just the tracks file."""
    settings = Workspace(workspace).settings
    if track.id in {t.id for t in load_tracks(settings.tracks_path)}:
        raise ConfigError(f"{settings.tracks_path}: a track with id '{track.id}' already exists.")
    before = settings.tracks_path.read_bytes()
    committed = edit_committed(workspace, before, lambda path: add_track(path, track))
    created = add_track(settings.tracks_path, track)
    sha = commit_or_restore(workspace, settings.tracks_path, before, f"tracks: add {track.id}",
                            committed)
    return created, sha


def commit_or_restore(
    workspace: Path, path: Path, before: bytes, message: str, committed: bytes | None = None
) -> str:
    """Commit the edited tracks file (or, when the researcher has uncommitted hand edits there,
    just `committed`: HEAD's file with this edit); on failure put back the previous bytes."""
    try:
        if committed is not None:
            return journal.commit_content(workspace, TRACKS_FILE, committed, message)
        return journal.commit_paths(workspace, [TRACKS_FILE], message, cycle=None)
    except BaseException:
        write_atomic(path, before)
        raise
