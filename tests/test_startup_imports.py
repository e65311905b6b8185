"""What the quick commands import: `--help`, `status`, `log`, `tracks` and `triage` start fast
because heavy libraries are imported only by the commands that use them. Each case runs the
real entry point in a fresh interpreter and lists the modules it loaded (a behaviour, not a
timing: bench/startup.py measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Never needed to read a workspace or rank a file of papers.
CLIENTS = {"openai", "arxiv", "sqlmodel", "sqlalchemy", "git", "apscheduler", "jinja2", "httpx",
           "importlib.metadata"}
# Not needed to print help or read the store.
READING = CLIENTS | {"numpy", "yaml", "tomlkit", "markdown_it", "agent.rank.ranker"}
HEAVY = {
    "--help": READING | {"pydantic", "rich"},
    "status": READING,
    "log": READING | {"pydantic"},
    "tracks": READING,
    "triage": CLIENTS | {"rich", "yaml", "tomlkit"},
}

PROBE = """
import json, sys
from agent.cli import main
try:
    main(sys.argv[1:])
    code = 0
except SystemExit as exc:
    code = exc.code
print("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def loaded(args: list[str], cwd: Path, tmp_path: Path) -> tuple[str, set[str]]:
    """What `research-agent ARGS` printed and the modules it had loaded when it finished."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "80",
           "RESEARCH_AGENT_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    output, _, last = done.stdout.rstrip().rpartition("\n")
    result = json.loads(last)
    assert result["code"] in (0, None), done.stderr[-2000:]
    return output, set(result["modules"])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with one real cycle in its store (sample source, offline analyst)."""
    from agent.cycle import CycleOptions, run_cycle
    from agent.workspace import init_workspace

    path, _ = init_workspace(tmp_path_factory.mktemp("quick") / "ws")
    outcome = run_cycle(path, CycleOptions(action="scan", source="sample"))
    assert outcome.status == "committed", outcome.error
    return path


@pytest.mark.parametrize("command", ["--help", "status", "log", "tracks"])
def test_quick_commands_leave_heavy_libraries_unloaded(
    command: str, workspace: Path, tmp_path: Path
) -> None:
    output, modules = loaded([command], workspace, tmp_path)
    assert output.strip(), "the command printed nothing"
    if command == "log":
        assert "scan" in output  # it did read the store
    assert sorted(modules & HEAVY[command]) == []


def test_triage_leaves_clients_and_printing_unloaded(workspace: Path, tmp_path: Path) -> None:
    papers = tmp_path / "papers.jsonl"
    papers.write_text(json.dumps({"id": "2601.00001", "title": "Speech LLM hallucination",
                                  "abstract": "Audio language models hallucinate."}) + "\n")
    output, modules = loaded(["triage", "--papers", str(papers)], workspace, tmp_path)
    assert "2601.00001" in output
    assert sorted(modules & HEAVY["triage"]) == []
