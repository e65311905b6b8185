"""Overhead of one empty cycle: lock, reconcile, settings and tracks, policy, rest (in-process).

    python bench/empty_cycle.py              # 30 cycles the policy decides to rest
    python bench/empty_cycle.py --runs 100
    python bench/empty_cycle.py --forced     # `--action rest`: no snapshot, no policy

The workspace is a fresh one that scanned arXiv a minute ago and has nothing waiting, so the
policy rests until the next announcement, as a daemon does most of the day: each run reads the
store, builds the snapshot, decides, records the rest (arXiv is never contacted). The
first run (imports, migrations) is reported apart; the median and 90th percentile of the rest
are the steady cost a daemon pays on every tick that does nothing.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.config import load_settings  # noqa: E402
from agent.cycle import CycleOptions, run_cycle  # noqa: E402
from agent.store import Store  # noqa: E402
from agent.workspace import init_workspace  # noqa: E402


def make_resting_workspace(parent: Path) -> Path:
    """A workspace that scanned a minute ago and has nothing to learn: the policy rests."""
    workspace, _ = init_workspace(parent / "radar")
    with Store(load_settings(workspace).database_url) as store:
        number = store.start_cycle("scan", "bench", datetime.now(UTC) - timedelta(minutes=1))
        store.update_cycle(number, status="committed", step="recorded")
    return workspace


def time_cycle(workspace: Path, forced: bool) -> tuple[float, str]:
    """Milliseconds of one cycle, and why it rested (it must have)."""
    options = CycleOptions(action="rest" if forced else None, source="arxiv")
    start = time.perf_counter()
    outcome = run_cycle(workspace, options)
    elapsed = (time.perf_counter() - start) * 1000
    if outcome.status != "rested":
        sys.exit(f"cycle {outcome.number} did not rest: {outcome.status} {outcome.action} "
                 f"({outcome.reason})")
    return elapsed, outcome.reason


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="cycles to time after the first")
    parser.add_argument("--forced", action="store_true", help="force rest (skip the policy)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="research-agent-bench-") as tmp:
        workspace = make_resting_workspace(Path(tmp))
        first, reason = time_cycle(workspace, args.forced)
        times = sorted(time_cycle(workspace, args.forced)[0] for _ in range(args.runs))
    p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
    how = "forced rest" if args.forced else "policy rest"
    print(f"empty cycle ({how}), {args.runs} runs after a first of {first:.1f} ms:")
    print(f"  median {statistics.median(times):.1f} ms, p90 {p90:.1f} ms, "
          f"min {times[0]:.1f} ms, max {times[-1]:.1f} ms")
    print(f"  the policy's reason: {reason}")


if __name__ == "__main__":
    main()
