"""Jinja2 templates from `prompts/`: a workspace's own file overrides the shipped one."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from agent.workspace import Workspace


def shipped_prompts_dir() -> Path:
    """The prompts shipped with the package.

    In the checkout `agent/prompts` is a symlink to the top-level `prompts/` (one source of truth,
    where a user looks for them); a built wheel carries the files themselves.
    """
    return Path(str(resources.files("agent") / "prompts"))


def template_dirs(workspace: Path | None) -> list[Path]:
    """Search order: the workspace's prompts/ first, then the shipped ones."""
    dirs = []
    if workspace is not None and Workspace(workspace).prompts_dir.is_dir():
        dirs.append(Workspace(workspace).prompts_dir)
    shipped = shipped_prompts_dir()
    if shipped not in dirs:
        dirs.append(shipped)
    return dirs


class CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once per process, not at every render.

    Compiling a template is what rendering one costs (~0.1 s for the note, for each note and each
    LLM prompt), while a fresh `Environment` per render keeps each caller's filters its own. The
    code is kept by template name and file and reused only while the file's text is the same
    (jinja checks a checksum of the source), so an edited prompt is compiled again.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # ignored (reset) if the source changed

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


def render_template(
    name: str,
    workspace: Path | None,
    filters: dict[str, Callable[..., Any]] | None = None,
    **context: Any,
) -> str:
    """Render `prompts/<name>` with StrictUndefined (a typo in a template fails loudly)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(workspace)]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Markdown, not HTML: callers escape data with their own filters
        bytecode_cache=COMPILED,
    )
    env.filters.update(filters or {})
    return env.get_template(name).render(**context)
