"""One cycle end to end: the only place the parts are wired together.

lock → reconcile → settings + tracks → decide → act → render → save changes → write files →
commit → apply changes. Every step before the commit can be abandoned without leaving a trace;
every step after it is redone by `reconcile` if the process dies.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from agent import journal, notes
from agent.actions import Cancelled, Context, run_action
from agent.analyst import Analyst
from agent.analyst.backends import AnalystSetup, backend_for, get_analyst
from agent.analyst.budget import TokenBudget
from agent.changes import apply_changes, changes_from_result, compacted, dump_changes
from agent.deadline import CycleStop, failure_of
from agent.errors import AgentError
from agent.files import write_atomic
from agent.lock import WorkspaceLock
from agent.models import ACTIONS, Decision, LLMCall, Track
from agent.reconcile import reconcile, settle_interrupted
from agent.results import CycleResult
from agent.review.cycles import REFUSAL_KEY
from agent.schedule import local_midnight
from agent.settings import Settings
from agent.snapshot import decide
from agent.sources import Source
from agent.sources.choose import SOURCES, make_source, text_fetcher
from agent.store import Store
from agent.text import plural, shorten
from agent.tracks import active_tracks, load_tracks
from agent.views import CYCLES_INDEX, KNOWLEDGE_GRAPH, check_views_unedited, regenerate_views
from agent.workspace import Workspace

logger = logging.getLogger(__name__)
CRASH_AT = "RESEARCH_AGENT_CRASH_AT"  # test-only: die at a named step (see tests/test_crash.py)


@dataclass
class CycleOptions:
    """How to run one cycle; tests and the demo swap the source or analyst here."""

    action: str | None = None  # None: the policy decides
    source: str = "arxiv"  # "arxiv" or "sample"
    overrides: dict[str, object] = field(default_factory=dict)  # flags as {"arxiv.api_url": ...}
    make_source: Callable[[Settings, str], Source] | None = None
    make_analyst: Callable[[Settings, Callable[[LLMCall], None]], Analyst] | None = None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    stop: threading.Event = field(default_factory=threading.Event)
    hold_lock: bool = True  # False when the daemon already holds the workspace lock
    progress: Callable[[str], None] | None = None  # what the cycle is doing now, for a person


@dataclass(frozen=True)
class CycleRun:
    """What one cycle's steps share: its settings, tracks, store, options and decision."""

    settings: Settings
    tracks: list[Track]
    store: Store
    options: CycleOptions
    decision: Decision
    number: int
    started: datetime


@dataclass
class CycleOutcome:
    """What happened, for the CLI, the daemon and the log line."""

    number: int | None
    action: str
    reason: str
    status: str  # committed | rested | failed | aborted
    note_path: str | None = None
    sha: str | None = None
    papers: int = 0
    tokens: int = 0
    duration_s: float = 0.0
    error: str | None = None
    notices: list[str] = field(default_factory=list)


def run_cycle(workspace: Path, options: CycleOptions | None = None) -> CycleOutcome:
    """Run one cycle in `workspace` and return what happened."""
    options = options or CycleOptions()
    space = Workspace(workspace, options.overrides)
    settings = space.settings
    tracks = load_tracks(settings.tracks_path)  # a broken file stops here, before any change
    if options.action is not None and options.action not in ACTIONS:
        raise AgentError(f"unknown action '{options.action}'; choose one of {', '.join(ACTIONS)}.")
    if options.make_source is None and options.source not in SOURCES:
        raise AgentError(f"unknown source '{options.source}'; choose one of {', '.join(SOURCES)}.")
    lock = WorkspaceLock(settings.state_dir) if options.hold_lock else None
    if lock is not None:
        lock.acquire()
    try:
        with space.open_store() as store:
            reconcile(store, workspace)
            return run_locked(settings, tracks, store, options)
    finally:
        if lock is not None:
            lock.release()


