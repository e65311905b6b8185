"""The workspace layout has one home: only agent/workspace.py spells where a file lives."""

from __future__ import annotations

import ast
from pathlib import Path

from agent.workspace import (
    CYCLES_INDEX_FILE,
    KNOWLEDGE_GRAPH_FILE,
    TRACKS_FILE,
    VIEW_FILES,
    Workspace,
    init_workspace,
)

AGENT = Path(__file__).resolve().parent.parent / "agent"
# Names of the layout: a path built from one of these (`root / "state"`) or a relative path
# of the layout ("state/tracks.toml") outside agent/workspace.py is a second home for it.
PARTS = {"research.toml", "state", "cycles", "prompts", "tracks.toml", "knowledge-graph.md",
         "agent.db", "README.md", "cache", "agent.log", "daemon.json"}
# Where spelling them is the point, each with its reason.
ALLOWED = {
    "agent/workspace.py": PARTS,  # the home
    "agent/config.py": PARTS,  # builds the settings: the default database_url and research.toml
    "agent/settings.py": {"state", "cycles", "tracks.toml", "cache"},  # Settings' own shortcuts
    "agent/templates.py": {"prompts"},  # the prompts shipped inside the package, not the workspace
}


def layout_literals(root: Path) -> list[str]:
    """`file:line literal` for each layout name used as a path outside its allowed modules."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = f"agent/{path.relative_to(root).as_posix()}"
        allowed = ALLOWED.get(relative, set())
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            operands: list[ast.expr] = []
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                operands = [node.left, node.right]  # `workspace / "state"`
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                first, _, rest = node.value.partition("/")
                if rest and first in PARTS and rest.split("/")[-1] in PARTS:
                    operands = [node]  # "state/tracks.toml"
            for operand in operands:
                if not (isinstance(operand, ast.Constant) and isinstance(operand.value, str)):
                    continue
                names = set(operand.value.split("/")) & PARTS
                if names - allowed:
                    found.append(f"{relative}:{operand.lineno} {operand.value!r}")
    return found


def test_only_the_workspace_module_spells_the_layout() -> None:
    assert layout_literals(AGENT) == []


def test_the_check_catches_a_spelled_path(tmp_path: Path) -> None:
    (tmp_path / "status.py").write_text(
        'from pathlib import Path\nTRACKS = "state/tracks.toml"\n'
        'def f(root: Path) -> Path:\n    return root / "cycles"\n', encoding="utf-8")
    assert layout_literals(tmp_path) == ["agent/status.py:2 'state/tracks.toml'",
                                         "agent/status.py:4 'cycles'"]


def test_workspace_paths_are_the_files_init_creates(tmp_path: Path) -> None:
    root, _ = init_workspace(tmp_path / "radar")
    space = Workspace(root)
    for path in (space.settings_file, space.tracks_file, space.knowledge_graph, space.cycles_index):
        assert path.is_file(), path
    assert (space.state_dir, space.cycles_dir) == (root / "state", root / "cycles")
    assert VIEW_FILES == (KNOWLEDGE_GRAPH_FILE, CYCLES_INDEX_FILE)
    assert space.path(TRACKS_FILE) == space.tracks_file
    # settings come from config.py, read once; the store is the one they name
    assert space.settings is space.settings
    assert space.settings.database_url == f"sqlite:///{space.default_database}"
    assert space.settings.tracks_path == space.tracks_file
    with space.open_store() as store:
        assert store.count_papers() == 0
    with space.open_reader() as reader:
        assert reader.recent_cycles() == []
