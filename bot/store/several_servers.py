"""What several Rasa servers (or Sanic workers) must share, checked before any starts.

Rasa, given SANIC_WORKERS above 1 with its in-memory lock store, silently runs one worker;
several servers with in-memory locks, SQLite files or per-process address books answer,
but lose or reorder events and cannot reach relatives the other servers spoke to. Those
set-ups are refused at start-up with what to set instead (docs/deployment.md).

The stores Rasa builds from endpoints.yml follow the settings here, so one set of
settings switches them all: TRACKER_DATABASE_URL (SQLite, PostgreSQL or Redis) picks the
tracker store, REDIS_URL the lock store (bot/store/locks.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.settings import Settings
from bot.store.locks import lock_store_endpoint
from bot.store.redis_outage import connection_options

if TYPE_CHECKING:
    from rasa.core.utils import AvailableEndpoints

REDIS_TRACKER_STORE = "bot.privacy.tracker_store.RedactingRedisTrackerStore"


class UnsafeSetUp(SystemExit):
    """Several servers or workers without the stores they must share."""


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def problems(settings: Settings) -> list[str]:
    """What is missing for the servers and workers configured; empty when it is safe."""
    several = []
    if settings.rasa_servers > 1:
        several.append(f"RASA_SERVERS={settings.rasa_servers}")
    if settings.sanic_workers > 1:
        several.append(f"SANIC_WORKERS={settings.sanic_workers}")
    if not several:
        return []
    what = " and ".join(several)
    found = []
    if not settings.redis_url:
        found.append(
            f"{what} needs REDIS_URL: without a shared lock store two messages of one "
            "conversation on two servers or workers overwrite each other's events, and "
            "Rasa would quietly run a single worker"
        )
    if settings.rasa_servers > 1:
        for variable, url in (
            ("TRACKER_DATABASE_URL", settings.tracker_database_url),
            ("ESCALATION_DATABASE_URL", settings.escalation_database_url),
        ):
            if _is_sqlite(url):
                found.append(
                    f"{what} needs {variable} on PostgreSQL: a SQLite file belongs to one "
                    "machine"
                )
    if settings.redis_url and not settings.address_book_key:
        found.append("REDIS_URL needs ADDRESS_BOOK_KEY (run `make env`)")
    return found


def refuse_an_unsafe_set_up(settings: Settings) -> None:
    found = problems(settings)
    if found:
        raise UnsafeSetUp(
            "Refusing to start: " + "; ".join(found) + ". See docs/deployment.md, "
            '"From one machine to several".'
        )


def use_the_configured_stores(endpoints: AvailableEndpoints, settings: Settings) -> None:
    """The lock store from REDIS_URL, and the Redis tracker store when TRACKER_DATABASE_URL
    is a redis:// address (endpoints.yml names the SQL one)."""
    endpoints.lock_store = lock_store_endpoint(settings.redis_url)
    if settings.tracker_database_url.startswith(("redis://", "rediss://")):
        from rasa.utils.endpoints import EndpointConfig

        options = connection_options(settings.tracker_database_url)
        endpoints.tracker_store = EndpointConfig(
            url=options.pop("host"), type=REDIS_TRACKER_STORE, **options
        )
