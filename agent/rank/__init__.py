"""Relevance of papers to tracks: fast, local, no network (see ranker.py for how)."""

from agent.rank.ranker import Ranker, Tuning, triage

__all__ = ["Tuning", "Ranker", "triage"]
