"""The rules of a `[[track]]` table (the pydantic model `TrackEntry`), and their errors in
today's words. Imported by agent/tracks.py only when a tracks file must be validated: pydantic is
slow to import, and a file validated once is remembered (agent/memo.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.errors import ConfigError
from agent.models import Track

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
CATEGORY_PATTERN = r"^[a-z\-]+(\.[A-Za-z\-]+)?$"


class TrackEntry(BaseModel):
    """One [[track]] table as written: TOML types exactly (strict), unknown fields refused.
    `description` on a field is what the message says it must be."""

    model_config = ConfigDict(strict=True, extra="forbid")

    id: Annotated[
        str, Field(pattern=SLUG_PATTERN, description="a slug (lowercase letters, digits, '-')")
    ]
    name: str
    priority: Annotated[int, Field(ge=1, le=5, description="1 (background) .. 5 (top)")]
    description: str
    keywords: list[str]
    active: bool = True
    exclude: list[str] = []
    categories: list[Annotated[str, Field(pattern=CATEGORY_PATTERN)]] = []

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
