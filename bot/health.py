"""`GET /health` and `GET /ready` for every server, for a load balancer or a supervisor.

/health: the process answers (200). /ready: it can serve relatives now: 200, or 503 with
the names of what fails. Only what this server cannot serve without fails it (its model,
its database); a shared Redis that is down is reported as "degraded" with 200, because each
server goes on without it (bot/store/redis_outage.py): failing them all would take every
server out of the load balancer at once. Never any text, address or secret in the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

CHECK_TIMEOUT_SECONDS = 3.0

# name -> a blocking check that raises when it fails
Check = Callable[[], None]


async def _failing(checks: Mapping[str, Check]) -> list[str]:
    async def fails(check: Check) -> bool:
        try:
            await asyncio.wait_for(asyncio.to_thread(check), CHECK_TIMEOUT_SECONDS)
        except Exception:  # any failure of the check is "not ready"; the name says which
            return True
        return False

    results = await asyncio.gather(*(fails(check) for check in checks.values()))
    return [name for name, failed in zip(checks, results, strict=True) if failed]


async def readiness(required: Mapping[str, Check], optional: Mapping[str, Check]) -> HTTPResponse:
    failing = await _failing(required)
    degraded = await _failing(optional)
    if failing:
        return response.json(
            {"status": "not ready", "failing": failing, "degraded": degraded}, status=503
        )
    return response.json({"status": "degraded" if degraded else "ready", "degraded": degraded})


def add_health_routes(
    app: Sanic,
    required: Callable[[Sanic], Mapping[str, Check]],
    optional: Callable[[Sanic], Mapping[str, Check]] = lambda _: {},
    with_health: bool = True,
) -> None:
    """The checks are asked of the app when /ready is called (parts are made on start).
    `with_health=False` where the app answers /health already (rasa_sdk, the dashboard)."""
    if with_health:

        @app.get("/health", name="vagvisaren_health")
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

    @app.get("/ready", name="vagvisaren_ready")
    async def ready(_: Request) -> HTTPResponse:
        return await readiness(required(app), optional(app))


def sql_reachable(engine) -> Check:
    def check() -> None:
        from sqlalchemy import text

        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return check


def redis_reachable(client) -> Check:
    return lambda: client.ping()


def holds(condition: Callable[[], bool]) -> Check:
    def check() -> None:
        if not condition():
            raise RuntimeError("not yet")

    return check
