"""Export the radar's papers as BibTeX (Zotero, LaTeX) or JSON lines.

Titles and author names are untrusted: in BibTeX every special character is escaped so that a
hostile title can neither end its entry nor start another; keys are built from safe characters.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.models import Match, Paper
from agent.notes import surname
from agent.review.papers import paper_json
from agent.sources.ids import is_versionless_id
from agent.store import PAPER_STATUSES
from agent.text import clean_text
from agent.workspace import Workspace

logger = logging.getLogger(__name__)

EXPORTED_STATUSES = ("summarized", "queued", "read")  # the radar's finds, by default


@dataclass(frozen=True)
class ExportRecord:
    paper: Paper
    status: str
    matches: list[Match]


def export_records(workspace: Path, everything: bool = False) -> list[ExportRecord]:
    """The papers to export, by id: the radar's finds, or every stored paper."""
    statuses = PAPER_STATUSES if everything else EXPORTED_STATUSES
    with Workspace(workspace).open_store() as store:
        pairs = [(p, s) for s in statuses for p in store.papers_with_status([s])]
        matches = store.matches_for([p.id for p, _ in pairs])
    pairs.sort(key=lambda pair: pair[0].id)
    return [ExportRecord(p, s, matches[p.id]) for p, s in pairs]


_BIBTEX = str.maketrans({
    "\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}",
    "%": r"\%", "&": r"\&", "$": r"\$", "#": r"\#", "_": r"\_",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
})  # fmt: skip
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9:._-]+")


def escape_bibtex(text: str) -> str:
    """Text as a BibTeX value: braces stay balanced, LaTeX specials are literal, one line."""
    return clean_text(text).translate(_BIBTEX)


def bibtex_author(name: str) -> str:
    """One author; a name holding the word "and" is braced so it stays one author."""
    escaped = escape_bibtex(name)
    return f"{{{escaped}}}" if re.search(r"(?i)\band\b", escaped) else escaped


def bibtex_key(paper: Paper, used: set[str]) -> str:
    """A unique key of [A-Za-z0-9:._-]: Surname2026-2602.15307."""
    family = surname(paper.authors[0]) if paper.authors else ""
    family = unicodedata.normalize("NFKD", family).encode("ascii", "ignore").decode()
    family = re.sub(r"[^A-Za-z]", "", family) or "arXiv"
    year = str(paper.published.year) if paper.published else ""
    base = _KEY_UNSAFE.sub("-", f"{family}{year}-{paper.id}")
    key, n = base, 1
    while key in used:
        n += 1
        key = f"{base}-{n}"
    used.add(key)
    return key


def bibtex_entry(paper: Paper, key: str) -> str:
    """One @misc entry in the form arXiv's own BibTeX uses."""
    fields = [("title", escape_bibtex(paper.title)),
              ("author", " and ".join(bibtex_author(a) for a in paper.authors if clean_text(a))),
              ("year", str(paper.published.year) if paper.published else ""),
              ("eprint", escape_bibtex(paper.id)), ("archivePrefix", "arXiv"),
              ("primaryClass", escape_bibtex(paper.primary_category)),
              ("url", paper.abs_url if is_versionless_id(paper.id) else "")]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{key},\n{body}\n}}\n"


def bibtex_entries(records: Iterable[ExportRecord]) -> Iterator[str]:
    """BibTeX text, one entry per paper (with a blank line after each)."""
    used: set[str] = set()
    for record in records:
        yield bibtex_entry(record.paper, bibtex_key(record.paper, used)) + "\n"


def jsonl_lines(records: Iterable[ExportRecord]) -> Iterator[str]:
    """One JSON object per paper: metadata, status and score per track."""
    for record in records:
        data = paper_json(record.paper, record.status)
        data["scores"] = {m.track_id: round(m.score, 3) for m in record.matches}
        yield json.dumps(data, ensure_ascii=False) + "\n"
