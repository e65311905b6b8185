"""Render cycle notes, the knowledge graph and the cycles index from plain data and templates.

Every string that came from a paper or a model is data: templates pass it through the `md` filter,
which escapes Markdown and HTML and collapses it onto one line, so a hostile abstract can neither
inject markup, links or images, nor end the YAML front matter. The only links we write are
`https://arxiv.org/abs/<id>` built from ids that match arXiv's formats, and relative links to notes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.models import ACTIONS, MemoryItem, Paper, Track
from agent.sources.ids import is_versionless_id

if TYPE_CHECKING:  # `status`, `log` and `tracks` import this module: keep it light
    from agent.results import CycleResult, PaperSection
    from agent.settings import Settings
from agent.text import clean_text, escape_md, latex_to_text, plural
from agent.velocity import TrackVelocity
from agent.venue import page_count, parse_venue

logger = logging.getLogger(__name__)

OFFLINE_NOTICE = (
    "Offline analyst: extractive reading of abstracts; no LLM was used. Each paper's lines are "
    "its abstract's own sentences, so a gap appears only where an abstract states one; a deep "
    "read shows the rest."
)
OFFLINE_DEEP_NOTICE = (
    "Offline analyst: the paper's own sentences, sorted by the section they come from; no LLM "
    "was used."
)
LLM_ABSTRACTS_NOTICE = (  # the summary prompt carries the abstract and metadata, no full text
    "Summaries are the model's reading of each paper's abstract and arXiv metadata, not of its "
    "full text; a deep read reads the full text."
)
OFFLINE_ABSTRACT_NOTICE = (  # an abstract has no sections: its sentences are sorted by content
    "Offline analyst: the abstract's own sentences, sorted by what each states (problem, method, "
    "results); no LLM was used."
)
NO_LLM = "; no LLM was used"  # each offline notice says so, unless the model failed first
STAND_IN = ", in the model's place (it failed: see below)"
DISCOVERY_NOTICE = (
    "Discovery mode: nothing new was waiting, so this cycle searched older papers for the tracks."
)

NOTE_PATH = re.compile(r"^cycles/\d{4}/\d{2}/\d{4,}-(?:scan|learn|deep-read|rest)\.md$")

_TAG = re.compile(r"[^a-z0-9]+")
_NAME_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
MAX_READ = 30  # papers read in full that the knowledge graph lists
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def arxiv_link(paper_id: str) -> str:
    """`[arXiv:ID](https://arxiv.org/abs/ID)` for a valid id; anything else as escaped text."""
    if is_versionless_id(paper_id):
        return f"[arXiv:{paper_id}](https://arxiv.org/abs/{paper_id})"
    return "arXiv:" + escape_md(paper_id, 40)


def sanitize_tag(value: Any) -> str:
    """A tag of [a-z0-9-] only ("Causal Validation!" -> "causal-validation"); may be empty."""
    return _TAG.sub("-", clean_text(value).lower()).strip("-")[:40].strip("-")


def surname(name: str) -> str:
    """Family name of an author as arXiv lists them ("Björn W. Schuller" -> "Schuller")."""
    name = clean_text(name)
    if "," in name:
        return name.split(",", 1)[0].strip()
    parts = [p for p in name.split(" ") if p]
    while len(parts) > 1 and parts[-1].lower() in _NAME_SUFFIXES:
        parts.pop()
    return parts[-1] if parts else ""


def format_authors(authors: Sequence[str]) -> str:
    """Up to three escaped surnames, then "et al."."""
    names = [escape_md(surname(a), 60) for a in authors[:3]]
    text = ", ".join(n for n in names if n)
    return f"{text} et al." if len(authors) > 3 else text


def format_month(when: datetime | None) -> str:
    """ "Jan 2026", or "" when unknown."""
    return f"{_MONTHS[when.month - 1]} {when.year}" if when else ""


def format_time(when: datetime) -> str:
    """Minutes precision, with the zone when known ("2026-02-27 02:00 UTC")."""
    zone = when.tzname() if when.tzinfo else None
    return when.strftime("%Y-%m-%d %H:%M") + (f" {zone}" if zone else "")


def section_label(index: int) -> str:
    """A, B, ... Z, then 27, 28, ..."""
    return chr(ord("A") + index) if index < 26 else str(index + 1)


def check_action(action: str) -> str:
    """The action itself if it is one of ACTIONS (it names files), else ValueError."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: expected one of {', '.join(ACTIONS)}")
    return action


