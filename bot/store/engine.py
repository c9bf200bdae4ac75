"""Engines and migrations for Vägvisaren's own database (the escalation store).

SQLite (a file under var/) is the default; PostgreSQL is the production option:
ESCALATION_DATABASE_URL=postgresql+psycopg2://user:password@host:5432/dbname. The schema
is created and upgraded by Alembic (bot/store/migrations), never by create_all, so
every installation has the same, versioned schema.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=True)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection, _record) -> None:
    # Wait for a concurrent writer instead of failing at once; the action server and the
    # staff dashboard may write at the same moment.
    cursor = connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 5000")
    # Deleted rows (a conversation the relative erased, purged excerpts) are overwritten
    # with zeros, not left in free pages of the file (issue 17).
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


@lru_cache(maxsize=8)
def shared_engine(url: str) -> Engine:
    """One engine (and connection pool) per database for the whole process."""
    return make_engine(url)


@lru_cache(maxsize=8)
def session_factory(url: str) -> sessionmaker:
    return sessionmaker(bind=shared_engine(url), future=True, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (creates the tables on first use)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
