"""Read papers in the JSON-lines format of the bundled sample (one object per line).

Required per line: id, title, abstract; optional: authors, categories (or primary_category),
version ("v2" or 2), published / updated (ISO date or datetime), comment.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.models import Paper
from agent.schedule import as_utc

SAMPLE_PATH = Path(__file__).resolve().parent.parent / "data" / "arxiv-2026-jan-feb.jsonl.gz"


def read_papers_jsonl(path: Path) -> list[Paper]:
    """All papers of a .jsonl or .jsonl.gz file; a bad line raises ConfigError naming it."""
    return [paper for _, paper in iter_records(path)]


def iter_records(path: Path) -> Iterator[tuple[dict[str, Any], Paper]]:
    """Yield (raw record, Paper) for each line of a .jsonl or .jsonl.gz file."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    yield record, paper_from_record(record)
                except (ValueError, KeyError, TypeError) as exc:
                    raise ConfigError(
                        f"{path}:{number}: not a paper record ({exc}). Each line must be a JSON "
                        "object with at least id, title and abstract."
                    ) from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read papers file ({exc.strerror}).") from exc


def paper_from_record(record: dict[str, Any]) -> Paper:
    """A Paper from one sample-format record."""
    categories = list(record.get("categories") or [])
    primary = record.get("primary_category")
    if primary and primary not in categories:
        categories.insert(0, primary)
    elif primary:
        categories.remove(primary)
        categories.insert(0, primary)
    version = record.get("version") or 1
    if isinstance(version, str):
        version = int(version.lstrip("v") or 1)
    return Paper(
        id=str(record["id"]).strip(),
        title=str(record["title"]).strip(),
        abstract=str(record["abstract"]).strip(),
        authors=tuple(str(a) for a in record.get("authors") or ()),
        categories=tuple(str(c) for c in categories),
        version=int(version),
        published=parse_when(record.get("published")),
        updated=parse_when(record.get("updated") or record.get("first_listing_date")),
        comment=str(record.get("comment") or ""),
    )


def parse_when(value: Any) -> datetime | None:
    """An aware UTC datetime from an ISO date or datetime string (None stays None)."""
    if not value:
        return None
    return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
