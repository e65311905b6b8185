"""Views regenerated from the store and committed with every note: the knowledge graph and the
cycles index. Reading the store happens here; the rendering is in notes.py.

Both views include what the current cycle is about to add (its changes are applied to the store
only after the commit), so the committed view always matches the committed note.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agent import journal, notes
from agent.analyst.offline import NO_LIMITATION
from agent.changes import stored_papers
from agent.errors import WorkspaceError
from agent.models import MemoryItem, Track
from agent.results import CycleResult
from agent.store import Store
from agent.velocity import store_velocity
from agent.workspace import CYCLES_INDEX_FILE, KNOWLEDGE_GRAPH_FILE

if TYPE_CHECKING:  # cycle.py calls these views with the cycle it runs
    from agent.cycle import CycleRun

KNOWLEDGE_GRAPH = KNOWLEDGE_GRAPH_FILE
CYCLES_INDEX = CYCLES_INDEX_FILE
MEMORY_LIMIT = 300  # papers the graph is built from; it shows at most 8 per track anyway
INDEX_ROWS = 50
VIEWS = (KNOWLEDGE_GRAPH, CYCLES_INDEX)
# The researcher annotates the views: everything after this line is theirs, kept verbatim.
KEEP_MARKER = (
    "<!-- research-agent: everything below this line is yours and is kept, as written, "
    "every time this file is regenerated -->"
)
YOUR_NOTES = "\n## Your notes\n\n"


def regenerate_views(run: CycleRun, result: CycleResult, note_path: str) -> dict[str, str]:
    """{relative path: text} of every view, including what this cycle (`run`, which produced
    `result` and writes its note at `note_path`) is about to add."""
    views = {
        KNOWLEDGE_GRAPH: knowledge_graph(run, result),
        CYCLES_INDEX: cycles_index(run, result, note_path),
    }
    return {path: keep_researcher_section(text, run.settings.workspace / path)
            for path, text in views.items()}


def keep_researcher_section(text: str, current: Path) -> str:
    """The generated text, then the marker line and whatever the researcher wrote below it."""
    try:
        old = current.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        old = ""
    _, found, kept = old.partition(KEEP_MARKER)
    return f"{text.rstrip()}\n\n{KEEP_MARKER}{kept if found else YOUR_NOTES}"


def check_views_unedited(workspace: Path) -> None:
    """Refuse to run a cycle that would overwrite the researcher's uncommitted edit of a view."""
    with journal.open_journal(workspace) as repo:
        edited = [path for path in VIEWS if not repo.is_clean([path])]
    if edited:
        path = edited[0]
        raise WorkspaceError(
            f"{workspace / path} has edits that are not committed, and every cycle regenerates "
            f"that file: no cycle runs until they are safe. Keep them: move your text below the "
            f"line '{KEEP_MARKER}' (kept on every regeneration) and commit it "
            f"(git commit {path}). Or drop them: git checkout -- {path}"
        )


def knowledge_graph(run: CycleRun, result: CycleResult) -> str:
    """state/knowledge-graph.md from remembered papers plus this cycle's."""
    settings, tracks, store = run.settings, run.tracks, run.store
    number, started = run.number, run.started
    memory = current_memory(result, number) + store.recall(limit=MEMORY_LIMIT)
    seen: set[str] = set()
    memory = [m for m in memory if not (m.paper_id in seen or seen.add(m.paper_id))]  # type: ignore[func-returns-value]
    scores = store.matches_for([m.paper_id for m in memory])
    for section in result.papers:
        scores[section.paper.id] = section.matches
    gaps = known_gaps(store, result)
    entries = [
        notes.GraphEntry(
            track_id=match.track_id,
            paper_id=item.paper_id,
            title=item.title,
            takeaway=item.takeaway,
            cycle=item.cycle,
            score=match.score,
            gap=gaps.get(item.paper_id, ""),
        )
        for item in memory
        for match in scores.get(item.paper_id, [])
        if match.relevant
    ]
    read_ids = read_in_full(store, result)
    groups = notes.group_entries(
        [t for t in tracks if t.active],
        entries,
        open_questions(result, tracks),
        velocity=store_velocity(store, tracks, started, adding=arriving(result)),
    )
    return notes.render_knowledge_graph(
        groups,
        [m for m in memory if m.paper_id in read_ids],
        updated=started,
        cycle=number,
        workspace=settings.workspace,
    )


