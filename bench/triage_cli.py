"""End-to-end time of `research-agent triage` on the February 2026 papers against 5 tracks.

    python bench/triage_cli.py

The papers are the bundled sample's February listings (first_listing_date 2026-02-*), written to
a temporary .jsonl; the tracks are the first five of bench/devset/tracks.toml. The figure is the
wall time of the whole command in a fresh process (start-up, reading, ranking, JSON output).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.sources.jsonl import SAMPLE_PATH, iter_records  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        papers = Path(tmp) / "february.jsonl"
        count = 0
        with papers.open("w", encoding="utf-8") as out:
            for record, _ in iter_records(SAMPLE_PATH):
                if (record.get("first_listing_date") or "").startswith("2026-02"):
                    out.write(json.dumps(record) + "\n")
                    count += 1
        devset = tomllib.loads((ROOT / "bench/devset/tracks.toml").read_text(encoding="utf-8"))
        tracks = Path(tmp) / "tracks.toml"
        tracks.write_text(five_tracks(devset["track"][:5]), encoding="utf-8")
        command = [sys.executable, "-m", "agent", "triage", "--tracks", str(tracks),
                   "--papers", str(papers), "--top", "50"]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - start
    ranking = json.loads(done.stdout)
    print(f"triage of {count} February 2026 papers x {len(ranking)} tracks: {elapsed:.2f} s "
          f"(goal: under 10 s on 2 cores); top of each track:")
    for track, rows in ranking.items():
        print(f"  {track:28s} {rows[0]['id']}  {rows[0]['score']}")


def five_tracks(tables: list[dict]) -> str:
    """A tracks.toml text for the given track tables."""
    lines = []
    for table in tables:
        lines.append("[[track]]")
        for key, value in table.items():
            lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