def note_path(cycle: int, started: datetime, action: str) -> str:
    """Where a cycle's note lives, relative to the workspace: cycles/YYYY/MM/NNNN-action.md."""
    if isinstance(cycle, bool) or not isinstance(cycle, int) or cycle < 0:
        raise ValueError(f"cycle must be a non-negative integer, not {cycle!r}")
    return f"cycles/{started.year:04d}/{started.month:02d}/{cycle:04d}-{check_action(action)}.md"


def md_filters() -> dict[str, Any]:
    """The Jinja filters every note template can use."""
    return {
        "md": escape_md,
        "tex": lambda value: latex_to_text(clean_text(value)),  # stored before ingestion did it
        "venue": parse_venue,
        "pages": lambda value: page_count(value or ""),
        "day": lambda when: when.strftime("%Y-%m-%d"),
        "arxiv": arxiv_link,
        "authors": format_authors,
        "month": format_month,
        "when": format_time,
        "tag": sanitize_tag,
        "score": lambda value: f"{float(value):.2f}",
        "label": section_label,
        "plural": lambda count, noun: plural(int(count), noun),  # "1 request", "2 requests"
    }


def track_labeller(tracks: Sequence[Track]) -> Any:
    """A function giving the escaped "Name (priority N)" of a track id, for templates."""
    by_id = {t.id: t for t in tracks}

    def label(track_id: str) -> str:
        track = by_id.get(track_id)
        if track is None:
            return escape_md(track_id, 60)
        return f"{escape_md(track.name, 100)} (priority {track.priority})"

    return label


def touched_tracks(result: CycleResult, tracks: Sequence[Track]) -> list[str]:
    """Ids of known tracks this cycle's papers bear on, highest priority first."""
    ids = {track_id for track_id, sections in result.best_per_track.items() if sections}
    for section in result.papers:
        ids.update(m.track_id for m in section.matches if m.relevant)
        if section.summary:
            ids.update(c.track_id for c in section.summary.connections)
    if result.deep_read:
        ids.update(c.track_id for c in result.deep_read.connections)
    known = sorted((t for t in tracks if t.id in ids), key=lambda t: (-t.priority, t.id))
    return [t.id for t in known]


def note_papers(result: CycleResult) -> list[Paper]:
    """The papers a note is about, without repeats: its sections, else the scan's best."""
    papers = [s.paper for s in result.papers]
    for sections in result.best_per_track.values():
        papers.extend(s.paper for s in sections)
    seen: dict[str, Paper] = {}
    for paper in papers:
        seen.setdefault(paper.id, paper)
    return list(seen.values())


def front_matter(result: CycleResult, cycle: int, started: datetime, reason: str,
                 tracks: Sequence[Track]) -> str:  # fmt: skip
    """The YAML header between `---` lines; every value is one line, so nothing can end it early."""
    data = {
        "cycle": cycle,
        "started": started.isoformat(),
        "action": check_action(result.action),
        "reason": clean_text(reason, 1000),
        "summary": clean_text(result.summary_line, 200),
        "papers": [clean_text(p.id, 40) for p in note_papers(result)],
        "tracks": touched_tracks(result, tracks),
        "analyst": clean_text(result.analyst, 40),
        "model": clean_text(result.model, 100) if result.model else None,
        "tokens_in": int(result.tokens_in),
        "tokens_out": int(result.tokens_out),
        "source": clean_text(result.source, 100),
    }
    import yaml  # PyYAML: loaded by the cycles that write notes, not by `status`

    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)
    return f"---\n{body}---\n"