def arriving(result: CycleResult) -> list[tuple[str, str, datetime]]:
    """(paper, track, date) of the relevant papers this cycle is about to store (a scan's)."""
    dates = {p.id: p.published for p in result.new_papers if p.published is not None}
    return [(m.paper_id, m.track_id, dates[m.paper_id])
            for m in result.matches if m.relevant and m.paper_id in dates]


def read_in_full(store: Store, result: CycleResult) -> set[str]:
    """Papers whose deep read had the full text (HTML or PDF), not only the abstract."""
    read = set()
    for paper in store.papers_with_status(["read"]):
        reads = store.analyses_for(paper.id, kind="deep-read")
        if any(r["payload"].get("source", "abstract") != "abstract" for r in reads):
            read.add(paper.id)
    source = result.full_text.source if result.full_text else "abstract"
    if result.deep_read is not None and source != "abstract":
        read.add(result.deep_read.paper_id)
    return read


def current_memory(result: CycleResult, number: int) -> list[MemoryItem]:
    """This cycle's summarised or read papers as memory items."""
    items = []
    for section in result.papers:
        takeaway = section.summary.headline if section.summary else ""
        if result.deep_read is not None and result.deep_read.paper_id == section.paper.id:
            takeaway = result.deep_read.method or result.deep_read.problem
        if takeaway:
            items.append(
                MemoryItem(
                    paper_id=section.paper.id,
                    title=section.paper.title,
                    cycle=number,
                    takeaway=takeaway,
                    track_ids=tuple(m.track_id for m in section.matches if m.relevant),
                    score=section.matches[0].score if section.matches else 0.0,
                )
            )
    return items


def known_gaps(store: Store, result: CycleResult) -> dict[str, str]:
    """The gap each summarised paper leaves open (this cycle's, then stored ones)."""
    gaps = {s.paper.id: s.summary.gap for s in result.papers if s.summary is not None}
    for item in store.recall(limit=60):
        if item.paper_id not in gaps:
            for analysis in store.analyses_for(item.paper_id, kind="summary")[:1]:
                gaps[item.paper_id] = str(analysis["payload"].get("gap", ""))
    # the offline reader's "no limitation stated" is not an open question worth accumulating
    return {paper: gap for paper, gap in gaps.items() if gap and gap != NO_LIMITATION}


def open_questions(result: CycleResult, tracks: list[Track]) -> dict[str, list[str]]:
    """Open questions this cycle raised, filed under the tracks they concern."""
    questions: dict[str, list[str]] = {}
    if result.deep_read is not None:
        for connection in result.deep_read.connections:
            questions.setdefault(connection.track_id, []).extend(
                result.deep_read.open_questions[:3]
            )
    if result.field_update is not None and result.field_update.open_question:
        top = [s.matches[0].track_id for s in result.papers if s.matches][:1]
        for track_id in top:
            questions.setdefault(track_id, []).append(result.field_update.open_question)
    known = {t.id for t in tracks}
    return {k: v for k, v in questions.items() if k in known}


def cycles_index(run: CycleRun, result: CycleResult, note_path: str) -> str:
    """cycles/README.md: this cycle, then the latest committed ones."""
    settings, store, decision = run.settings, run.store, run.decision
    number, started = run.number, run.started
    rows = [
        notes.CycleRow(
            cycle=number,
            started=started,
            action=decision.action,
            reason=decision.reason,
            papers=len(result.papers) or len(result.new_papers),
            note_path=note_path,
        )
    ]
    for record in store.recent_cycles(limit=INDEX_ROWS * 2):
        if record.status == "committed" and record.number != number and record.started:
            rows.append(
                notes.CycleRow(
                    cycle=record.number,
                    started=record.started,
                    action=record.action,
                    reason=record.reason,
                    papers=stored_papers(record.result_json),
                    note_path=record.note_path,
                )
            )
    return notes.render_cycles_readme(rows[:INDEX_ROWS], workspace=settings.workspace)
