"""Settings and tracks, resolved in one place: flag > environment > research.toml > default.

Reads `research.toml` and `state/tracks.toml`; never touches the database.
"""

from __future__ import annotations

import dataclasses
import math
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
    origins: dict[str, str] = {}  # "section.key" -> where its value came from, for errors
    merge_file_layer(layers, workspace / SETTINGS_FILE)
    for variable, (section, key) in ENVIRONMENT.items():
        if environ.get(variable):
            layers[section][key] = environ[variable]
            origins[f"{section}.{key}"] = f"environment variable {variable}"
    for dotted, value in (overrides or {}).items():
        if value is not None:
            section, _, key = dotted.rpartition(".")
            layers[section][key] = value
            origins[dotted] = f"command-line option for {dotted}"
    settings = build_settings(workspace, layers, origins)
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


def build_settings(
    workspace: Path, layers: dict[str, dict[str, Any]], origins: Mapping[str, str] | None = None
) -> Settings:
    """Typed, validated Settings from merged layers (`origins` name where values came from)."""
    origin = str(workspace / SETTINGS_FILE)
    sections = {
        name: build_section(cls, layers[name], name, origin, origins)
        for name, cls in SECTIONS.items()
    }
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
    cls: type,
    values: dict[str, Any],
    section: str,
    origin: str = SETTINGS_FILE,
    origins: Mapping[str, str] | None = None,
) -> Any:
    """One settings dataclass, with values coerced to the field types (env gives strings)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    defaults = cls()
    kwargs: dict[str, Any] = {}
    where = {key: (origins or {}).get(f"{section}.{key}", origin) for key in fields}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(
                f"{origin}: unknown setting '{section}.{key}'. "
                f"Known in [{section}]: {', '.join(sorted(fields))}."
            )
        try:
            kwargs[key] = coerce(value, getattr(defaults, key), f"{where[key]}: {section}.{key}")
        except ConfigError as exc:
            rule = RULES.get(f"{section}.{key}")
            raise ConfigError(f"{exc} Allowed: {rule[0]}." if rule else str(exc)) from None
    built = cls(**kwargs)
    check_section(built, section, where)
    return built


def check_section(values: Any, section: str, where: Mapping[str, str]) -> None:
    """Refuse values out of range, URLs that are not http(s), unknown zones and bad schedules."""
    for field in dataclasses.fields(values):
        name = f"{section}.{field.name}"
        value = getattr(values, field.name)
        origin = where[field.name]
        rule = RULES.get(name)
        if rule is not None and value is not None and not rule[1](value):
            raise ConfigError(f"{origin}: {name} = {value!r} must be {rule[0]}.")
        if is_number(value) and not math.isfinite(value):
            raise ConfigError(f"{origin}: {name} = {value!r} must be a finite number.")
        parse = PARSERS.get(name)
        if parse is not None:
            try:
                parse(value)
            except ConfigError as exc:
                raise ConfigError(f"{origin}: {name}: {exc}") from None


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def within(low: float, high: float, *, open_low: bool = False) -> Rule:
    """A number from `low` (exclusive with open_low) to `high`: every numeric setting has a
    ceiling, so `inf`, `1e12` or a typo'd extra digit is refused instead of overflowing later."""
    first = f"greater than {low:g}" if open_low else f"at least {low:g}"
    bracket = "(" if open_low else "["
    text = f"{first} and at most {high:g} (a number in {bracket}{low:g}, {high:g}])"

    def test(value: Any) -> bool:
        if not is_number(value) or not math.isfinite(value):
            return not is_number(value)  # a non-number is the coercion's business
        return (value > low if open_low else value >= low) and value <= high

    return text, test


Rule = tuple[str, Callable[[Any], bool]]
HOUR = 3600.0
HTTP_URL = ("an http:// or https:// URL", is_http_url)
# "section.field" -> (what it must be, test); checked for research.toml and the merged settings.
# Every int/float setting has a rule with a ceiling (tests/test_settings.py checks that).
RULES: dict[str, Rule] = {
    "arxiv.api_url": HTTP_URL,
    "arxiv.html_url": HTTP_URL,
    "arxiv.pdf_url": HTTP_URL,
    "arxiv.delay_seconds": within(0, 60),
    "arxiv.timeout_seconds": within(0, 600, open_low=True),
    "arxiv.max_retries": within(0, 10),
    "arxiv.overlap_days": within(0, 30),
    "arxiv.backfill_days": within(1, 365),
    "arxiv.max_results": within(1, 10_000),
    "arxiv.page_size": within(1, 2000),
    "llm.base_url": HTTP_URL,
    "llm.timeout_seconds": within(0, HOUR, open_low=True),
    "llm.max_retries": within(0, 10),
    "llm.concurrency": within(1, 64),
    "llm.daily_token_budget": within(0, 1_000_000_000),
    "llm.cycle_token_budget": within(0, 1_000_000_000),
    "learn.max_papers": within(1, 1000),
    "learn.queue_threshold": within(0, 1),
    "learn.queue_per_cycle": within(0, 100),
    "learn.memory_papers": within(0, 1000),
    "fulltext.max_bytes": within(1, 1 << 30),
    "fulltext.deadline_seconds": within(0, HOUR, open_low=True),
    "fulltext.section_tokens": within(100, 100_000),
    "fulltext.max_sections": within(1, 1000),
    "schedule.shutdown_grace": within(0, HOUR),
    "schedule.cycle_deadline": within(0, 24 * HOUR, open_low=True),  # when it is a number
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
