"""The layout promise: one module owns each vendor library; every command has help."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.cli import run_cli

AGENT = Path(__file__).resolve().parent.parent / "agent"
OWNERS = {
    "arxiv": ("agent/sources/",),
    "openai": ("agent/analyst/llm_client.py",),
    "sqlmodel": ("agent/store/",),
    "sqlalchemy": ("agent/store/",),
    "git": ("agent/journal.py",),
    "apscheduler": ("agent/daemon/",),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_each_vendor_library_is_imported_only_by_its_owner() -> None:
    root = AGENT.parent
    for path in AGENT.rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        for library in imported_modules(path) & set(OWNERS):
            assert relative.startswith(OWNERS[library]), f"{relative} imports {library}"


def test_policy_and_rendering_do_no_io() -> None:
    for path in [*sorted((AGENT / "policy").glob("*.py")), AGENT / "notes.py"]:
        imports = imported_modules(path)
        assert not imports & {"httpx", "requests", "arxiv", "openai", "sqlmodel", "git",
                              "subprocess", "socket"}, path.name


COMMANDS = [
    [], ["init"], ["cycle"], ["run"], ["status"], ["demo"], ["triage"], ["queue"],
    ["queue", "add"], ["queue", "drop"], ["rate"], ["tracks"], ["tracks", "set-priority"],
    ["tracks", "pause"], ["tracks", "resume"], ["tracks", "add"], ["log"], ["show"],
    ["digest"], ["papers"], ["papers", "search"], ["papers", "show"], ["export"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, *command, "--help")
    assert result.code == 0
    assert "Usage" in result.out
    lines = [line for line in result.out.splitlines() if line.strip()]
    assert len(lines) >= 3  # usage, a description, options


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from agent import __version__

    result = run_cli(capsys, "--version")
    assert result.code == 0 and __version__ in result.out


# Private attributes of vendor libraries: a minor release may rename or remove any of them.
# Read on a vendor object (`client._session`) or overridden in a subclass (`def _process_jobs`).
PRIVATE_VENDOR_ATTRIBUTES = (
    "_session", "_format_url", "_parse_feed", "_jobstore_alias", "_runtime_param",
)  # fmt: skip
PRIVATE_VENDOR_METHODS = (
    "_process_jobs", "_do_submit_job", "_run_job_error", "_run_job_success", "_get_run_times",
    "_format_url", "_parse_feed",
)  # fmt: skip
# The places allowed to bridge a gap in a vendor's public API, each isolated with its own test
# that fails loudly when the vendor changes: the arXiv adapter (tests/test_arxiv_faults.py) and
# typer's option conversion without pydantic (tests/test_cli_startup.py; typer pinned < 0.30).
ARXIV_ADAPTER = AGENT / "sources" / "arxiv_http.py"
TYPER_ADAPTER = AGENT / "cli" / "startup.py"


def private_vendor_uses(path: Path) -> list[str]:
    """`obj._name` uses, `def _name` overrides of the listed vendor internals, and imports of a
    vendor's private modules (`from typer._coercion import ...`).

    `self._name` and `cls._name` are the module's own attributes (the store's `_db_session()`), so
    they do not count; `self.client._session` does.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute):
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if not own and node.attr in PRIVATE_VENDOR_ATTRIBUTES + PRIVATE_VENDOR_METHODS:
                name = node.attr
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = node.name if node.name in PRIVATE_VENDOR_METHODS else None
        elif isinstance(node, ast.ImportFrom | ast.Import) and not getattr(node, "level", 0):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                alias.name for alias in node.names]
            private = [m for m in modules if m.split(".")[0] != "agent"
                       and any(part.startswith("_") for part in m.split(".")[1:])]
            name = private[0] if private else None  # a vendor's private module (typer._coercion)
        if name:
            found.append(f"{name} (line {node.lineno})")
    return found