def run_locked(
    settings: Settings, tracks: list[Track], store: Store, options: CycleOptions
) -> CycleOutcome:
    """The cycle proper, with the workspace locked and reconciled."""
    started = options.now()
    clock = time.monotonic()
    decision = decide(
        store, tracks, settings, started, forced=options.action, source=options.source
    )
    # Everything that can fail is set up first, and the number is known before the record is
    # written: an interrupt at any point after `start_cycle` begins settles the record below.
    number = store.next_cycle_number()
    outcome = CycleOutcome(number, decision.action, decision.reason, "running")
    with CycleStop(options.stop, settings.schedule.cycle_deadline) as stop:
        try:
            store.start_cycle(
                decision.action, decision.reason, started, number=number, pid=os.getpid()
            )
            if decision.action == "rest":
                store.update_cycle(number, status="rested", ended=options.now())
                outcome.status = "rested"
            else:
                timed = replace(options, stop=stop)
                work(CycleRun(settings, tracks, store, timed, decision, number, started), outcome)
        except KeyboardInterrupt:  # Ctrl-C on `cycle`: roll back now (or record a landed commit)
            if store.get_cycle(number) is None:
                raise  # before its record was written: no cycle to roll back
            raise Interrupted(
                number, settle_interrupted(store, settings.workspace, number)
            ) from None
        except Exception as exc:  # an overnight daemon records any failure and goes on
            if store.get_cycle(number) is None:
                raise  # the record itself could not be written: there is nothing to settle
            status, error = failure_of(exc, stop)
            if status == "failed" and not isinstance(exc, AgentError):
                logger.exception("cycle %s failed", number)
            abandon(store, settings.workspace, number, outcome, status, error)
    outcome.duration_s = time.monotonic() - clock
    outcome.tokens = sum(store.tokens_for_cycle(number))
    log_outcome(outcome)
    return outcome


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a cycle run by hand; its record is settled (`status`: aborted or, if its
    commit had already landed, committed)."""

    def __init__(self, number: int, status: str):
        super().__init__(f"cycle {number} interrupted")
        self.number, self.status = number, status


def log_outcome(outcome: CycleOutcome) -> None:
    """The one line per cycle in state/agent.log (and on stderr), at a level matching its status."""
    level = {"failed": logging.ERROR, "aborted": logging.WARNING}.get(outcome.status, logging.INFO)
    logger.log(
        level,
        "cycle %d %s: %s, %s, %s tokens, %.1fs, commit %s (%s)",
        outcome.number or 0,
        outcome.status,
        outcome.action,
        plural(outcome.papers, "paper"),
        f"{outcome.tokens:,}",
        outcome.duration_s,
        outcome.sha[:7] if outcome.sha else "-",
        shorten(outcome.error or outcome.reason, 160),
    )


def record_refusal(workspace: Path, error: AgentError) -> CycleOutcome:
    """A cycle that could not even start (e.g. a broken tracks file), recorded for the morning.

    It takes no cycle number (numbers go to cycles that start their work) and is kept as the
    store's latest refusal, which `log` shows in time order. Nothing is recorded if the settings
    themselves are broken: then there is no store to write to.
    """
    now = datetime.now(UTC)
    outcome = CycleOutcome(None, "none", "could not start", "failed", error=str(error))
    try:
        with Workspace(workspace).open_store() as store:
            refusal = {"at": now.isoformat(), "error": str(error)[:2000]}
            store.set_meta(REFUSAL_KEY, json.dumps(refusal, ensure_ascii=False))
    except AgentError:
        pass
    logger.error("cycle not started: %s", " ".join(str(error).split())[:300])
    return outcome


def work(run: CycleRun, outcome: CycleOutcome) -> None:
    """Check the commit can happen, act, render, save the changes, write, commit, apply."""
    settings, store, options, decision = run.settings, run.store, run.options, run.decision
    number, started = run.number, run.started
    # before anything is spent: a cycle that cannot commit must not pay for its LLM calls
    journal.check_can_commit(
        settings.workspace,
        [notes.note_path(number, started, decision.action), KNOWLEDGE_GRAPH, CYCLES_INDEX],
    )
    check_views_unedited(settings.workspace)  # the researcher's edits are never overwritten
    result = act(run)
    crash_point("acted")
    result.tokens_in, result.tokens_out = store.tokens_for_cycle(number)
    files = render_files(run, result)
    if options.stop.is_set():
        abort_now()
    note_path = next(iter(files))
    changes = changes_from_result(result)
    changes.started = started
    store.update_cycle(
        number,
        status="note_written",
        step="note_written",
        note_path=note_path,
        result_json=dump_changes(changes),
    )
    write_files(settings.workspace, files)
    crash_point("note_written")
    if options.stop.is_set():
        abort_now()
    message = journal.commit_message(number, decision.action, result.summary_line)
    sha = journal.commit_paths(settings.workspace, list(files), message, cycle=number)
    crash_point("committed")
    with store.transaction():
        apply_changes(store, changes, number)
        store.update_cycle(
            number,
            status="committed",
            step="recorded",
            commit_sha=sha,
            ended=options.now(),
            tokens_in=result.tokens_in,
            tokens_out=result.tokens_out,
            result_json=compacted(changes),  # applied: a summary is all that is kept
        )
    outcome.status, outcome.note_path, outcome.sha = "committed", note_path, sha
    # a scan's papers are the ones it stored; any other action's, the ones it read
    outcome.papers = len(result.new_papers) if result.action == "scan" else len(result.papers)
    outcome.notices = result.notices


def act(run: CycleRun) -> CycleResult:
    """Run the chosen action with a source and an analyst for this cycle."""
    settings, store, options, number = run.settings, run.store, run.options, run.number

    def record(call: LLMCall) -> None:
        store.record_llm_call(LLMCall(**{**call.__dict__, "cycle": number}))

    analyst = make_analyst(run, record)
    source = (options.make_source or make_source)(settings, options.source)
    ctx = Context(
        settings=settings,
        tracks=active_tracks(run.tracks),
        store=store,
        source=source,
        analyst=analyst,
        now=run.started,
        stop=options.stop,
        fetch_text=text_fetcher(settings, options.source, stop_at(options)),
    )
    if options.progress is not None:
        ctx.progress = options.progress
    try:
        result = run_action(run.decision.action, ctx)
    finally:
        analyst.close()  # the LLM client's connection pool must not outlive the cycle
    result.analyst = analyst.label
    result.model = analyst.model
    result.notices.extend(analyst.notices)
    return result


def make_analyst(run: CycleRun, record: Callable[[LLMCall], None]) -> Analyst:
    """The backend the settings name ("llm" with today's budget, or "offline"), or the test's."""
    settings, options = run.settings, run.options
    if options.make_analyst is not None:
        return options.make_analyst(settings, record)
    # the day starts at the researcher's midnight, as in `status` and the policy
    spent = sum(run.store.tokens_since(local_midnight(run.started, settings.schedule.timezone)))
    budget = TokenBudget(
        cycle_limit=settings.llm.cycle_token_budget,
        daily_limit=settings.llm.daily_token_budget,
        spent_today=spent,
    )
    setup = AnalystSetup(
        settings.llm,
        record,
        settings.workspace,
        settings.researcher,
        budget,
        stop_at=stop_at(options),
        section_tokens=settings.fulltext.section_tokens,
    )
    return get_analyst(backend_for(settings.llm), setup)


def stop_at(options: CycleOptions) -> float | None:
    """When (time.monotonic) this cycle's deadline passes, if it has one."""
    return options.stop.stop_at if isinstance(options.stop, CycleStop) else None


def render_files(run: CycleRun, result: CycleResult) -> dict[str, str]:
    """The note first, then the views regenerated from the store (knowledge graph, cycles index)."""
    path = notes.note_path(run.number, run.started, run.decision.action)
    text = notes.render_note(
        result,
        cycle=run.number,
        started=run.started,
        tracks=run.tracks,
        reason=run.decision.reason,
        settings=run.settings,
    )
    files = {path: text}
    files.update(regenerate_views(run, result, path))
    return files


def write_files(workspace: Path, files: dict[str, str]) -> None:
    """Write each file atomically (files.write_atomic): a note is whole or absent."""
    for relative, text in files.items():
        target = workspace / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, text)


