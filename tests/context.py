"""An action `Context` over a real workspace and store, for tests that call actions directly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agent.actions import Context
from agent.analyst.offline import OfflineAnalyst
from agent.config import load_settings
from agent.store import Store
from agent.tracks import active_tracks, load_tracks


class NoSource:
    """A source with nothing older to discover (learn must choose from the store)."""

    name = "sample"

    def search(self, track, limit):  # type: ignore[no-untyped-def]
        return []


def context(store: Store, workspace: Path) -> Context:
    settings = load_settings(workspace)
    tracks = active_tracks(load_tracks(settings.tracks_path))
    return Context(settings=settings, tracks=tracks, store=store, source=NoSource(),  # type: ignore[arg-type]
                   analyst=OfflineAnalyst(workspace), now=datetime.now(UTC))
