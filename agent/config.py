"""Settings and tracks, resolved in one place: flag > environment > research.toml > default.

Reads `research.toml` and `state/tracks.toml`; never touches the database.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.errors import ConfigError, WorkspaceError
from agent.settings import (
    ArxivSettings,
    FulltextSettings,
    LearnSettings,
    LLMSettings,
    ScheduleSettings,
    Settings,
)

SETTINGS_FILE = "research.toml"

# environment variable -> (section, key): a public interface, documented in the README
ENVIRONMENT = {
    "ARXIV_API_URL": ("arxiv", "api_url"),
    "ARXIV_HTML_URL": ("arxiv", "html_url"),
    "ARXIV_PDF_URL": ("arxiv", "pdf_url"),
    "ARXIV_DELAY_SECONDS": ("arxiv", "delay_seconds"),
    "OPENAI_BASE_URL": ("llm", "base_url"),
    "OPENAI_API_KEY": ("llm", "api_key"),
    "RESEARCH_AGENT_MODEL": ("llm", "model"),
    "DATABASE_URL": ("", "database_url"),
}

SECTIONS: dict[str, type] = {
    "arxiv": ArxivSettings,
    "llm": LLMSettings,
    "learn": LearnSettings,
    "fulltext": FulltextSettings,
    "schedule": ScheduleSettings,
}
TOP_LEVEL = {"researcher", "database_url"}


def resolve_workspace(path: Path | str | None) -> Path:
    """The workspace directory: the flag, else RESEARCH_AGENT_WORKSPACE, else the current dir."""
    chosen = path or os.environ.get("RESEARCH_AGENT_WORKSPACE") or "."
    workspace = Path(chosen).expanduser().resolve()
    if not (workspace / "state" / "tracks.toml").is_file():
        raise WorkspaceError(
            f"{workspace} is not a research-agent workspace (no state/tracks.toml). "
            "Create one with `research-agent init DIR`, or pass --workspace DIR."
        )
    return workspace


def load_settings(
    workspace: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings of a workspace; `overrides` are flags as {"section.key": value}."""
    environ = os.environ if environ is None else environ
    layers: dict[str, dict[str, Any]] = {name: {} for name in ("", *SECTIONS)}
    merge_file_layer(layers, workspace / SETTINGS_FILE)
    for variable, (section, key) in ENVIRONMENT.items():
        if environ.get(variable):
            layers[section][key] = environ[variable]
    for dotted, value in (overrides or {}).items():
        if value is not None:
            section, _, key = dotted.rpartition(".")
            layers[section][key] = value
    return build_settings(workspace, layers)


def merge_file_layer(layers: dict[str, dict[str, Any]], path: Path) -> None:
    """Fold research.toml into the layers, refusing unknown keys and inline secrets."""
    if not path.is_file():
        return
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}. Fix the line it names.") from exc
    for key, value in data.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [{key}] must be a table.")
            layers[key].update(value)
        elif key in TOP_LEVEL:
            layers[""][key] = value
        else:
            raise ConfigError(
                f"{path}: unknown setting '{key}'. "
                f"Known: {', '.join(sorted(TOP_LEVEL | set(SECTIONS)))}."
            )
    if "api_key" in layers["llm"]:
        raise ConfigError(
            f"{path}: [llm] api_key must not be written in research.toml (it is committed to git). "
            "Set OPENAI_API_KEY, or name a file holding the key with api_key_file."
        )
    key_file = layers["llm"].pop("api_key_file", None)
    for name, cls in SECTIONS.items():  # a bad value in the file is an error even if overridden
        build_section(cls, layers[name], name, str(path))
    if key_file:
        layers["llm"]["api_key"] = read_key_file(path, Path(str(key_file)).expanduser())


def read_key_file(settings_path: Path, key_path: Path) -> str:
    """The API key from the file research.toml names (the key itself never enters that file)."""
    if not key_path.is_absolute():
        key_path = settings_path.parent / key_path
    try:
        return key_path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"{settings_path}: [llm] api_key_file {key_path} cannot be read ({exc.strerror})."
        ) from exc


def build_settings(workspace: Path, layers: dict[str, dict[str, Any]]) -> Settings:
    """Typed, validated Settings from merged layers."""
    sections = {name: build_section(cls, layers[name], name) for name, cls in SECTIONS.items()}
    top = layers[""]
    database_url = str(top.get("database_url") or f"sqlite:///{workspace / 'state' / 'agent.db'}")
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:////"):
        relative = database_url.removeprefix("sqlite:///")
        if relative and not Path(relative).is_absolute() and not relative.startswith(":memory:"):
            database_url = f"sqlite:///{workspace / relative}"
    return Settings(
        workspace=workspace,
        database_url=database_url,
        researcher=str(top.get("researcher") or "the researcher"),
        **sections,
    )


def build_section(
    cls: type, values: dict[str, Any], section: str, origin: str = SETTINGS_FILE
) -> Any:
    """One settings dataclass, with values coerced to the field types (env gives strings)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    defaults = cls()
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(
                f"{origin}: unknown setting '{section}.{key}'. "
                f"Known in [{section}]: {', '.join(sorted(fields))}."
            )
        kwargs[key] = coerce(value, getattr(defaults, key), f"{origin}: {section}.{key}")
    return cls(**kwargs)


def coerce(value: Any, default: Any, name: str) -> Any:
    """Convert a setting to the type of its default, with an error naming the setting."""
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return bool(value)
        if isinstance(default, int) and not isinstance(value, bool):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except (TypeError, ValueError) as exc:
        kind = {"int": "a whole number", "float": "a number", "bool": "true or false"}.get(
            type(default).__name__, type(default).__name__
        )
        raise ConfigError(f"{name} = {value!r} must be {kind}.") from exc
    return (
        None
        if value is None
        else str(value)
        if default is None or isinstance(default, str)
        else value
    )
