"""What the quick commands import: `--help`, `status`, `log`, `tracks` and `triage` start fast
because heavy libraries are imported only by the commands that use them, and tracks and settings
validated once are remembered (agent/memo.py). Each case runs the real entry point in a fresh
interpreter and lists the modules it loaded: a behaviour, not a timing (bench/startup.py
measures the time). typer (0.29) converts option values through pydantic; agent/cli/startup.py
converts the plain ones itself, so pydantic is on these lists too."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Never needed to read a workspace or rank a file of papers.
CLIENTS = {"openai", "arxiv", "sqlmodel", "sqlalchemy", "git", "apscheduler", "jinja2", "httpx"}
# Not needed to read the store; agent.track_rules validates a tracks file not yet seen valid.
READING = CLIENTS | {"numpy", "yaml", "tomlkit", "agent.rank.ranker", "agent.track_rules",
                     "agent.policy"}
# pydantic: typer's converter (agent/cli/startup.py); markdown_it: typer's rich help; _hashlib
# (OpenSSL) for the memo's key; logging.handlers for a log file only a cycle writes;
# importlib.resources (and tempfile with it) for the bundled defaults `init` copies.
QUICK = READING | {"pydantic", "markdown_it", "_hashlib", "logging.handlers",
                   "importlib.resources", "tempfile"}
# The morning's other pages: the digest (with the note writer it formats with) and the exports;
# agent.review's names are imported from their submodule on first use.
MORNING = {"agent.review.digest", "agent.notes", "agent.venue", "agent.review.export"}
PAGES = {"agent.review.papers", "agent.velocity"}  # the tracks' and papers' pages
# A quick command imports only the module that registers it (agent.cli.QUICK_HOMES).
CLI = {f"agent.cli.{name}" for name in ("commands", "discover", "morning", "queue", "tracks")}
HEAVY = {
    "--help": QUICK | MORNING | {"importlib.metadata", "rich", "typer.rich_utils", "agent.review",
                                 "agent.store"},
    "status": QUICK | MORNING | PAGES | CLI - {"agent.cli.commands"},  # agent.review.cycles only
    "log": QUICK | MORNING | PAGES | CLI - {"agent.cli.morning"},
    # agent.review.papers: its rows and velocity; no cycles
    "tracks": QUICK | MORNING | CLI - {"agent.cli.tracks"} | {"agent.review.cycles",
                                                              "agent.changes"},
    "triage": CLIENTS | {"rich", "yaml", "tomlkit", "agent.track_rules", "pydantic"},
}

PROBE = """
import json, sys
from agent.cli import main
try:
    main(sys.argv[1:])
    code = 0
except SystemExit as exc:
    code = exc.code
config = sys.modules.get("agent.config")  # settings validators built: none when remembered
built = config.adapter.cache_info().currsize if config else 0
text = sys.modules.get("agent.text")  # its Markdown and LaTeX patterns compiled
patterns = [name for name, value in vars(text).items()
            if isinstance(value, text.LazyPattern) and len(vars(value)) > 1] if text else []
print("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules), "validators": built,
                          "patterns": patterns}))
