"""The cluster of tools/cluster.py for a test module: two nodes (Rasa and action server
each), the dashboard, HAProxy, a fresh PostgreSQL database for each store and a Redis of
its own, which a test may stop and start (`cluster.redis`).

    with two_servers(directory, messaging_apis) as cluster:
        ...
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.launcher import NO_TRAFFIC_LIMITS
from tests.support.databases import postgres_database
from tests.support.messaging_apis import TELEGRAM_SECRET, TELEGRAM_TOKEN, MessagingApis
from tests.support.servers import TEST_JWT_SECRET, TEST_PSEUDONYM_KEY
from tools.cluster import Cluster, PrivateRedis, haproxy_binary

TEST_ADDRESS_BOOK_KEY = "cluster-test-address-book-key"


def lock_store_settings() -> dict[str, str]:
    """Rasa's lock store for the test cluster: the shared one (REDIS_URL), or with
    CLUSTER_LOCK_STORE=memory Rasa's in-memory one on each server, to see what the shared
    one prevents (the start-up check would refuse two servers without Redis, so each is
    told it is alone)."""
    if os.environ.get("CLUSTER_LOCK_STORE", "redis") == "memory":
        return {"REDIS_URL": "", "RASA_SERVERS": "1"}
    return {}


@contextmanager
def two_servers(
    directory: Path, messaging_apis: MessagingApis, with_demo: bool = False
) -> Iterator[Cluster]:
    haproxy_binary()  # fails with how to install it, rather than skipping
    redis = PrivateRedis(directory)
    redis.start()
    overrides = {
        "RASA_JWT_SECRET": TEST_JWT_SECRET,
        "PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
        "ADDRESS_BOOK_KEY": TEST_ADDRESS_BOOK_KEY,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_API_URL": messaging_apis.telegram_url,
        "LOG_LEVEL": "INFO",
        **NO_TRAFFIC_LIMITS,
        **lock_store_settings(),
    }
    # Every request of a test comes from 127.0.0.1: HAProxy's limit per source is off.
    unlimited = {"VV_RATE_LIMIT": "1000000"}
    try:
        with postgres_database() as tracker, postgres_database() as escalations:
            cluster = Cluster(
                directory,
                tracker,
                escalations,
                redis.url,
                overrides,
                haproxy_overrides=unlimited,
                with_demo=with_demo,
            )
            cluster.redis = redis
            with cluster:
                yield cluster
    finally:
        redis.stop()
