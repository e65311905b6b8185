"""Relevance of papers to tracks: fast, local, no network (see ranker.py for how).

The ranker (numpy) is imported on first use of `Ranker`, `Tuning` or `triage`, so a light module
of this package (`agent.rank.worth`, which `status` needs) does not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.rank.ranker import Ranker, Tuning, triage

__all__ = ["Tuning", "Ranker", "triage"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from agent.rank import ranker

        return getattr(ranker, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
