"""`state/tracks.toml`: load and validate the researcher's tracks; edit them keeping comments.

The file is the source of truth and is re-read every cycle. A broken file stops the command with
a message naming the file, the track and the field; nothing is changed. The rules are the pydantic
model `TrackEntry` (agent/track_rules.py); a file's validated tracks are remembered by its bytes
(agent/memo.py), so commands that only read it do not import pydantic.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from agent.errors import ConfigError
from agent.files import write_atomic
from agent.memo import recall, remember, source_of
from agent.models import Track

if TYPE_CHECKING:
    from tomlkit.items import Table

# the modules whose rules decide what a tracks file means (part of a memo's key)
RULE_MODULES = ("agent.tracks", "agent.track_rules", "agent.models")


def load_tracks(path: Path) -> list[Track]:
    """Every track in the file (active or not), validated."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the tracks file ({exc.strerror}).") from exc
    return parse_tracks(text, path)


def parse_tracks(text: str, path: Path | str = "tracks.toml") -> list[Track]:
    """Validated tracks from the text of a tracks file (remembered once valid)."""
    inputs = [text.encode("utf-8"), source_of(*RULE_MODULES)]
    known = recall("tracks", inputs)
    if isinstance(known, list):
        try:
            return [remembered_track(entry) for entry in known]
        except (TypeError, AttributeError):  # not a memo this version wrote: validate again
            pass
    tracks = validate_tracks(text, path)
    remember("tracks", inputs, [asdict(track) for track in tracks])
    return tracks


def remembered_track(entry: dict[str, Any]) -> Track:
    """A Track from its remembered JSON (lists back to tuples)."""
    fields: dict[str, Any] = {
        key: tuple(value) if isinstance(value, list) else value for key, value in entry.items()
    }
    return Track(**fields)


def validate_tracks(text: str, path: Path | str) -> list[Track]:
    """The tracks of a file's text, checked against every rule."""
    from agent.track_rules import validate_track  # pydantic: only for a file not seen valid

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


def active_tracks(tracks: Sequence[Track]) -> list[Track]:
    """The tracks the agent works on this cycle, highest priority first."""
    return sorted((t for t in tracks if t.active), key=lambda t: (-t.priority, t.id))


# --- editing (tomlkit keeps the user's comments and layout) -----------------------------------


def edit_track(path: Path, track_id: str, **changes: Any) -> tuple[Track, dict[str, Any]]:
    """Change fields of one track in place; returns the new track and the old values changed."""
    import tomlkit  # for editing only: reading the tracks (`status`, `tracks`) needs tomllib

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
    import tomlkit
    from tomlkit.items import AoT

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
            return cast("Table", table)  # document is tomlkit's, untyped
    known = ", ".join(str(t.get("id")) for t in tables)
    raise ConfigError(f"{path}: no track with id '{track_id}'. Known ids: {known}.")


def write_validated(path: Path, document: Any, track_id: str) -> Track:
    """Validate the edited document, then replace the file atomically (never half-written)."""
    import tomlkit

    text = tomlkit.dumps(document)
    tracks = parse_tracks(text, path)
    write_atomic(path, text)
    return next(t for t in tracks if t.id == track_id)
