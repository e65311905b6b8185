"""Idle cost of `research-agent run`: resident memory and CPU between cycles (Linux, /proc).

    python bench/idle.py                # 60 s of idling after the first cycle
    python bench/idle.py --seconds 10

Makes a throwaway workspace, starts `research-agent run --every 1h --source sample` in it (the
bundled papers: no network, no key), waits for the first cycle's line in state/agent.log, then
watches the idle process for `--seconds`: VmRSS from /proc/<pid>/status (sampled every second;
the last and the highest are reported) and CPU from utime + stime in /proc/<pid>/stat.
Goal: under 150 MB and under 1% CPU.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MB, GOAL_CPU = 150.0, 1.0
FIRST_CYCLE = re.compile(r"cycle 1 (committed|rested|failed|aborted)")


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` in MB (VmRSS)."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    kilobytes = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(kilobytes.group(1)) / 1024 if kilobytes else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time `pid` has used, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    fields = stat.rsplit(")", 1)[1].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_workspace(parent: Path) -> Path:
    """A fresh workspace made by `research-agent init`."""
    workspace = parent / "radar"
    subprocess.run([sys.executable, "-m", "agent", "init", str(workspace)], cwd=ROOT,
                   check=True, capture_output=True)
    return workspace


def start_daemon(workspace: Path, log: Path) -> subprocess.Popen[bytes]:
    """`research-agent run` with a long interval, offline, its stderr in `log`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_"))}
    with open(log, "wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "agent", "run", "-w", str(workspace), "--every", "1h",
             "--source", "sample"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)


def wait_for_first_cycle(workspace: Path, daemon: subprocess.Popen[bytes], timeout: float) -> None:
    """Return once the first cycle's line is in state/agent.log."""
    log = workspace / "state" / "agent.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            sys.exit(f"the daemon exited with status {daemon.returncode}")
        if log.exists() and FIRST_CYCLE.search(log.read_text(encoding="utf-8")):
            return
        time.sleep(0.1)
    sys.exit(f"no first cycle within {timeout:g}s")


def measure(pid: int, seconds: float) -> tuple[float, float, float]:
    """(last RSS MB, highest RSS MB, CPU %) of `pid` over `seconds`."""
    cpu_before, start = cpu_seconds(pid), time.monotonic()
    highest = last = rss_mb(pid)
    while (elapsed := time.monotonic() - start) < seconds:
        time.sleep(min(1.0, seconds - elapsed))
        last = rss_mb(pid)
        highest = max(highest, last)
    used = cpu_seconds(pid) - cpu_before
    return last, highest, 100.0 * used / (time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to watch it idle")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="research-agent-idle-") as tmp:
        workspace = make_workspace(Path(tmp))
        daemon = start_daemon(workspace, Path(tmp) / "stderr.log")
        try:
            wait_for_first_cycle(workspace, daemon, timeout=120)
            last, highest, cpu = measure(daemon.pid, args.seconds)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
    print(f"research-agent run (pid {daemon.pid}), idle for {args.seconds:g}s after cycle 1")
    print(f"  RSS: {last:.1f} MB (highest {highest:.1f} MB; goal < {GOAL_MB:g} MB)")
    print(f"  CPU: {cpu:.2f}% (goal < {GOAL_CPU:g}%)")
    print(f"  exit status after SIGTERM: {daemon.returncode}")


if __name__ == "__main__":
    main()