"""


def loaded(args: list[str], cwd: Path, tmp_path: Path,
           extra: dict[str, str] | None = None, probe: str = PROBE) -> tuple[str, set[str]]:
    """What `research-agent ARGS` printed and the modules it had loaded when it finished."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "80", "PYTHONPATH": str(ROOT),
           "RESEARCH_AGENT_CACHE": str(cwd.parent / "cache"),  # where the workspace's cycle ran
           **(extra or {})}
    done = subprocess.run([sys.executable, "-c", probe, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    output, _, last = done.stdout.rstrip().rpartition("\n")
    result = json.loads(last)
    assert result["code"] in (0, None), done.stderr[-2000:]
    assert result["validators"] == 0, "settings validated again"
    if args and args[0] in HEAVY and args[0] != "triage":
        assert result["patterns"] == [], "notes' patterns compiled"
    return output, set(result["modules"])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace with one real cycle in its store (sample source, offline analyst), run with
    the user cache beside it, as a researcher's own cycles leave it."""
    from agent.cycle import CycleOptions, run_cycle
    from agent.workspace import init_workspace

    root = tmp_path_factory.mktemp("quick")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESEARCH_AGENT_CACHE", str(root / "cache"))
        path, _ = init_workspace(root / "ws")
        outcome = run_cycle(path, CycleOptions(action="scan", source="sample"))
    assert outcome.status == "committed", outcome.error
    yield path


def test_help_leaves_heavy_libraries_unloaded(workspace: Path, tmp_path: Path) -> None:
    output, modules = loaded(["--help"], workspace, tmp_path)
    assert output.strip(), "the command printed nothing"
    assert sorted(modules & HEAVY["--help"]) == []


@pytest.mark.parametrize("args", [["status"], ["log"], ["tracks"], ["tracks", "--json"]])
def test_quick_commands_leave_heavy_libraries_unloaded_and_print_what_the_whole_tree_prints(
    args: list[str], workspace: Path, tmp_path: Path
) -> None:
    """Registered alone (agent.cli.QUICK_HOMES), a quick command loads none of its heavy
    libraries and prints what it prints with every command module imported first, as before."""
    alone, modules = loaded(args, workspace, tmp_path)
    assert alone.strip(), "the command printed nothing"
    if args[0] == "log":
        assert "scan" in alone  # it did read the store
    assert sorted(modules & HEAVY[args[0]]) == []
    every = "from agent.cli import commands, discover, morning, queue, tracks\n"
    whole, modules = loaded(args, workspace, tmp_path, probe=every + PROBE)
    assert "agent.cli.queue" in modules and alone.strip() and alone == whole


@pytest.mark.parametrize("args", [["log", "--limit", "5"], ["status", "-w", "."], ["tracks"]])
def test_option_values_are_read_without_pydantic(
    args: list[str], workspace: Path, tmp_path: Path
) -> None:
    """Values given on the command line or by RESEARCH_AGENT_WORKSPACE, not only defaults."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    output, modules = loaded(args, elsewhere if args[0] == "tracks" else workspace, tmp_path,
                             {"RESEARCH_AGENT_WORKSPACE": str(workspace),
                              "RESEARCH_AGENT_CACHE": str(workspace.parent / "cache")})
    assert output.strip(), "the command printed nothing"
    assert sorted(modules & HEAVY[args[0]]) == []


def test_triage_leaves_clients_and_printing_unloaded(workspace: Path, tmp_path: Path) -> None:
    papers = tmp_path / "papers.jsonl"
    papers.write_text(json.dumps({"id": "2601.00001", "title": "Speech LLM hallucination",
                                  "abstract": "Audio language models hallucinate."}) + "\n")
    output, modules = loaded(["triage", "--papers", str(papers)], workspace, tmp_path)
    assert "2601.00001" in output
    assert sorted(modules & HEAVY["triage"]) == []


def test_papers_search_reads_sqlite_without_sqlalchemy(workspace: Path, tmp_path: Path) -> None:
    """At a year's scale opening the full Store cost most of `papers search`: on a SQLite file
    it runs the shared search statement through the standard library's sqlite3."""
    output, modules = loaded(["papers", "search", "speech", "tokenizer", "--json"], workspace,
                             tmp_path)
    found = json.loads(output)
    assert found, "the search found nothing in the scanned sample"
    assert sorted(modules & (CLIENTS | {"pydantic"})) == []  # its words too: startup.py
    for args in (["digest", "--since", "2020-01-01"], ["papers", "show", found[0]["id"]]):
        output, modules = loaded(args, workspace, tmp_path)
        assert output and sorted(modules & (CLIENTS | {"pydantic"})) == [], args


def test_memo_keys_are_the_sha256_they_were(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The memo hashes with CPython's built-in SHA-256, not hashlib's: the same keys, so memos
    written before are still found."""
    import hashlib

    from agent.memo import FORMAT, memo_path

    monkeypatch.setenv("RESEARCH_AGENT_CACHE", str(tmp_path))
    inputs = [b"[[track]]\nid = 'x'\n", b"", "é".encode()]
    digest = hashlib.sha256(FORMAT.encode())
    for part in inputs:
        digest.update(len(part).to_bytes(8, "big") + part)
    key = digest.hexdigest()[:32]
    assert memo_path("tracks", inputs) == tmp_path / "memo" / f"tracks-{key}.json"


def test_review_names_come_from_their_submodules() -> None:
    """agent.review imports its names on first use: each is its submodule's own object, and
    `agent.review.digest` is always the submodule (the digest function lives there), whichever
    was imported first."""
    import importlib

    import agent.review as review
    import agent.review.digest

    assert review.__all__ == sorted(review.HOME)
    for name in review.__all__:
        assert getattr(review, name) is getattr(importlib.import_module(review.HOME[name]), name)
    assert review.digest is agent.review.digest and callable(agent.review.digest.digest)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        review.nothing  # noqa: B018


@pytest.mark.parametrize("name", ["status", "log", "tracks"])
def test_quick_homes_register_their_command(name: str, tmp_path: Path) -> None:
    """agent.cli.QUICK_HOMES names the module that registers each quick command: imported
    alone, it gives the app that command (a wrong entry would make it unknown)."""
    probe = ("import sys; from importlib import import_module; from agent.cli import QUICK_HOMES, "
             "app; from agent.cli.startup import named; "
             "import_module('agent.cli.' + QUICK_HOMES[sys.argv[1]]); "
             "assert named(app, sys.argv[1]) is not None")
    done = subprocess.run([sys.executable, "-c", probe, name], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
