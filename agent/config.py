"""Settings and tracks, resolved in one place: flag > environment > research.toml > default.

Reads `research.toml` and `state/tracks.toml`; never touches the database.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent.errors import ConfigError, WorkspaceError
from agent.logs import register_secret
from agent.schedule import load_timezone, parse_active_hours, parse_every
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
    """The workspace directory: the flag, else RESEARCH_AGENT_WORKSPACE, else the current
    directory or the nearest parent that is a workspace (as git finds its repository)."""
    from agent.workspace import find_workspace

    chosen = path or os.environ.get("RESEARCH_AGENT_WORKSPACE")
    workspace = Path(chosen or ".").expanduser().resolve()
    if chosen is None:
        workspace = find_workspace(workspace) or workspace
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
    settings = build_settings(workspace, layers)
    # Keys of any shape (gsk_..., hex) are redacted from logs, not only the "sk-" ones.
    register_secret(settings.llm.api_key)
    return settings


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
        key = key_path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"{settings_path}: [llm] api_key_file {key_path} cannot be read ({exc.strerror})."
        ) from exc
    register_secret(key)
    return key


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
    built = cls(**kwargs)
    check_section(built, section, origin)
    return built


def check_section(values: Any, section: str, origin: str) -> None:
    """Refuse values out of range, URLs that are not http(s), unknown zones and bad schedules."""
    for field in dataclasses.fields(values):
        name = f"{section}.{field.name}"
        value = getattr(values, field.name)
        rule = RULES.get(name)
        if rule is not None and value is not None and not rule[1](value):
            raise ConfigError(f"{origin}: {name} = {value!r} must be {rule[0]}.")
        parse = PARSERS.get(name)
        if parse is not None:
            try:
                parse(value)
            except ConfigError as exc:
                raise ConfigError(f"{origin}: {name}: {exc}") from None


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def at_least(low: float) -> tuple[str, Callable[[Any], bool]]:
    return f">= {low:g}", lambda v: v >= low


def above(low: float) -> tuple[str, Callable[[Any], bool]]:
    return f"> {low:g}", lambda v: v > low


def between(low: float, high: float) -> tuple[str, Callable[[Any], bool]]:
    return f"between {low:g} and {high:g}", lambda v: low <= v <= high


def over_and_up_to(low: float, high: float) -> tuple[str, Callable[[Any], bool]]:
    return f"> {low:g} and at most {high:g}", lambda v: low < v <= high


HTTP_URL = ("an http:// or https:// URL", is_http_url)
# "section.field" -> (what it must be, test); checked for research.toml and the merged settings.
RULES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "arxiv.api_url": HTTP_URL,
    "arxiv.html_url": HTTP_URL,
    "arxiv.pdf_url": HTTP_URL,
    "arxiv.delay_seconds": between(0, 60),
    "arxiv.timeout_seconds": over_and_up_to(0, 600),
    "arxiv.max_retries": between(0, 10),
    "arxiv.overlap_days": between(0, 30),
    "arxiv.backfill_days": between(1, 365),
    "arxiv.max_results": between(1, 10000),
    "arxiv.page_size": between(1, 2000),
    "llm.base_url": HTTP_URL,
    "llm.timeout_seconds": over_and_up_to(0, 3600),
    "llm.max_retries": between(0, 10),
    "llm.concurrency": between(1, 64),
    "llm.daily_token_budget": between(0, 1_000_000_000),
    "llm.cycle_token_budget": between(0, 1_000_000_000),
    "learn.max_papers": at_least(1),
    "learn.queue_threshold": between(0, 1),
    "learn.queue_per_cycle": at_least(0),
    "learn.memory_papers": at_least(0),
    "fulltext.max_bytes": between(1, 1024**3),
    "fulltext.deadline_seconds": over_and_up_to(0, 3600),
    "fulltext.section_tokens": between(100, 100_000),
    "fulltext.max_sections": between(1, 1000),
    "schedule.shutdown_grace": at_least(0),
    "schedule.cycle_deadline": over_and_up_to(0, 86_400),
}
PARSERS: dict[str, Callable[[Any], object]] = {
    "schedule.timezone": load_timezone,
    "schedule.active_hours": parse_active_hours,
    "schedule.every": parse_every,
}


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
    except (TypeError, ValueError, OverflowError) as exc:  # int(inf) overflows
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
