"""The three things a cycle can do — scan, learn, deep-read — each returning a CycleResult.

Actions read the store and call the source, ranker and analyst; they never write files, commit,
or change the store (the cycle applies `agent.changes` after the commit). LLM usage is the one
exception: it is recorded as it happens, because tokens spent are spent.

The package: `context` (what an action is given), `scan`, `learn` (with `pick`, which papers
it reads, and `memory`, the earlier papers they relate to) and `deep_read`.
"""

from __future__ import annotations

from agent.actions.context import Cancelled, Context
from agent.actions.deep_read import deep_read
from agent.actions.learn import learn, queue_worthy
from agent.actions.pick import (
    choose_for_learning,
    pick_for_learning,
    rank_fingerprint,
    rerank_pick,
    stored_pick,
)
from agent.actions.scan import scan
from agent.errors import AgentError
from agent.models import QueueItem
from agent.rank.worth import reading_order
from agent.results import CycleResult
from agent.text import plural

__all__ = [
    "Cancelled",
    "Context",
    "choose_for_learning",
    "deep_read",
    "learn",
    "pick_for_learning",
    "plural",
    "queue_after",
    "queue_worthy",
    "rank_fingerprint",
    "rerank_pick",
    "run_action",
    "scan",
    "stored_pick",
]


def run_action(action: str, ctx: Context) -> CycleResult:
    """Dispatch to the action by name."""
    actions = {"scan": scan, "learn": learn, "deep-read": deep_read}
    if action not in actions:
        raise AgentError(f"unknown action '{action}'; choose one of {', '.join(actions)}.")
    result = actions[action](ctx)
    result.source = result.source or ctx.source.name
    result.queue_after = queue_after(ctx, result)
    return result


def queue_after(ctx: Context, result: CycleResult) -> list[QueueItem]:
    """The must-read queue as it will be once this cycle is applied (for the note's Next)."""
    read = result.deep_read.paper_id if result.deep_read else None
    items = {q.paper_id: q for q in ctx.store.queue_list() if q.paper_id != read}
    for item in result.queued:
        items.setdefault(item.paper_id, item)
    # a stable sort keeps the store's order within a priority (the researcher's first, oldest)
    return sorted(items.values(), key=lambda q: reading_order(q.priority, q.added_by))
