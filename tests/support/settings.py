"""The test run's settings: the environment over `.env` over the defaults, read once."""

from __future__ import annotations

import os
from collections.abc import Callable
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
    server's actions and the channels read. Returns the changed settings.

    `configure(parts, **changes)`: the parts are `parts(settings)` instead, a subclass of
    bootstrap.Services with fakes in it (tests/support/fakes.py)."""
    replaced = []

    def install(parts: Callable[[Settings], bootstrap.Services] = bootstrap.build, **changes):
        changed = replace(settings, **changes)
        replaced.append(bootstrap.use(parts(changed)))
        return changed

    yield install
    if replaced:
        bootstrap.use(replaced[0])
