"""A fresh PostgreSQL database per test on the server in TEST_POSTGRES_URL.

The default is the local server `make test` expects (see README, "Tests"). A test that
needs PostgreSQL fails, rather than being skipped, when the server cannot be reached:
PostgreSQL is a supported production store and must be tested for real.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.settings import TEST_POSTGRES_URL

SERVER_URL = TEST_POSTGRES_URL


@contextmanager
def postgres_database() -> Iterator[str]:
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT", future=True)
    name = f"vagvisaren_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        raise RuntimeError(
            f"PostgreSQL is needed for this test and was not reachable at {SERVER_URL} ({error}). "
            "Start it, or point TEST_POSTGRES_URL at a server where this user may create databases."
        ) from error
    url = make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from bot.store.engine import session_factory, shared_engine

        session_factory.cache_clear()
        shared_engine.cache_clear()
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextmanager
def database_url(kind: str, directory) -> Iterator[str]:
    """An empty database of `kind` ("sqlite" in `directory`, or "postgresql")."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'store.db'}"
    else:
        with postgres_database() as url:
            yield url


DATABASE_KINDS = ["sqlite", "postgresql"]
