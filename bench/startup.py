"""Start-up of the quick commands beside a bare interpreter and bare typer, same run.

    python bench/startup.py                        # 15 rounds
    python bench/startup.py --runs 30
    python bench/startup.py --before /tmp/main     # also the code in /tmp/main, same rounds
                                                   # (e.g. `git archive main | tar -x -C /tmp/main`)

Each figure is a fresh process; a round runs every row once, in turn, so a loaded machine weighs
on all rows alike. Reported: median wall and median CPU (user + system, the process's own, from
wait4), the CPU ratio to the bare interpreter, and the load average before and after. The
target is < 0.3 s for `--help`, `status`, `log` and `tracks`. Reference rows say what is not
ours to cut:

- `python -c pass`: the interpreter alone;
- `import typer`: what any typer command line pays before its first command;
- a typer app with `status`'s options and an empty body, run as typer runs it: typer (0.29)
  converts each option's value with a pydantic TypeAdapter it builds at run time, which our
  entry point avoids for plain values (agent/cli/startup.py).

With --before DIR the four commands run a second time from DIR's code (PYTHONPATH=DIR), in the
same rounds, on the same workspace.

Bytecode: every row reads compiled modules (.pyc) from a cache in the temporary directory
(PYTHONPYCACHEPREFIX), written by the warm-up run, as an installed package has them (pip compiles
them at install; an editable install writes them on first run). PYTHONDONTWRITEBYTECODE, if the
shell sets it, is dropped for the rows: with it every run compiles the agent's modules again
(~0.07 s of CPU per command, more than the cost of the code). --no-bytecode-cache keeps the
shell's setting, to compare with figures taken that way.

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


QUICK = ["--help", "status", "log", "tracks"]


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


def load() -> str:
    return " ".join(f"{figure:.2f}" for figure in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--before", type=Path, help="a checkout to time beside this code")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE from the shell (compile every run)")
    args = parser.parse_args()
    py = sys.executable
    print(f"load average before: {load()}")
    with tempfile.TemporaryDirectory(prefix="research-agent-startup-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "RESEARCH_AGENT_CACHE": str(folder / "cache"), "COLUMNS": "80"}
        env.pop("RESEARCH_AGENT_WORKSPACE", None)
        if not args.no_bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        print("bytecode: " + ("compiled every run" if env.get("PYTHONDONTWRITEBYTECODE")
                              else "cached" if env.get("PYTHONPYCACHEPREFIX") else "default"))
        path = workspace(folder, env)
        rows: dict[str, tuple[list[str], dict[str, str]]] = {
            "python -c pass": ([py, "-c", "pass"], env),
            "import typer": ([py, "-c", "import typer"], env),
            "typer, status's options": ([py, "-c", TYPER_FLOOR], env),
        }
        rows |= {name: ([py, "-m", "agent", name], env) for name in QUICK}
        if args.before:
            before = {**env, "PYTHONPATH": str(args.before.resolve())}
            rows |= {f"{name} (before)": ([py, "-m", "agent", name], before) for name in QUICK}
        for command, command_env in rows.values():  # warm: file cache, memo of tracks, settings
            run(command, path, command_env)
        walls: dict[str, list[float]] = {name: [] for name in rows}
        cpus: dict[str, list[float]] = {name: [] for name in rows}
        for _ in range(args.runs):
            for name, (command, command_env) in rows.items():
                wall, cpu = run(command, path, command_env)
                walls[name].append(wall)
                cpus[name].append(cpu)
    bare = statistics.median(cpus["python -c pass"])
    print(f"{'command':<24}{'wall s':>8}{'CPU s':>8}{'CPU / bare':>12}")
    for name in rows:
        cpu = statistics.median(cpus[name])
        print(f"{name:<24}{statistics.median(walls[name]):>8.3f}{cpu:>8.3f}{cpu / bare:>12.1f}")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
