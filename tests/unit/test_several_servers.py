"""The start-up check for several Rasa servers or Sanic workers, and the stores Rasa gets
from the settings (bot/store/several_servers.py)."""

from __future__ import annotations

import pytest
from rasa.core.utils import AvailableEndpoints

from bot.settings import Settings
from bot.store.several_servers import (
    REDIS_TRACKER_STORE,
    UnsafeSetUp,
    problems,
    refuse_an_unsafe_set_up,
    use_the_configured_stores,
)

POSTGRES = "postgresql+psycopg2://vagvisaren@db.internal/vagvisaren"
REDIS = "redis://:secret@redis.internal:6380/2"
SAFE_CLUSTER = {
    "RASA_SERVERS": "2",
    "REDIS_URL": REDIS,
    "ADDRESS_BOOK_KEY": "key",
    "TRACKER_DATABASE_URL": POSTGRES,
    "ESCALATION_DATABASE_URL": POSTGRES,
}


def settings(**variables: str) -> Settings:
    return Settings.from_environment_mapping(variables)


def test_one_server_with_the_defaults_is_fine():
    assert problems(settings()) == []
    refuse_an_unsafe_set_up(settings())


def test_several_servers_with_redis_and_postgresql_are_fine():
    assert problems(settings(**SAFE_CLUSTER)) == []


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("REDIS_URL", "REDIS_URL"),
        ("TRACKER_DATABASE_URL", "TRACKER_DATABASE_URL on PostgreSQL"),
        ("ESCALATION_DATABASE_URL", "ESCALATION_DATABASE_URL on PostgreSQL"),
        ("ADDRESS_BOOK_KEY", "ADDRESS_BOOK_KEY"),
    ],
)
def test_several_servers_are_refused_without_what_they_share(missing, named):
    variables = {name: value for name, value in SAFE_CLUSTER.items() if name != missing}
    with pytest.raises(UnsafeSetUp) as refused:
        refuse_an_unsafe_set_up(settings(**variables))
    assert named in str(refused.value)
    assert "docs/deployment.md" in str(refused.value)


def test_several_workers_need_redis_but_may_share_one_machines_sqlite():
    assert problems(settings(SANIC_WORKERS="2", REDIS_URL=REDIS, ADDRESS_BOOK_KEY="k")) == []
    found = problems(settings(SANIC_WORKERS="4"))
    assert len(found) == 1 and "SANIC_WORKERS=4 needs REDIS_URL" in found[0]


def test_the_refusal_names_no_secret():
    with pytest.raises(UnsafeSetUp) as refused:
        refuse_an_unsafe_set_up(settings(RASA_SERVERS="2", REDIS_URL=REDIS))
    assert "secret" not in str(refused.value)


def test_redis_url_gives_the_lock_store_and_the_socket_queue():
    config = settings(REDIS_URL=REDIS)
    endpoints = AvailableEndpoints()
    use_the_configured_stores(endpoints, config)
    assert endpoints.lock_store.type == "bot.store.locks.FailSafeRedisLockStore"
    assert endpoints.lock_store.url == REDIS
    assert config.socket_redis_url == REDIS
    assert endpoints.tracker_store is None  # endpoints.yml's SQL store stays


def test_without_redis_rasa_keeps_its_in_memory_lock_store():
    endpoints = AvailableEndpoints()
    use_the_configured_stores(endpoints, settings())
    assert endpoints.lock_store is None


def test_a_redis_tracker_database_url_gives_the_redacting_redis_tracker_store():
    endpoints = AvailableEndpoints()
    use_the_configured_stores(endpoints, settings(TRACKER_DATABASE_URL=REDIS))
    store = endpoints.tracker_store
    assert store.type == REDIS_TRACKER_STORE
    assert store.url == "redis.internal"
    assert store.kwargs["port"] == 6380 and store.kwargs["db"] == 2
    assert store.kwargs["password"] == "secret"


def test_the_action_server_url_follows_its_port_unless_given():
    assert settings(ACTION_SERVER_PORT="6000").action_server_url == (
        "http://127.0.0.1:6000/webhook"
    )
    given = "http://10.0.0.5:5050/webhook"
    assert settings(ACTION_SERVER_URL=given).action_server_url == given