def note_notices(result: CycleResult) -> list[str]:
    """What the reader must know first: offline analyst, discovery mode, failures."""
    notices = []
    offline = set(result.offline_papers)  # read by the offline analyst in the LLM's place
    read = [s.paper.id for s in result.papers if s.summary]
    if result.action == "scan":  # a scan reads nothing
        pass
    elif result.analyst == "offline":
        notices.append(offline_notice(result))
    elif (read and offline.issuperset(read)) or (
        result.action == "deep-read" and result.deep_read and result.deep_read.paper_id in offline
    ):  # the model was asked and failed: its notice follows
        notices.append(offline_notice(result).replace(NO_LLM, STAND_IN))
    elif read:
        notices.append(model_reading_notice([pid for pid in read if pid in offline]))
    if result.discovery:
        notices.append(DISCOVERY_NOTICE)
    notices.extend(result.notices)
    return list(dict.fromkeys(clean_text(n, 500) for n in notices if clean_text(n)))


def model_reading_notice(offline: Sequence[str]) -> str:
    """What a learn's summaries are: the model's reading of abstracts, but for those the offline
    analyst wrote when the model failed."""
    if not offline:
        return LLM_ABSTRACTS_NOTICE
    ids = ", ".join(f"arXiv:{clean_text(pid, 40)}" for pid in offline)
    if len(offline) == 1:
        which = f"{ids}'s: the offline analyst's extractive reading of its abstract"
    else:
        which = f"those of {ids}: the offline analyst's extractive readings of their abstracts"
    return ("Summaries are the model's reading of each paper's abstract and arXiv metadata, not of "
            f"its full text, except {which} (no LLM).")


def offline_notice(result: CycleResult) -> str:
    """How the offline analyst read: abstracts (learn), a full text or an abstract (deep read)."""
    if result.action != "deep-read":
        return OFFLINE_NOTICE
    read_full = result.full_text is not None and result.full_text.source != "abstract"
    return OFFLINE_DEEP_NOTICE if read_full else OFFLINE_ABSTRACT_NOTICE


def note_next_steps(result: CycleResult) -> list[str]:
    """The cycle's next steps and the field update's, without repeats."""
    steps = list(result.next_steps)
    if result.field_update:
        steps.extend(result.field_update.next_steps)
    return list(dict.fromkeys(s for s in (clean_text(x) for x in steps) if s))[:10]


def note_tags(result: CycleResult, touched: Sequence[str]) -> list[str]:
    """Sanitised, unique tags: the radar, the action, touched tracks, the analyst's topics."""
    raw: list[str] = ["arxiv-radar", result.action, *touched, *result.tags]
    for section in result.papers:
        if section.summary:
            raw.extend(section.summary.tags)
    if result.field_update:
        raw.append("field-update")
    tags = [sanitize_tag(t) for t in raw]
    return list(dict.fromkeys(t for t in tags if t))[:15]


def deep_read_paper(result: CycleResult) -> PaperSection | None:
    """The section of the paper a deep read was about (the first one when ids disagree)."""
    if result.deep_read is None or not result.papers:
        return None
    wanted = result.deep_read.paper_id
    return next((s for s in result.papers if s.paper.id == wanted), result.papers[0])


def score_for(section: PaperSection, track_id: str) -> float:
    """The ranker's score of a paper for one track (0 when it was not matched)."""
    return next((m.score for m in section.matches if m.track_id == track_id), 0.0)


def describe_text(result: CycleResult) -> str:
    """Which text a deep read saw, honestly (escaped)."""
    text = result.full_text
    if text is None or text.source == "abstract":
        return "the abstract only (no full text could be read)"
    kind = "the HTML full text" if text.source == "html" else "the PDF"
    sections = len(text.sections)
    return f"{kind} ({text.chars:,} characters, {sections} section{'' if sections == 1 else 's'})"


def render_note(
    result: CycleResult,
    *,
    cycle: int,
    started: datetime,
    tracks: Sequence[Track],
    reason: str,
    settings: Settings | None = None,
) -> str:
    """The Markdown note of one cycle: YAML front matter, then the body in the seed's shape.

    `settings` name the researcher and the workspace whose prompts/ may override the template;
    without them, the shipped template addresses "the researcher"."""
    touched = touched_tracks(result, tracks)
    body = render_markdown(
        "note.md.j2",
        settings.workspace if settings else None,
        result=result,
        cycle=cycle,
        started=started,
        reason=reason,
        researcher=settings.researcher if settings else "the researcher",
        tracks=sorted(tracks, key=lambda t: (-t.priority, t.name)),
        track_label=track_labeller(tracks),
        notices=note_notices(result),
        next_steps=note_next_steps(result),
        tags=note_tags(result, touched),
        deep=deep_read_paper(result),
        score_for=score_for,
        text_source=describe_text(result),
    )
    return front_matter(result, cycle, started, reason, tracks) + "\n" + body.lstrip("\n")


