"""Start-up of the quick commands beside a bare interpreter and a bare typer app, same run.

    python bench/startup.py            # 15 rounds
    python bench/startup.py --runs 30

Each figure is a fresh process; a round runs every row once, in turn, so a loaded machine weighs
on all rows alike. Reported: median wall and median CPU (user + system, the process's own, from
wait4), and the CPU ratio to the bare interpreter. The target is < 0.3 s for `--help`, `status`,
`log` and `tracks`. Two reference rows say what is not ours to cut:

- `python -c pass`: the interpreter alone;
- a typer app with `status`'s options and an empty body: typer's own floor. typer (0.29) converts
  each option's value with a pydantic TypeAdapter it builds at run time, so any command that
  runs imports pydantic and pays per option; only `--help` does not.

The workspace is made once in a temporary directory (`init`, then one cycle on the bundled
sample), and every command runs once before timing, as a researcher's own cycles would have
left the user cache (validated tracks and settings, agent/memo.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The options `status` has (the root's --version and --verbose, then --workspace and --json)
# on an empty command: what typer alone costs to parse them.
TYPER_FLOOR = """
from pathlib import Path
from typing import Annotated
import typer
app = typer.Typer(add_completion=False)
@app.callback()
def root(version: Annotated[bool, typer.Option("--version")] = False,
         verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    pass
@app.command()
def status(workspace: Annotated[Path | None, typer.Option("--workspace", "-w",
           envvar="RESEARCH_AGENT_WORKSPACE")] = None,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    print(workspace, as_json)
app(["status"])
"""


def run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process, which must succeed."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{command} failed: {child.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
    child.stderr.close()  # type: ignore[union-attr]
    return wall, usage.ru_utime + usage.ru_stime


def workspace(folder: Path, env: dict[str, str]) -> Path:
    """A workspace with one committed cycle (bundled sample, offline analyst)."""
    path = folder / "ws"
    py = sys.executable
    subprocess.run([py, "-m", "agent", "init", str(path)], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    subprocess.run([py, "-m", "agent", "cycle", "--source", "sample", "-a", "scan"], cwd=path,
                   env=env, check=True, capture_output=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="research-agent-startup-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "RESEARCH_AGENT_CACHE": str(folder / "cache"), "COLUMNS": "80"}
        env.pop("RESEARCH_AGENT_WORKSPACE", None)
        path = workspace(folder, env)
        rows = {
            "python -c pass": [py, "-c", "pass"],
            "typer, status's options": [py, "-c", TYPER_FLOOR],
            "--help": [py, "-m", "agent", "--help"],
            "status": [py, "-m", "agent", "status"],
            "log": [py, "-m", "agent", "log"],
            "tracks": [py, "-m", "agent", "tracks"],
        }
        for command in rows.values():  # warm: file cache, memo of tracks and settings
            run(command, path, env)
        walls: dict[str, list[float]] = {name: [] for name in rows}
        cpus: dict[str, list[float]] = {name: [] for name in rows}
        for _ in range(args.runs):
            for name, command in rows.items():
                wall, cpu = run(command, path, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
    bare = statistics.median(cpus["python -c pass"])
    print(f"{'command':<24}{'wall s':>8}{'CPU s':>8}{'CPU / bare':>12}")
    for name in rows:
        cpu = statistics.median(cpus[name])
        print(f"{name:<24}{statistics.median(walls[name]):>8.3f}{cpu:>8.3f}{cpu / bare:>12.1f}")


if __name__ == "__main__":
    main()
