"""Settings and tracks, resolved in one place: flag > environment > research.toml > default.

Reads `research.toml` and `state/tracks.toml`; never touches the database.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints
from urllib.parse import urlsplit

from agent.errors import ConfigError
from agent.logs import register_secret
from agent.memo import recall, remember, source_of
from agent.schedule import load_timezone, parse_active_hours, parse_every
from agent.settings import (
    ArxivSettings,
    Bounds,
    FulltextSettings,
    LearnSettings,
    LLMSettings,
    ScheduleSettings,
    Settings,
)
from agent.workspace import resolve_workspace  # noqa: F401  (moved there; still importable here)

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
# the modules whose rules decide what a research.toml means (part of a memo's key)
RULE_MODULES = ("agent.config", "agent.settings", "agent.schedule")

if TYPE_CHECKING:
    from pydantic import TypeAdapter


def load_settings(
    workspace: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings of a workspace; `overrides` are flags as {"section.key": value}.

    Inputs validated once are remembered (agent/memo.py) without the API key, which is read
    again each time from the environment or its key file and never validated."""
    environ = os.environ if environ is None else environ
    inputs = memo_inputs(workspace, overrides, environ)
    known = recall("settings", inputs)
    if isinstance(known, dict):
        try:
            return remembered_settings(known, workspace, overrides, environ)
        except (KeyError, TypeError, AttributeError):  # not a memo this version wrote
            pass
    settings = validate_settings(workspace, overrides, environ)
    if urlsplit(settings.database_url).password is None:  # a password stays out of the cache
        public = dataclasses.asdict(dataclasses.replace(
            settings, llm=dataclasses.replace(settings.llm, api_key=None)))
        public.pop("workspace")
        public["api_key_file"] = key_file_of(workspace / SETTINGS_FILE)
        remember("settings", inputs, public)
    return settings


