"""`state/tracks.toml`: load and validate the researcher's tracks; edit them keeping comments.

The file is the source of truth and is re-read every cycle. A broken file stops the command with
a message naming the file, the track and the field; nothing is changed. The rules are the pydantic
model `TrackEntry`; `track_problem` puts its errors in those words.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, cast, get_origin

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from tomlkit.items import AoT, Table

from agent.errors import ConfigError
from agent.files import write_atomic
from agent.models import Track

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
CATEGORY = re.compile(r"^[a-z\-]+(\.[A-Za-z\-]+)?$")


def load_tracks(path: Path) -> list[Track]:
    """Every track in the file (active or not), validated."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the tracks file ({exc.strerror}).") from exc
    return parse_tracks(text, path)


def parse_tracks(text: str, path: Path | str = "tracks.toml") -> list[Track]:
    """Validated tracks from the text of a tracks file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}. Fix that line and run again.") from exc
    unknown = set(data) - {"track"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown top-level key '{sorted(unknown)[0]}'; tracks are [[track]] tables."
        )
    entries = data.get("track", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            f"{path}: no [[track]] found. Add at least one track (see `research-agent init`)."
        )
    tracks = [validate_track(entry, index, path) for index, entry in enumerate(entries, start=1)]
    seen: set[str] = set()
    for track in tracks:
        if track.id in seen:
            raise ConfigError(f"{path}: duplicate track id '{track.id}'. Each id must be unique.")
        seen.add(track.id)
    return tracks


class TrackEntry(BaseModel):
    """One [[track]] table as written: TOML types exactly (strict), unknown fields refused.
    `description` on a field is what the message says it must be."""

    model_config = ConfigDict(strict=True, extra="forbid")

    id: Annotated[
        str, Field(pattern=SLUG.pattern, description="a slug (lowercase letters, digits, '-')")
    ]
    name: str
    priority: Annotated[int, Field(ge=1, le=5, description="1 (background) .. 5 (top)")]
    description: str
    keywords: list[str]
    active: bool = True
    exclude: list[str] = []
    categories: list[Annotated[str, Field(pattern=CATEGORY.pattern)]] = []

    @field_validator("name", "description")
    @classmethod
    def not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty")
        return value

    @field_validator("keywords")
    @classmethod
    def some_keyword(cls, value: list[str]) -> list[str]:
        if not any(k.strip() for k in value):
            raise ValueError("needs at least one keyword")
        return value

    def track(self) -> Track:
        """The Track the agent works with: text trimmed, blank keywords dropped."""
        return Track(
            id=self.id,
            name=self.name.strip(),
            description=" ".join(self.description.split()),
            keywords=tuple(k.strip() for k in self.keywords if k.strip()),
            priority=self.priority,
            exclude=tuple(k.strip() for k in self.exclude if k.strip()),
            categories=tuple(self.categories),
            active=self.active,
        )


KINDS: dict[Any, str] = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    list: "a list of strings",
}
OUT_OF_RULE = {"string_pattern_mismatch", "greater_than_equal", "less_than_equal"}


def validate_track(entry: Any, index: int, path: Path | str) -> Track:
    """One [[track]] table as a Track, or a ConfigError naming the track and the field."""
    label = f"[[track]] #{index}"
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        label = f"track '{entry['id']}'"
    try:
        return TrackEntry.model_validate(entry).track()
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        raise ConfigError(f"{path}: {label}{track_problem(errors[0], entry)}") from None


def track_problem(error: Any, entry: Any) -> str:
    """Pydantic's error in today's words (after "path: track 'id'")."""
    key = str(error["loc"][0]) if error["loc"] else ""
    kind, value = error["type"], error["input"]
    if not key:
        return " must be a table."
    if kind == "extra_forbidden":
        return f": unknown field '{key}'. Known fields: {', '.join(TrackEntry.model_fields)}."
    if kind == "missing":
        return f": missing field '{key}'."
    if kind == "value_error":
        return f": field '{key}' {error['ctx']['error']}."
    if kind in OUT_OF_RULE and key == "categories":
        return (
            f": field 'categories' has {value!r}, not an arXiv category like 'cs.CL' or 'eess.AS'."
        )
    rule = TrackEntry.model_fields[key].description
    if kind in OUT_OF_RULE and rule:
        return f": field '{key}' must be {rule}, got {value!r}."
    annotation = TrackEntry.model_fields[key].annotation
    expected = KINDS[get_origin(annotation) or annotation]
    return f": field '{key}' must be {expected}, got {entry[key]!r}."


def active_tracks(tracks: Sequence[Track]) -> list[Track]:
    """The tracks the agent works on this cycle, highest priority first."""
    return sorted((t for t in tracks if t.active), key=lambda t: (-t.priority, t.id))


# --- editing (tomlkit keeps the user's comments and layout) -----------------------------------


def edit_track(path: Path, track_id: str, **changes: Any) -> tuple[Track, dict[str, Any]]:
    """Change fields of one track in place; returns the new track and the old values changed."""
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    table = find_table(document, track_id, path)
    old = {key: table.get(key) for key in changes}
    for key, value in changes.items():
        if key == "active" and value is True:
            # true is the default: removing the key makes pause + resume give back the file
            table.pop(key, None)
        else:
            table[key] = value
    return write_validated(path, document, track_id), old


def add_track(path: Path, track: Track) -> Track:
    """Append a new [[track]]; refuses a duplicate id."""
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    tables = document.get("track")
    if tables is None:
        tables = AoT([])
        document.append("track", tables)
    table = tomlkit.table()
    if not tomlkit.dumps(document).endswith("\n\n"):
        table.trivia.indent = "\n"  # a blank line before the new [[track]], like the others
    table.update(
        {
            "id": track.id,
            "name": track.name,
            "priority": track.priority,
            "description": track.description,
            "keywords": list(track.keywords),
        }
    )
    if track.exclude:
        table["exclude"] = list(track.exclude)
    if track.categories:
        table["categories"] = list(track.categories)
    if not track.active:
        table["active"] = False
    tables.append(table)
    return write_validated(path, document, track.id)


def find_table(document: Any, track_id: str, path: Path) -> Table:
    """The [[track]] table with this id, or a ConfigError listing the known ids."""
    tables = document.get("track") or []
    for table in tables:
        if table.get("id") == track_id:
            return cast(Table, table)  # document is tomlkit's, untyped
    known = ", ".join(str(t.get("id")) for t in tables)
    raise ConfigError(f"{path}: no track with id '{track_id}'. Known ids: {known}.")


def write_validated(path: Path, document: Any, track_id: str) -> Track:
    """Validate the edited document, then replace the file atomically (never half-written)."""
    text = tomlkit.dumps(document)
    tracks = parse_tracks(text, path)
    write_atomic(path, text)
    return next(t for t in tracks if t.id == track_id)
