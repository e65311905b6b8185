"""A fresh PostgreSQL database per test, on the real server RESEARCH_AGENT_TEST_PG_URL names.

Without that variable the tests that ask for `pg_url` are skipped. `.ci/run` installs Debian's
`postgresql`, starts it on 127.0.0.1 and runs `pytest -m postgres` with the variable set.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

PG_ENV = "RESEARCH_AGENT_TEST_PG_URL"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a new empty database (dropped after the test) on the test server."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"set {PG_ENV}=postgresql+psycopg://user:pw@127.0.0.1/db to run on PostgreSQL")
    name = f"radar_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        # template0 takes no connections, so CREATE DATABASE never finds its template busy
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except sa.exc.DBAPIError as exc:  # a leftover test database harms nothing
            warnings.warn(f"could not drop the test database {name}: {exc}", stacklevel=1)
        admin.dispose()