def memo_inputs(
    workspace: Path, overrides: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> list[bytes]:
    """Everything settings depend on except the API key: the file, variables, flags, rules."""
    path = workspace / SETTINGS_FILE
    text = path.read_bytes() if path.is_file() else b"(none)"
    variables = {name: environ.get(name) for name in ENVIRONMENT if name != "OPENAI_API_KEY"}
    flags = {key: value for key, value in (overrides or {}).items() if key != "llm.api_key"}
    context = json.dumps([str(workspace), variables, flags], sort_keys=True, default=str)
    return [text, context.encode("utf-8"), source_of(*RULE_MODULES)]


def remembered_settings(
    data: dict[str, Any],
    workspace: Path,
    overrides: Mapping[str, Any] | None,
    environ: Mapping[str, str],
) -> Settings:
    """Settings from their memo, with the API key read as `validate_settings` reads it."""
    key_file, key = data["api_key_file"], None
    if key_file:  # an unreadable key file is the same error as on the first read
        key = read_key_file(workspace / SETTINGS_FILE, Path(key_file).expanduser())
    if environ.get("OPENAI_API_KEY"):
        key = environ["OPENAI_API_KEY"]
    if (overrides or {}).get("llm.api_key") is not None:
        key = str((overrides or {})["llm.api_key"])
    sections = {name: cls(**data[name]) for name, cls in SECTIONS.items()}
    sections["llm"] = dataclasses.replace(sections["llm"], api_key=key)
    register_secret(key)
    return Settings(workspace=workspace, database_url=data["database_url"],
                    researcher=data["researcher"], **sections)


def key_file_of(path: Path) -> str | None:
    """The `[llm] api_key_file` research.toml names (a path, not the key), if any."""
    if not path.is_file():
        return None
    named = tomllib.loads(path.read_text(encoding="utf-8")).get("llm", {}).get("api_key_file")
    return str(named) if named else None


def validate_settings(
    workspace: Path, overrides: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> Settings:
    """Settings merged from every layer and checked against every rule (pydantic)."""
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
    """One settings dataclass, validated by pydantic against the rules on its fields (settings.py);
    strings from the environment become numbers. Errors name the origin, setting and range."""
    from pydantic import ValidationError

    where = {f.name: (origins or {}).get(f"{section}.{f.name}", origin) for f in fields(cls)}
    try:
        built = adapter(cls).validate_python(values)
    except ValidationError as exc:
        raise section_error(exc.errors()[0], cls, section, where, origin) from None
    for key, parse in PARSERS.get(section, {}).items():
        try:
            parse(getattr(built, key))
        except ConfigError as exc:
            raise ConfigError(f"{where[key]}: {section}.{key}: {exc}") from None
    return built


def section_error(
    error: Any, cls: type, section: str, where: Mapping[str, str], origin: str
) -> ConfigError:
    """Today's message for pydantic's first error: file or variable, setting, value, range."""
    key = str(error["loc"][0]) if error["loc"] else ""
    name, value = f"{section}.{key}", error["input"]
    if error["type"] in ("unexpected_keyword_argument", "extra_forbidden") or key not in where:
        return ConfigError(
            f"{origin}: unknown setting '{name}'. "
            f"Known in [{section}]: {', '.join(sorted(where))}."
        )
    rule = numeric_rules().get(name)
    if error["type"] == "value_error":  # a rule with its own words (an http(s) URL)
        return ConfigError(f"{where[key]}: {name} = {value!r} must be {error['ctx']['error']}.")
    if rule is not None and error["type"] in OUT_OF_RANGE:
        return ConfigError(f"{where[key]}: {name} = {value!r} must be {rule[0]}.")
    default = getattr(cls(), key)
    kind = {int: "a whole number", float: "a number", bool: "true or false"}.get(
        type(default), "a string"
    )
    allowed = f" Allowed: {rule[0]}." if rule else ""
    return ConfigError(f"{where[key]}: {name} = {value!r} must be {kind}.{allowed}")


@cache
def adapter(kind: Any) -> TypeAdapter[Any]:
    """A pydantic validator for a settings dataclass or one field's type, built on first use."""
    from pydantic import TypeAdapter

    return TypeAdapter(kind)


OUT_OF_RANGE = {"greater_than", "greater_than_equal", "less_than_equal", "finite_number"}


@cache
def numeric_rules() -> dict[str, Rule]:
    """"section.field" -> (what it must be, test), read from the `Field` bounds in settings.py,
    for messages; the test validates through pydantic, as loading does."""
    rules: dict[str, Rule] = {}
    for section, cls in SECTIONS.items():
        hints = get_type_hints(cls, include_extras=True)
        for item in fields(cls):
            bounds = {
                name: value
                for info in getattr(hints[item.name], "__metadata__", ())
                if isinstance(info, Bounds)
                for name, value in (("gt" if info.open_low else "ge", info.low), ("le", info.high))
            }
            if "le" in bounds:
                rules[f"{section}.{item.name}"] = (describe(bounds), field_test(hints[item.name]))
    return rules


def describe(bounds: Mapping[str, float]) -> str:
    open_low = "gt" in bounds
    low, high = bounds.get("gt", bounds.get("ge", 0)), bounds["le"]
    first = f"greater than {low:g}" if open_low else f"at least {low:g}"
    bracket = "(" if open_low else "["
    return f"{first} and at most {high:g} (a number in {bracket}{low:g}, {high:g}])"


def field_test(hint: Any) -> Callable[[Any], bool]:
    from pydantic import AllowInfNan, ValidationError

    def test(value: Any) -> bool:
        try:
            adapter(Annotated[hint, AllowInfNan(False)]).validate_python(value)
        except ValidationError:
            return False
        return True

    return test


Rule = tuple[str, Callable[[Any], bool]]


def __getattr__(name: str) -> Any:
    """`RULES`, read from settings.py on first use (keeps `import agent.config` cheap).
    Every int/float setting has a range with a ceiling (tests/test_settings.py checks that)."""
    if name == "RULES":
        return numeric_rules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
# Settings whose text is parsed further (by the same functions the scheduler uses).
PARSERS: dict[str, dict[str, Callable[[Any], object]]] = {
    "schedule": {
        "timezone": load_timezone,
        "active_hours": parse_active_hours,
        "every": parse_every,
    },
}