def abandon(
    store: Store, workspace: Path, number: int, outcome: CycleOutcome, status: str, error: str
) -> None:
    """Record a cycle that did not commit, and undo any file it wrote.

    Its tokens were spent all the same: the cycle row says so (from the calls table, the one
    source of truth for tokens), so `log` and the log line agree.
    """
    tokens_in, tokens_out = store.tokens_for_cycle(number)
    store.update_cycle(number, tokens_in=tokens_in, tokens_out=tokens_out)
    record = store.get_cycle(number)
    if record is not None and record.status == "note_written":
        try:
            journal.discard_uncommitted(workspace, record_paths(store, number))
        except AgentError as exc:  # e.g. the researcher's git holds the index right now
            # Left unfinished on purpose: the next cycle's reconcile removes the files.
            logger.warning("cycle %s: its files stay until the next cycle: %s", number, exc)
            error = f"{error} (its files stay until the next cycle removes them)"
            store.update_cycle(number, error=error[:2000], ended=datetime.now(UTC))
            outcome.status, outcome.error = status, error
            logger.warning("cycle %s %s: %s", number, status, error)
            return
    store.update_cycle(number, status=status, error=error[:2000], ended=datetime.now(UTC))
    outcome.status, outcome.error = status, error
    logger.warning("cycle %s %s: %s", number, status, error)


def record_paths(store: Store, number: int) -> list[str]:
    """The files a cycle in state note_written may have written."""
    from agent.reconcile import cycle_paths

    return cycle_paths(store, number)


def abort_now() -> None:
    raise Cancelled("shutdown requested; the cycle was abandoned before committing")



def crash_point(step: str) -> None:
    """Test-only: die like a killed process at `step` (RESEARCH_AGENT_CRASH_AT=<step>)."""
    if os.environ.get(CRASH_AT) == step:
        os._exit(137)
