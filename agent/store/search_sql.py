"""The search query language and its SQLite statement, without SQLAlchemy.

One definition for both readers of a SQLite store: the Store (agent/store/search.py) runs
`sqlite_search` through SQLAlchemy's `text()`, the quick reader (agent/store/quick_search.py)
through the standard library's `sqlite3`; both take the same `:named` parameters. Importing
SQLAlchemy alone costs more than the search itself at a year's scale.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.models import Paper

TITLE_WEIGHT = 3.0  # bm25 column weight of the title; the abstract's is 1
_QUOTED = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"\w+")
MAX_TERMS = 32  # a query is a few words; more would only slow the index down
# The migrations the SQLite statement reads: the FTS5 table and its id column.
SEARCH_MIGRATIONS = ("m003_paper_search", "m005_paper_search_by_id")

# Scores come from the index alone (rowid, bm25); the id column is read only for the best rows
# and any tied with the last of them: reading it for every match cost 3x at 500k papers
# ("speech" matches a quarter of them). Same rows, same order as
# "ORDER BY score DESC, id LIMIT n" over all matches.
SQLITE_SEARCH = (
    "WITH hits AS MATERIALIZED (SELECT rowid AS hit, "
    f"-bm25(paper_search, 0.0, {TITLE_WEIGHT}, 1.0) AS score "
    "FROM paper_search WHERE paper_search MATCH :match) "
    "SELECT entry.id AS id, hits.score AS score "
    "FROM hits JOIN paper_search AS entry ON entry.rowid = hits.hit "
    "WHERE hits.score >= coalesce((SELECT score FROM hits ORDER BY score DESC "
    "LIMIT 1 OFFSET :limit - 1), -1e308) "
    "ORDER BY score DESC, id LIMIT :limit"
)


@dataclass(frozen=True)
class Query:
    """A search as terms: each a tuple of words that must appear side by side."""

    terms: tuple[tuple[str, ...], ...]

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(word for term in self.terms for word in term)


def parse_query(text: str) -> Query:
    """Words and "quoted phrases"; an unquoted multi-word query also counts as one phrase."""
    phrases = [tuple(_WORD.findall(p.lower())) for p in _QUOTED.findall(text)]
    loose = [(w,) for w in _WORD.findall(_QUOTED.sub(" ", text).lower())]
    terms = [t for t in phrases if t] + loose
    if len(loose) > 1 and not phrases:
        terms.insert(0, tuple(w for (w,) in loose))  # "prompt injection" side by side first
    unique = list(dict.fromkeys(terms))[:MAX_TERMS]
    return Query(tuple(unique))


def fts5_query(query: Query) -> str:
    """The FTS5 MATCH expression: each term a quoted string (no FTS syntax from the user)."""
    return " OR ".join('"' + " ".join(term) + '"' for term in query.terms)


def sqlite_search(query: Query, limit: int) -> tuple[str, dict[str, Any]]:
    """The SQLite statement and its parameters: rows (id, score), best first."""
    match = "{title abstract} : (" + fts5_query(query) + ")"
    return SQLITE_SEARCH, {"match": match, "limit": limit}


class RankedSearch:
    """`search_ranked` with one rule for the Store and the quick reader, like `CandidateCount`:
    each finds (id, score) rows its own way (`_search`) and reads the papers (`get_papers`)."""

    def _search(self, query: Query, limit: int) -> list[tuple[str, float]]:
        raise NotImplementedError

    if TYPE_CHECKING:  # each reader has its own; a stub here would hide the Store's

        def get_papers(self, ids: Sequence[str]) -> dict[str, Paper]: ...

    def search_ranked(self, text: str, limit: int = 20) -> list[tuple[Paper, float]]:
        """The best matches for `text`, most relevant first, each with its relevance score."""
        query = parse_query(text)
        if not query.terms:
            return []
        found = self._search(query, limit)
        papers = self.get_papers([paper_id for paper_id, _ in found])
        return [(papers[pid], round(score, 3)) for pid, score in found if pid in papers]
