"""(issue 20: being written)"""

from __future__ import annotations

from sanic import Sanic

from bot.staff.context import Dashboard


def register(app: Sanic, dashboard: Dashboard) -> None:
    pass
