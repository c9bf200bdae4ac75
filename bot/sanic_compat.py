"""Sanic 21.12 (the version Rasa 3.6 pins) on Python 3.11.

Sanic's websocket receive passes a coroutine to `asyncio.wait`, which Python 3.11 refuses
("Passing coroutines is forbidden"): every websocket, and so every web chat over the
websocket transport, closed right after it opened. Python 3.10 wrapped the coroutine in a
task itself; this gives Sanic's websocket module an `asyncio` whose `wait` does the same,
so it behaves exactly as on 3.10. Sanic 22 fixed it upstream; Rasa 3.6 cannot use it.
"""

from __future__ import annotations

import asyncio
import sys
from types import SimpleNamespace


async def _wait(awaitables, *args, **kwargs):
    return await asyncio.wait([asyncio.ensure_future(item) for item in awaitables], *args, **kwargs)


def allow_websockets_on_python_311() -> None:
    if sys.version_info < (3, 11):
        return
    from sanic.server.websockets import impl

    if getattr(impl.asyncio, "patched_for_python_311", False):
        return
    shim = SimpleNamespace(**{name: getattr(asyncio, name) for name in dir(asyncio)})
    shim.wait = _wait
    shim.patched_for_python_311 = True
    impl.asyncio = shim
