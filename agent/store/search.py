"""Full-text search of stored papers, ranked by relevance: the title weighs more than the abstract.

SQLite: an FTS5 table (`paper_search`, porter stemming) kept in step with `papers` by triggers
(migrations m003, m005), so every way a paper is written, one by one or in bulk, is indexed; a
new version finds its old entry through the indexed id, without reading the whole index. PostgreSQL:
a weighted tsvector over title (A) and abstract (B) with a GIN index. Either way the query
language is the same: words, and "quoted phrases"; a paper matching more of them ranks higher,
and a multi-word query also rewards the words side by side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, select

from agent.models import Paper
from agent.store.papers import PaperStore
from agent.store.tables import PaperRow

TITLE_WEIGHT = 3.0  # bm25 column weight of the title; the abstract's is 1
_QUOTED = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"\w+")
MAX_TERMS = 32  # a query is a few words; more would only slow the index down


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


class SearchStore(PaperStore):
    """Ranked search over the papers' title and abstract."""

    def search_ranked(self, text: str, limit: int = 20) -> list[tuple[Paper, float]]:
        """The best matches for `text`, most relevant first, each with its relevance score."""
        query = parse_query(text)
        if not query.terms:
            return []
        if self.dialect == "sqlite":
            found = self._search_sqlite(query, limit)
        elif self.dialect == "postgresql":
            found = self._search_postgres(query, limit)
        else:
            found = self._search_plain(query, limit)
        papers = self.get_papers([paper_id for paper_id, _ in found])
        return [(papers[pid], round(score, 3)) for pid, score in found if pid in papers]

    def _search_sqlite(self, query: Query, limit: int) -> list[tuple[str, float]]:
        # Scores come from the index alone (rowid, bm25); the id column is read only for the
        # best rows and any tied with the last of them: reading it for every match cost 3x at
        # 500k papers ("speech" matches a quarter of them). Same rows, same order as
        # "ORDER BY score DESC, id LIMIT n" over all matches.
        statement = sa.text(
            "WITH hits AS MATERIALIZED (SELECT rowid AS hit, "
            f"-bm25(paper_search, 0.0, {TITLE_WEIGHT}, 1.0) AS score "
            "FROM paper_search WHERE paper_search MATCH :match) "
            "SELECT entry.id AS id, hits.score AS score "
            "FROM hits JOIN paper_search AS entry ON entry.rowid = hits.hit "
            "WHERE hits.score >= coalesce((SELECT score FROM hits ORDER BY score DESC "
            "LIMIT 1 OFFSET :limit - 1), -1e308) "
            "ORDER BY score DESC, id LIMIT :limit"
        )
        match = "{title abstract} : (" + fts5_query(query) + ")"
        with self._db_session() as session:
            rows = session.connection().execute(statement, {"match": match, "limit": limit})
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
