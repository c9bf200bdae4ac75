"""The unit tests use no database and no network (docs/testing.md): the process's parts
(bot/bootstrap.py) have an escalation store that cannot be reached, unless a test puts
fakes of its own in place (`configure`, tests/support/fakes.py), and a connection to any
internet address, loopback included, fails the test."""

from __future__ import annotations

import socket

import pytest

from bot import bootstrap
from tests.support.fakes import UnreachableStore
from tests.support.settings import settings


@pytest.fixture(scope="package", autouse=True)
def no_escalation_store():
    """Not the configured one (var/escalations.db) either: an action that reaches for the
    store gets what a store that is down gives."""
    replaced = bootstrap.use(UnreachableStore(settings))
    yield
    bootstrap.use(replaced)


class NetworkUsed(AssertionError):
    pass


@pytest.fixture(scope="package", autouse=True)
def no_network():
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refused(method):
        def check(self, address, *args, **kwargs):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                raise NetworkUsed(f"a unit test connected to {address}: tests/integration")
            return method(self, address, *args, **kwargs)

        return check

    socket.socket.connect, socket.socket.connect_ex = refused(connect), refused(connect_ex)
    yield
    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
