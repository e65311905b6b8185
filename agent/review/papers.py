"""Tracks and papers as the researcher reviews them: counts, search, one paper in full."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.errors import ConfigError, UnknownPaperError
from agent.models import Match, Paper, Track
from agent.sources.ids import is_versionless_id, normalize_arxiv_id
from agent.tracks import load_tracks
from agent.velocity import TrackVelocity, store_velocity
from agent.workspace import Workspace

logger = logging.getLogger(__name__)


def track_rows(workspace: Path) -> list[dict[str, Any]]:
    """Each track of tracks.toml: id, name, priority, active, papers found, last hit, and its
    velocity (relevant papers in the last 2, 6 and 12 weeks, up or down on the span before)."""
    space = Workspace(workspace)
    tracks = load_tracks(space.tracks_file)
    with space.open_reader() as store:
        hits = store.relevant_per_track()  # one grouped count, not every relevant paper
        last = {track: cycle for track, (_, cycle) in hits.items() if cycle}
        started = {n: store.get_cycle(n) for n in set(last.values())}
        pace = {v.track_id: v for v in store_velocity(store, tracks, datetime.now(UTC))}
    found = {t.id: hits.get(t.id, (0, None))[0] for t in tracks}
    rows = []
    for track in tracks:
        record = started.get(last.get(track.id, -1))
        rows.append({"id": track.id, "name": track.name, "priority": track.priority,
                     "active": track.active, "papers": found[track.id],
                     "last_hit": record.started.date().isoformat() if record else None,
                     "last_hit_cycle": record.number if record else None,
                     "velocity": velocity_row(pace.get(track.id))})
    return rows


def velocity_row(velocity: TrackVelocity | None) -> dict[str, Any] | None:
    """Relevant papers in the last 2, 6 and 12 weeks, with the span before and the trend."""
    if velocity is None:
        return None
    return {"as_of": velocity.as_of.date().isoformat(), "short": velocity.short(),
            "text": velocity.text(),
            "windows": [{"weeks": w.weeks, "count": w.count, "before": w.before,
                         "trend": w.trend or None} for w in velocity.windows]}


def search_papers(workspace: Path, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Stored papers ranked by relevance to `text` (words and "quoted phrases"; the title weighs
    more than the abstract), each with its relevance score and the tracks it is relevant to."""
    from agent.store.quick_search import open_searcher
    from agent.store.search_sql import parse_query

    if not text.split() or not parse_query(text).terms:
        raise ConfigError("papers search needs a few words, e.g. \"sparse autoencoder\".")
    with open_searcher(Workspace(workspace).settings.database_url) as store:
        found = store.search_ranked(text, limit=limit)
        matches = store.matches_for([p.id for p, _ in found])
        statuses = store.paper_statuses([p.id for p, _ in found])
    rows = []
    for paper, relevance in found:
        ranked = sorted(matches[paper.id], key=lambda m: -m.score)
        best = ranked[0] if ranked else None
        rows.append({"id": paper.id, "title": paper.title, "authors": list(paper.authors),
                     "published": paper.published.date().isoformat() if paper.published else None,
                     "status": statuses.get(paper.id), "score": relevance,
                     "tracks": [m.track_id for m in ranked if m.relevant],
                     "track": best.track_id if best else None,
                     "track_score": round(best.score, 3) if best else None})
    return rows


def paper_report(workspace: Path, text: str) -> dict[str, Any]:
    """All we know of a paper: metadata, status, scores, analyses, ratings, queue, notes."""
    paper_id, _ = normalize_arxiv_id(text)
    space = Workspace(workspace)
    names = {t.id: t for t in load_tracks(space.tracks_file)}
    with space.open_reader() as store:  # sqlite3 on a SQLite file: no SQLAlchemy to import
        paper = store.get_paper(paper_id)
        if paper is None:
            raise UnknownPaperError(
                f"{paper_id} is not among this workspace's papers. Find papers with `research-agent"
                f" papers search WORDS`, or queue it with `research-agent queue add {paper_id}`.")
        first_seen = store.first_seen_cycle(paper_id)
        report = paper_json(paper, store.paper_status(paper_id))
        report["first_seen_cycle"] = first_seen
        report["scores"] = [score_json(m, names.get(m.track_id))
                            for m in store.matches_for([paper_id])[paper_id]]
        report["analyses"] = [{**a, "created": iso(a["created"])}
                              for a in store.analyses_for(paper_id)]
        report["ratings"] = [{"verdict": "up" if r.value > 0 else "down", "track_id": r.track_id}
                             for r in store.ratings() if r.paper_id == paper_id]
        queued = next((q for q in store.queue_list() if q.paper_id == paper_id), None)
    report["queue"] = None if queued is None else {
        "priority": queued.priority, "reason": queued.reason, "added_by": queued.added_by,
        "added": iso(queued.added)}
    report["notes"] = citing_notes(workspace, paper_id, first_seen)
    return report


def paper_json(paper: Paper, status: str | None) -> dict[str, Any]:
    return {"id": paper.id, "version": paper.version, "title": paper.title,
            "authors": list(paper.authors), "abstract": paper.abstract,
            "categories": list(paper.categories), "published": iso(paper.published),
            "updated": iso(paper.updated), "comment": paper.comment, "status": status,
            "url": paper.abs_url if is_versionless_id(paper.id) else None}


def score_json(match: Match, track: Track | None) -> dict[str, Any]:
    return {"track_id": match.track_id, "track": track.name if track else None,
            "priority": track.priority if track else None, "score": round(match.score, 3),
            "relevant": match.relevant, "terms": list(match.terms)}


def iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def citing_notes(workspace: Path, paper_id: str, first_seen: int | None) -> list[dict[str, Any]]:
    """The cycle notes that mention the id (notes older than its first sighting cannot)."""
    from agent.review.cycles import note_files  # `papers show` only: not for `tracks`

    pattern = re.compile(r"(?<![\w.])" + re.escape(paper_id) + r"(?![\d])")
    found = []
    for number, path in sorted(note_files(workspace).items()):
        if first_seen is not None and number < first_seen:
            continue
        if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
            found.append({"cycle": number, "path": path.relative_to(workspace).as_posix()})
    return found
