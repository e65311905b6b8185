"""bench/year_scale.py end to end on a tiny store: it builds, times every command and cycle, and
prints each figure. The bench broke three times unnoticed; this runs it (its figures are not
checked against targets here: speed is the bench's to report, not a test's)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (  # each printed line that must carry its seconds
    "bare interpreter", "--help", "status", "status, with an LLM judge", "log", "tracks",
    "digest of the whole year",
    "papers search", "papers show", "scan of one day (1,500 new papers)",
    "... and 300 new versions",
    "learn before its first LLM call", "... after a track changed (re-rank)",
)
SECONDS = r"\s+\d+\.\d\d s\s+\d+\.\d\d s"  # wall, then CPU


@pytest.mark.slow  # a build and some twenty real processes: about half a minute
def test_the_year_bench_runs_and_prints_every_figure(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "bench/year_scale.py", "--papers", "3000", "--cycles", "12",
         "--keep", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert re.search(r"^built 3,000 papers in \d+\.\d s", out, re.M), out
    assert re.search(r"^store: 3,000 papers, \d+ MiB on disk$", out, re.M), out
    assert len(re.findall(r"^load average [\d.]+ [\d.]+ [\d.]+$", out, re.M)) == 2, out
    for name in FIGURES:
        assert re.search(rf"^\s*{re.escape(name)}{SECONDS}", out, re.M), (name, out)
    assert out.count("committed, ") == 2, out  # both scans committed
    # the kept workspace can be timed again
    again = subprocess.run([sys.executable, "bench/year_scale.py", "--reuse",
                            str(tmp_path / "radar")], cwd=ROOT, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert re.search(rf"^papers show{SECONDS}", again.stdout, re.M), again.stdout
