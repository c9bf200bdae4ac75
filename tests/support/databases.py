"""Databases for the integration tests: a fresh PostgreSQL database per test on the server
in TEST_POSTGRES_URL, SQLite files in the test's directory, the escalation store migrated or
empty, and its rows read back.

The PostgreSQL server is the local one `make test` expects (docs/testing.md). A test that
needs PostgreSQL fails, rather than being skipped, when the server cannot be reached:
PostgreSQL is a supported production store and must be tested for real.

The fixtures (`migrated_url`, `empty_url`, `escalation_store_url`) are for
tests/integration only, whose conftest.py makes them available: tests/unit use no database.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from tests.support.settings import TEST_POSTGRES_URL

SERVER_URL = TEST_POSTGRES_URL
DATABASE_KINDS = ["sqlite", "postgresql"]


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
def database_url(kind: str, directory: Path, migrated: bool = False) -> Iterator[str]:
    """A database of `kind` ("sqlite", a file in `directory`, or "postgresql"), empty or
    with the escalation store's tables (`migrated`)."""
    if kind == "sqlite":
        url = f"sqlite:///{directory / 'store.db'}"
        yield _migrated(url) if migrated else url
    else:
        with postgres_database() as url:
            yield _migrated(url) if migrated else url


def _migrated(url: str) -> str:
    from bot.store.engine import migrate

    migrate(url)
    return url


@pytest.fixture(params=DATABASE_KINDS)
def migrated_url(request, tmp_path) -> Iterator[str]:
    """The escalation store migrated, on SQLite and on PostgreSQL."""
    with database_url(request.param, tmp_path, migrated=True) as url:
        yield url


@pytest.fixture(params=DATABASE_KINDS)
def empty_url(request, tmp_path) -> Iterator[str]:
    """An empty database, on SQLite and on PostgreSQL."""
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def escalation_store_url(tmp_path) -> Iterator[str]:
    """The escalation store migrated, in a SQLite file of the test's own."""
    with database_url("sqlite", tmp_path, migrated=True) as url:
        yield url


# -- reading the escalation store ------------------------------------------------------------


def escalation_rows(url: str) -> list:
    """The escalations stored at `url`, oldest first (bot.escalations.model.Escalation)."""
    from bot.escalations.model import Escalation
    from bot.store.engine import session_factory

    with session_factory(url)() as session:
        return list(session.execute(select(Escalation).order_by(Escalation.id)).scalars())


def _exists(url: str) -> bool:
    """Whether the database is there (reading a SQLite file that is not would create it)."""
    parsed = make_url(url)
    return parsed.get_backend_name() != "sqlite" or Path(parsed.database or "").is_file()


def escalations_when(
    url: str, ready: Callable[[list[dict[str, Any]]], bool] = bool, seconds: float = 10
) -> list[dict[str, Any]]:
    """The escalations stored at `url` as dicts, column by column, once `ready(rows)` (by
    default: once there is one) or after `seconds`: running servers store in the
    background, and the store is not there before the action server made it."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            rows = [asdict(row) for row in escalation_rows(url)] if _exists(url) else []
        except SQLAlchemyError:  # not migrated yet
            rows = []
        if ready(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def escalation_of(url: str, conversation_ref: str, seconds: float = 10) -> dict[str, Any] | None:
    """The escalation of one conversation (its keyed reference) as a dict, waiting up to
    `seconds` for the background write (and for a store that is restarting); None if none."""

    def of_the_conversation(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [row for row in rows if row["conversation_ref"] == conversation_ref]

    rows = escalations_when(url, lambda rows: bool(of_the_conversation(rows)), seconds)
    return next(iter(of_the_conversation(rows)), None)
