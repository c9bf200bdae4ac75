"""How long a server's event loop was held, for the hostile phase of `make bench`.

Every Sanic server handles all its conversations on one event loop: a message whose
handling blocks it (a long regular expression, a CPU-heavy step not moved to a thread)
holds every other conversation for as long. A watcher sleeps a few milliseconds over and
over and records how much later than asked it woke up: the longest such delay is the
longest stall. Written to LOOP_STALL_FILE (JSON, every half second) when that setting is
given; off otherwise.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

TICK_SECONDS = 0.01
WRITE_EVERY_SECONDS = 0.5


async def watch(path: Path, name: str) -> None:
    longest = 0.0
    last_write = time.monotonic()
    while True:
        asked = time.monotonic()
        await asyncio.sleep(TICK_SECONDS)
        woke = time.monotonic()
        longest = max(longest, woke - asked - TICK_SECONDS)
        if woke - last_write >= WRITE_EVERY_SECONDS:
            last_write = woke
            path.write_text(json.dumps({"server": name, "longest_stall_ms": longest * 1000}))


def watch_app(app, path: str, name: str) -> None:
    """Starts the watcher on `app`'s loop once it serves."""

    @app.after_server_start
    async def start_watching(app, _loop=None):
        app.ctx.loop_watcher = asyncio.get_running_loop().create_task(watch(Path(path), name))


def read(path: Path) -> float | None:
    """The longest stall a server recorded, in milliseconds."""
    try:
        return json.loads(path.read_text())["longest_stall_ms"]
    except (OSError, ValueError, KeyError):
        return None