def test_no_private_attribute_of_a_vendor_library_is_used() -> None:
    assert ARXIV_ADAPTER.exists(), "the arXiv adapter moved: update ARXIV_ADAPTER"
    assert TYPER_ADAPTER.exists(), "the typer adapter moved: update TYPER_ADAPTER"
    allowed = {ARXIV_ADAPTER, TYPER_ADAPTER}
    offenders = {
        path.relative_to(AGENT.parent).as_posix(): uses
        for path in sorted(AGENT.rglob("*.py"))
        if path not in allowed and (uses := private_vendor_uses(path))
    }
    assert offenders == {}


def runs_git_as_a_process(path: Path) -> bool:
    """Whether a module starts a process whose argument list begins with "git"."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            if isinstance(first, ast.List | ast.Tuple) and first.elts:
                head = first.elts[0]
                if isinstance(head, ast.Constant) and head.value == "git":
                    return True
            if isinstance(first, ast.Constant) and str(first.value).startswith("git "):
                return True
    return False


def test_only_the_journal_runs_git_even_as_a_subprocess() -> None:
    runners = {
        path.relative_to(AGENT.parent).as_posix()
        for path in AGENT.rglob("*.py")
        if runs_git_as_a_process(path) or "subprocess" in imported_modules(path)
    }
    assert runners <= {"agent/journal.py"}, runners


def test_one_version_string_from_pyproject_used_by_the_user_agent() -> None:
    import tomllib

    import agent
    from agent.sources import fulltext

    declared = tomllib.loads((AGENT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    version = declared["project"]["version"]
    assert agent.__version__ == version
    assert f"research-agent/{version} " in fulltext.USER_AGENT
    # Written in pyproject.toml only: the package reads it from the installed metadata.
    assert version not in (AGENT / "__init__.py").read_text(encoding="utf-8")


def agent_imports(path: Path) -> set[str]:
    """The agent modules a file imports from (`from agent.policy import x` -> "agent.policy")."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("agent.")
    }


def test_the_schedule_grammar_has_one_home() -> None:
    """Intervals, zones and active hours are parsed in agent/schedule.py: config needs no policy."""
    assert "agent.policy" not in agent_imports(AGENT / "config.py")
    zone_checks = {
        path.relative_to(AGENT).as_posix()
        for path in AGENT.rglob("*.py")
        if "ZoneInfoNotFoundError" in path.read_text(encoding="utf-8")
    }
    assert zone_checks == {"schedule.py"}


def test_utc_normalisation_has_one_home() -> None:
    """A naive datetime is taken as UTC by one function, agent.schedule.as_utc; the store keeps
    its column type's own (it imports nothing of the agent's outside store/)."""
    naive_as_utc = {
        path.relative_to(AGENT).as_posix()
        for path in AGENT.rglob("*.py")
        if "replace(tzinfo=UTC)" in path.read_text(encoding="utf-8")
        and not path.relative_to(AGENT).as_posix().startswith("store/")
    }
    assert naive_as_utc == {"schedule.py"}


def test_no_test_module_imports_another() -> None:
    """Shared helpers live in tests/*.py modules that are not tests (corpus, repo, cli, context)."""
    tests = Path(__file__).resolve().parent
    importers = {
        path.name: sorted(m for m in imported_names(path) if m.startswith("tests.test_"))
        for path in tests.glob("test_*.py")
    }
    assert {name: found for name, found in importers.items() if found} == {}


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_readme_map_names_every_module() -> None:
    """Each agent/*.py module and agent/*/ package has a row in README's "Map of the code"."""
    readme = (AGENT.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Map of the code", 1)[1].split("\n## ", 1)[0]
    modules = {f"agent/{p.name}" for p in AGENT.glob("*.py") if not p.name.startswith("__")}
    packages = {f"agent/{p.parent.name}/" for p in AGENT.glob("*/__init__.py")}
    missing = sorted(name for name in modules | packages if f"`{name}`" not in section)
    assert missing == []