@dataclass(frozen=True)
class GraphEntry:
    """One paper under one track in the knowledge graph (the store fills these)."""

    track_id: str
    paper_id: str
    title: str
    takeaway: str  # one line: the summary's headline
    cycle: int | None  # the cycle that last summarised or read it
    score: float  # relevance to this track, 0..1
    gap: str = ""  # what it leaves open, accumulated under the track


@dataclass
class GraphTrack:
    """What the knowledge graph shows for one track (bounded)."""

    track: Track
    core: list[GraphEntry]
    related: list[GraphEntry]
    questions: list[str]
    velocity: TrackVelocity | None = None


def group_entries(
    tracks: Sequence[Track],
    entries: Iterable[GraphEntry],
    open_questions: Mapping[str, Sequence[str]],
    velocity: Sequence[TrackVelocity] = (),
    per_track: int = 8,
    core_score: float = 0.5,
) -> list[GraphTrack]:
    """Entries per track by priority: best score first, one per paper, capped."""
    best: dict[str, dict[str, GraphEntry]] = {t.id: {} for t in tracks}
    for entry in entries:
        papers = best.get(entry.track_id)
        if papers is None:
            continue
        kept = papers.get(entry.paper_id)
        if kept is None or entry.score > kept.score:
            papers[entry.paper_id] = entry
    groups = []
    for track in sorted(tracks, key=lambda t: (-t.priority, t.name)):
        ranked = sorted(best[track.id].values(), key=lambda e: (-e.score, e.paper_id))
        core = [e for e in ranked if e.score >= core_score][:per_track]
        related = [e for e in ranked if e not in core][:per_track]
        asked = [*open_questions.get(track.id, ()), *(e.gap for e in ranked)]
        questions = list(dict.fromkeys(q for q in (clean_text(x) for x in asked) if q))
        pace = next((v for v in velocity if v.track_id == track.id), None)
        groups.append(GraphTrack(track, core, related, questions[:per_track], pace))
    return groups


def render_knowledge_graph(
    groups: Sequence[GraphTrack],
    read_papers: Sequence[MemoryItem],
    *,
    updated: datetime | None = None,
    cycle: int | None = None,
    workspace: Path | None = None,
) -> str:
    """state/knowledge-graph.md: per track (`group_entries`) its pace, core and related papers,
    open questions; then the papers read in full, newest first."""
    read = sorted(read_papers, key=lambda m: -(m.cycle or 0))[:MAX_READ]
    return render_markdown(
        "knowledge-graph.md.j2",
        workspace,
        groups=groups,
        read_papers=read,
        updated=updated,
        cycle=cycle,
    )


@dataclass(frozen=True)
class CycleRow:
    """One line of cycles/README.md (the store fills these)."""

    cycle: int
    started: datetime
    action: str
    reason: str
    papers: int = 0
    note_path: str | None = None  # relative to the workspace, as note_path() gives it
    status: str = "committed"


def readme_link(row: CycleRow) -> str:
    """A link to the note relative to cycles/, only for paths note_path() could have made."""
    if row.note_path is None or not NOTE_PATH.match(row.note_path):
        return ""
    target = row.note_path.removeprefix("cycles/")
    return f"[{target.rsplit('/', 1)[-1]}]({target})"


def render_cycles_readme(
    cycles: Sequence[CycleRow], *, workspace: Path | None = None, limit: int = 50
) -> str:
    """cycles/README.md: the latest cycles, newest first, each linking to its note."""
    rows = sorted(cycles, key=lambda r: -r.cycle)[:limit]
    return render_markdown(
        "cycles-readme.md.j2",
        workspace,
        rows=rows,
        link=readme_link,
        total=len(cycles),
    )


def render_markdown(name: str, workspace: Path | None, **values: Any) -> str:
    """A Markdown template rendered with the note filters (`md_filters`); templates are
    imported on first use (jinja2 is slow to import)."""
    from agent.templates import render_template

    return render_template(name, workspace, filters=md_filters(), **values)
