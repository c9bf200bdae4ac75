"""The test run's settings: the environment over `.env` over the defaults, read once."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from bot import bootstrap
from bot.settings import Settings

settings = Settings.from_environment()

# A PostgreSQL server where the suite may create throw-away databases (.ci/run sets it
# when it had to give the server's user a password).
TEST_POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def configure():
    """`configure(**changes)` puts parts built from the test run's settings with these
    changes in place of the process's (bot/bootstrap.py), for one test: what the action
    server's actions and the channels read. Returns the changed settings."""
    replaced = []

    def install(**changes) -> Settings:
        changed = replace(settings, **changes)
        replaced.append(bootstrap.use(bootstrap.build(changed)))
        return changed

    yield install
    if replaced:
        bootstrap.use(replaced[0])
