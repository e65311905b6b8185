"""`state/tracks.toml`: load and validate the researcher's tracks; edit them keeping comments.

The file is the source of truth and is re-read every cycle. A broken file stops the command with
a message naming the file, the track and the field; nothing is changed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from agent.errors import ConfigError
from agent.files import write_atomic
from agent.models import Track

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
REQUIRED = {"id": str, "name": str, "priority": int, "description": str, "keywords": list}
OPTIONAL = {"active": bool, "exclude": list, "categories": list}
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


def validate_track(entry: Any, index: int, path: Path | str) -> Track:
    """One [[track]] table as a Track, or a ConfigError naming the track and the field."""
    label = f"[[track]] #{index}"
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        label = f"track '{entry['id']}'"
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}: {label} must be a table.")
    for key in entry:
        if key not in REQUIRED and key not in OPTIONAL:
            known = ", ".join([*REQUIRED, *OPTIONAL])
            raise ConfigError(f"{path}: {label}: unknown field '{key}'. Known fields: {known}.")
    for key, kind in {**REQUIRED, **OPTIONAL}.items():
        if key not in entry:
            if key in REQUIRED:
                raise ConfigError(f"{path}: {label}: missing field '{key}'.")
            continue
        check_type(entry[key], kind, key, label, path)
    check_values(entry, label, path)
    return Track(
        id=entry["id"],
        name=entry["name"].strip(),
        description=" ".join(entry["description"].split()),
        keywords=tuple(k.strip() for k in entry["keywords"] if k.strip()),
        priority=entry["priority"],
        exclude=tuple(k.strip() for k in entry.get("exclude", []) if k.strip()),
        categories=tuple(entry.get("categories", [])),
        active=entry.get("active", True),
    )


def check_type(value: Any, kind: type, key: str, label: str, path: Path | str) -> None:
    """Raise unless `value` has the expected TOML type (lists must hold strings)."""
    wrong = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
    if kind is list and not wrong:
        wrong = not all(isinstance(item, str) for item in value)
    if wrong:
        expected = {
            str: "a string",
            int: "an integer",
            bool: "true or false",
            list: "a list of strings",
        }[kind]
        raise ConfigError(f"{path}: {label}: field '{key}' must be {expected}, got {value!r}.")


def check_values(entry: dict[str, Any], label: str, path: Path | str) -> None:
    """Value rules beyond types: slug ids, priority range, non-empty text, category shape."""
    if not SLUG.match(entry["id"]):
        raise ConfigError(
            f"{path}: {label}: field 'id' must be a slug (lowercase letters, digits, '-'), "
            f"got {entry['id']!r}."
        )
    if not 1 <= entry["priority"] <= 5:
        raise ConfigError(
            f"{path}: {label}: field 'priority' must be 1 (background) .. 5 (top), "
            f"got {entry['priority']}."
        )
    for key in ("name", "description"):
        if not entry[key].strip():
            raise ConfigError(f"{path}: {label}: field '{key}' is empty.")
    if not any(k.strip() for k in entry["keywords"]):
        raise ConfigError(f"{path}: {label}: field 'keywords' needs at least one keyword.")
    for category in entry.get("categories", []):
        if not CATEGORY.match(category):
            raise ConfigError(
                f"{path}: {label}: field 'categories' has {category!r}, not an arXiv category "
                "like 'cs.CL' or 'eess.AS'."
            )


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
            return table
    known = ", ".join(str(t.get("id")) for t in tables)
    raise ConfigError(f"{path}: no track with id '{track_id}'. Known ids: {known}.")


def write_validated(path: Path, document: Any, track_id: str) -> Track:
    """Validate the edited document, then replace the file atomically (never half-written)."""
    text = tomlkit.dumps(document)
    tracks = parse_tracks(text, path)
    write_atomic(path, text)
    return next(t for t in tracks if t.id == track_id)
