"""Full-text search of stored papers, ranked by relevance: the title weighs more than the abstract.

SQLite: an FTS5 table (`paper_search`, porter stemming) kept in step with `papers` by triggers
(migrations m003, m005), so every way a paper is written, one by one or in bulk, is indexed; a
new version finds its old entry through the indexed id, without reading the whole index. PostgreSQL:
a weighted tsvector over title (A) and abstract (B) with a GIN index. Either way the query
language is the same: words, and "quoted phrases"; a paper matching more of them ranks higher,
and a multi-word query also rewards the words side by side. The query language and the
SQLite statement live in agent/store/search_sql.py, shared with the quick reader (no SQLAlchemy).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, select

from agent.store.papers import PaperStore
from agent.store.search_sql import Query, RankedSearch, parse_query, sqlite_search
from agent.store.tables import PaperRow

__all__ = ["PG_VECTOR", "SearchStore", "parse_query"]


class SearchStore(RankedSearch, PaperStore):
    """Ranked search over the papers' title and abstract."""

    def _search(self, query: Query, limit: int) -> list[tuple[str, float]]:
        if self.dialect == "sqlite":
            return self._search_sqlite(query, limit)
        if self.dialect == "postgresql":
            return self._search_postgres(query, limit)
        return self._search_plain(query, limit)

    def _search_sqlite(self, query: Query, limit: int) -> list[tuple[str, float]]:
        sql, params = sqlite_search(query, limit)  # the quick reader runs the same statement
        with self._db_session() as session:
            rows = session.connection().execute(sa.text(sql), params)
            return [(str(r.id), float(r.score)) for r in rows]

    def _search_postgres(self, query: Query, limit: int) -> list[tuple[str, float]]:
        parts = [f"phraseto_tsquery('english', :t{i})" for i in range(len(query.terms))]
        params: dict[str, object] = {f"t{i}": " ".join(t) for i, t in enumerate(query.terms)}
        params["limit"] = limit
        statement = sa.text(
            f"SELECT id, ts_rank({PG_VECTOR}, search.q) AS score "
            f"FROM papers, (SELECT {' || '.join(parts)} AS q) AS search "
            f"WHERE {PG_VECTOR} @@ search.q ORDER BY score DESC, id LIMIT :limit"
        )
        with self._db_session() as session:
            rows = session.connection().execute(statement.columns(), params)
            return [(str(r.id), float(r.score) * 10) for r in rows]

    def _search_plain(self, query: Query, limit: int) -> list[tuple[str, float]]:
        """Other databases: papers holding any term, by how many terms (title counts double)."""
        found: dict[str, float] = {}
        with self._db_session() as session:
            for term in query.terms:
                phrase = " ".join(term)
                statement = select(PaperRow.id, PaperRow.title).where(sa.or_(
                    col(PaperRow.title).icontains(phrase, autoescape=True),
                    col(PaperRow.abstract).icontains(phrase, autoescape=True)))
                for paper_id, title in session.exec(statement):
                    bonus = 2.0 if phrase in title.lower() else 1.0
                    found[paper_id] = found.get(paper_id, 0.0) + bonus
        ranked = sorted(found.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:limit]


# The weighted document of one paper on PostgreSQL (migration m003 indexes this expression).
PG_VECTOR = (
    "(setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(abstract, '')), 'B'))"
)
