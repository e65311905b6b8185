"""Scan recall: every paper listed in the watched categories must reach the store.

Serves the bundled sample (agent/data/arxiv-2026-jan-feb.jsonl.gz) through the loopback arXiv
fake (tests/fakes/arxiv_server.py) as this week's announcements: its listed papers, in listing
order, re-dated into the last 60 hours. Runs one real scan cycle (`run_cycle`, the arxiv source,
real HTTP to 127.0.0.1) in a fresh workspace whose tracks are agent/defaults/tracks.toml (or
--tracks FILE, e.g. bench/devset/tracks.toml), then prints:

- the share of listed papers in the watched categories that reached the store (must be 100%),
- the requests made and what the same listing costs against arxiv.org (3 s apart).

    .venv/bin/python bench/scan_recall.py [--tracks bench/devset/tracks.toml] [--page-size 2000]

Exit status 1 if any listed paper is missing.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.cycle import CycleOptions, run_cycle  # noqa: E402
from agent.models import Paper  # noqa: E402
from agent.sources.arxiv_query import watched_categories  # noqa: E402
from agent.sources.jsonl import SAMPLE_PATH, iter_records  # noqa: E402
from agent.tracks import load_tracks  # noqa: E402
from agent.workspace import init_workspace  # noqa: E402
from tests.fakes.arxiv_server import serve  # noqa: E402

SPREAD = timedelta(hours=60)  # inside the first scan's default 3-day backfill


def this_weeks_listing(now: datetime) -> list[Paper]:
    """The sample's listed papers, re-dated over the last 60 hours in listing order."""
    listed = []
    for record, paper in iter_records(SAMPLE_PATH):
        day = record.get("first_listing_date")
        if day:
            listed.append((date.fromisoformat(str(day)[:10]), paper.published or now, paper))
    listed.sort(key=lambda item: (item[0], item[1], item[2].id))
    step = SPREAD / max(1, len(listed))
    start = now - SPREAD
    return [
        replace(paper, published=start + i * step, updated=start + i * step)
        for i, (_, _, paper) in enumerate(listed)
    ]


def stored_ids(workspace: Path) -> set[str]:
    with sqlite3.connect(workspace / "state" / "agent.db") as db:
        return {row[0] for row in db.execute("SELECT id FROM papers")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=Path, help="a tracks.toml (default: the example tracks)")
    parser.add_argument("--page-size", type=int, default=2000)
    args = parser.parse_args()
    now = datetime.now(UTC)
    papers = this_weeks_listing(now)
    with tempfile.TemporaryDirectory() as tmp, serve() as fake:
        workspace, _ = init_workspace(Path(tmp) / "radar")
        if args.tracks:
            shutil.copyfile(args.tracks, workspace / "state" / "tracks.toml")
            subprocess.run(["git", "-C", str(workspace), "commit", "-qam", "bench tracks"],
                           check=True)
        tracks = [t for t in load_tracks(workspace / "state" / "tracks.toml") if t.active]
        watched = set(watched_categories(tracks))
        fake.add_papers(papers)
        overrides = {"arxiv.api_url": fake.url, "arxiv.page_size": args.page_size,
                     "arxiv.delay_seconds": 0}
        started = time.perf_counter()
        outcome = run_cycle(workspace, CycleOptions(action="scan", overrides=overrides))
        seconds = time.perf_counter() - started
        if outcome.status != "committed":
            print(f"scan {outcome.status}: {outcome.error}")
            return 1
        stored = stored_ids(workspace)
    listed = {p.id for p in papers if watched & set(p.categories)}
    reached = len(listed & stored)
    share = reached / len(listed) if listed else 1.0
    requests = len(fake.requests)
    print(f"tracks: {len(tracks)} active; watched: {', '.join(sorted(watched))}")
    print(f"served as this week's listing: {len(papers):,} papers (bundled sample)")
    print(f"listed in the watched categories: {len(listed):,}")
    print(f"reached the store: {reached:,} ({share:.1%}); stored in all: {len(stored):,}")
    print(f"requests: {requests} (pages of {args.page_size:,}; "
          f"{math.ceil(len(listed) / args.page_size)} needed for the listing)")
    print(f"scan cycle wall time against the loopback: {seconds:.1f} s")
    print(f"against arxiv.org the requests alone would take at least "
          f"{max(0, requests - 1) * 3:.0f} s (3 s apart) plus arXiv's own answer time")
    return 0 if reached == len(listed) else 1


if __name__ == "__main__":
    sys.exit(main())
