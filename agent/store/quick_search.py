"""`papers search` without SQLAlchemy: the quick reader with the search and the paper reads.

At a year's scale (500k papers) opening the full Store cost most of the command's time; the FTS5
query itself is a quarter of a second. On a SQLite file migrated this far the search runs the
statement of agent/store/search_sql.py over the read-only sqlite3 connection; any other database
gets the full Store, which has the same methods (tests/test_search.py checks both answer alike).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from agent.models import Match, Paper
from agent.store.quick import QuickReader, Reader, from_text, sqlite_path
from agent.store.search_sql import SEARCH_MIGRATIONS, Query, RankedSearch, sqlite_search

if TYPE_CHECKING:
    from agent.store.facade import Store

CHUNK = 500  # ids per IN list
PAPER_COLUMNS = "id, version, title, authors, abstract, categories, published, updated, comment"


class Searcher(Reader, Protocol):
    """What `papers search` reads; `SearchReader` and `Store` both provide it."""

    def search_ranked(self, text: str, limit: int = 20) -> list[tuple[Paper, float]]: ...
    def get_papers(self, ids: Sequence[str]) -> dict[str, Paper]: ...
    def paper_statuses(self, ids: Sequence[str]) -> dict[str, str]: ...
    def matches_for(self, paper_ids: Sequence[str]) -> dict[str, list[Match]]: ...
    def __enter__(self) -> Searcher: ...


def open_searcher(url: str) -> Searcher:
    """A read-only view of the store at `url` that can search: stdlib sqlite3 when the file has
    the search index, the Store otherwise (it migrates an older file)."""
    path = sqlite_path(url)
    if path is not None and path.is_file():
        reader = SearchReader.open(path)
        if isinstance(reader, SearchReader) and reader.can_search():
            return reader
        if reader is not None:
            reader.close()
    from agent.store.facade import Store

    store: Store = Store(url)
    return store


class SearchReader(RankedSearch, QuickReader):
    """The quick reader with ranked search and the reads that show its results."""

    def can_search(self) -> bool:
        names = ", ".join("?" for _ in SEARCH_MIGRATIONS)
        sql = f"SELECT COUNT(*) FROM schema_migrations WHERE name IN ({names})"
        return int(self._all(sql, SEARCH_MIGRATIONS)[0][0]) == len(SEARCH_MIGRATIONS)

    def _search(self, query: Query, limit: int) -> list[tuple[str, float]]:
        sql, params = sqlite_search(query, limit)  # the Store runs the same statement
        return [(str(pid), float(score)) for pid, score in self._all(sql, params)]

    def _by_ids(self, sql: str, ids: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """Rows of `sql` (its IN list written `{ids}`) for the distinct `ids`, in chunks."""
        unique = sorted(set(ids))
        for start in range(0, len(unique), CHUNK):
            chunk = unique[start : start + CHUNK]
            yield from self._all(sql.format(ids=", ".join("?" for _ in chunk)), chunk)

    def get_papers(self, ids: Sequence[str]) -> dict[str, Paper]:
        """The known papers among `ids`, by id."""
        sql = f"SELECT {PAPER_COLUMNS} FROM papers WHERE id IN ({{ids}})"
        found: dict[str, Paper] = {}
        for pid, version, title, authors, abstract, categories, published, updated, comment in (
            self._by_ids(sql, ids)
        ):
            found[pid] = Paper(
                id=pid, title=title, abstract=abstract, authors=tuple(json_list(authors)),
                categories=tuple(json_list(categories)), version=version,
                published=from_text(published), updated=from_text(updated), comment=comment)
        return found

    def paper_statuses(self, ids: Sequence[str]) -> dict[str, str]:
        """The status of each known paper among `ids`."""
        sql = "SELECT id, status FROM papers WHERE id IN ({ids})"
        return {str(pid): str(status) for pid, status in self._by_ids(sql, ids)}

    def matches_for(self, paper_ids: Sequence[str]) -> dict[str, list[Match]]:
        """Every requested id with its matches, best score first (empty if never scored)."""
        sql = ("SELECT paper_id, track_id, score, relevant, terms FROM scores "
               "WHERE paper_id IN ({ids})")
        rows = sorted(self._by_ids(sql, paper_ids), key=lambda r: (-r[2], r[1]))
        found: dict[str, list[Match]] = {paper_id: [] for paper_id in paper_ids}
        for paper_id, track_id, score, relevant, terms in rows:
            found[paper_id].append(Match(paper_id=paper_id, track_id=track_id, score=score,
                                         relevant=bool(relevant), terms=tuple(json_list(terms))))
        return found


def json_list(text: str | None) -> list[Any]:
    """A JSON list column as SQLAlchemy's JSON type writes it on SQLite (NULL or 'null': [])."""
    return (json.loads(text) if text else None) or []
