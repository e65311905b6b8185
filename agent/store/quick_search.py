"""`papers search` without SQLAlchemy: the quick reader with the search and the paper reads.

At a year's scale (500k papers) opening the full Store cost most of the command's time; the FTS5
query itself is a quarter of a second. On a SQLite file migrated this far the search runs the
statement of agent/store/search_sql.py over the read-only sqlite3 connection; any other database
gets the full Store, which has the same methods (tests/test_search.py checks both answer alike).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from agent.models import Paper
from agent.store.quick import QuickReader, Reader, sqlite_path
from agent.store.search_sql import SEARCH_MIGRATIONS, Query, RankedSearch, sqlite_search

if TYPE_CHECKING:
    from agent.store.facade import Store


class Searcher(Reader, Protocol):
    """What `papers search` reads; `SearchReader` and `Store` both provide it."""

    def search_ranked(self, text: str, limit: int = 20) -> list[tuple[Paper, float]]: ...
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
    """The quick reader with ranked search; it shows the results with the quick reader's paper
    reads (agent/store/reads.py, shared with the Store)."""

    def can_search(self) -> bool:
        names = ", ".join("?" for _ in SEARCH_MIGRATIONS)
        sql = f"SELECT COUNT(*) FROM schema_migrations WHERE name IN ({names})"
        return int(self._all(sql, SEARCH_MIGRATIONS)[0][0]) == len(SEARCH_MIGRATIONS)

    def _search(self, query: Query, limit: int) -> list[tuple[str, float]]:
        sql, params = sqlite_search(query, limit)  # the Store runs the same statement
        return [(str(pid), float(score)) for pid, score in self._all(sql, params)]
