"""Paper vectors of a sentence-embedding model, kept so each paper is embedded once.

A vector is stored as `dim` little-endian float32 values with a digest of the text it was
computed from; the embedder (agent/rank/embeddings.py) re-embeds a paper whose text changed.
Writes are bulk Core upserts, reads plain rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa

from agent.store.base import StoreBase, chunks
from agent.store.bulk import batches, upsert_statement
from agent.store.tables import PaperVectorRow

if TYPE_CHECKING:  # numpy is imported when vectors are read or written, not with the store
    import numpy as np

log = logging.getLogger(__name__)

VECTORS: sa.Table = PaperVectorRow.__table__  # type: ignore[attr-defined]
FLOAT32 = "<f4"  # little-endian float32


class VectorStore(StoreBase):
    """Read and write paper vectors by (paper id, model name)."""

    def load_vectors(self, model: str, ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
        """Paper id -> (text digest, vector) for the papers among `ids` with a vector."""
        import numpy as np

        itemsize = np.dtype(FLOAT32).itemsize
        found: dict[str, tuple[str, np.ndarray]] = {}
        columns = (VECTORS.c.paper_id, VECTORS.c.digest, VECTORS.c.dim, VECTORS.c.vector)
        with self._db_session() as session:
            conn = session.connection()
            for chunk in chunks(sorted(set(ids))):
                query = sa.select(*columns).where(
                    VECTORS.c.model == model, VECTORS.c.paper_id.in_(chunk)
                )
                for row in conn.execute(query):
                    data = bytes(row.vector)
                    if len(data) != row.dim * itemsize:
                        log.warning("paper vector of %s (%s) is damaged; it will be recomputed",
                                    row.paper_id, model)
                        continue
                    found[row.paper_id] = (row.digest, np.frombuffer(data, dtype=FLOAT32))
        return found

    def save_vectors(self, model: str, vectors: Mapping[str, tuple[str, np.ndarray]]) -> None:
        """Store (or replace) each paper's (text digest, vector) under `model`."""
        import numpy as np

        now = self._now()
        rows = []
        for paper_id, (digest, vector) in vectors.items():
            values = np.asarray(vector, dtype=FLOAT32).ravel()
            rows.append({"paper_id": paper_id, "model": model, "digest": digest,
                         "dim": int(values.size), "vector": values.tobytes(),
                         "created_at": now})
        if not rows:
            return
        statement = upsert_statement(
            self.dialect, VECTORS, ["paper_id", "model"], ["digest", "dim", "vector", "created_at"]
        )
        with self._db_session(write=True) as session:
            conn = session.connection()
            for batch in batches(rows):
                conn.execute(statement, list(batch))
        log.debug("stored %d paper vectors of %s", len(rows), model)

    def count_vectors(self, model: str | None = None) -> int:
        """How many paper vectors are stored (of `model`, or of any)."""
        query = sa.select(sa.func.count()).select_from(VECTORS)
        if model is not None:
            query = query.where(VECTORS.c.model == model)
        with self._db_session() as session:
            return int(session.connection().execute(query).scalar_one())
