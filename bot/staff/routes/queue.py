"""The queue of escalations, its live update, and the handler's availability for chats.

The page's script asks for queue.json every few seconds; app.py does not count those
requests as the handler being there (is_background_poll), so an open tab does not keep a
session alive forever.
"""

from __future__ import annotations

from sanic import Sanic, response
from sanic.request import Request

from bot.staff.context import Dashboard
from bot.staff.review import LEVELS, STATUSES
from bot.staff.web import render


def register(app: Sanic, dashboard: Dashboard) -> None:
    review = dashboard.review

    @app.get("/")
    async def queue_page(request: Request):
        status, level = filters(request)
        review.log(request.ctx.session.user, "view_queue")
        return render(
            dashboard,
            request,
            "queue.html",
            items=review.queue(status, level),
            counts=review.counts(),
            status_filter=status or "",
            level_filter=level or "",
        )

    @app.get("/queue.json")
    async def queue_json(request: Request):
        status, level = filters(request)
        return response.json(
            {
                "items": [item.as_json() for item in review.queue(status, level)],
                "counts": review.counts(),
            }
        )

    @app.post("/availability")
    async def availability(request: Request):
        user = request.ctx.session.user
        available = (request.form or {}).get("available") == "on"
        dashboard.accounts.set_available(user.id, available)
        review.log(user, "available" if available else "unavailable")
        back = _page_of_this_dashboard((request.form or {}).get("back", "/"))
        return response.redirect(back, status=303)


def filters(request: Request) -> tuple[str | None, str | None]:
    """The queue's status and level filters; anything unknown is no filter."""
    status = request.args.get("status")
    level = request.args.get("level")
    return (
        status if status in (*STATUSES, "all") else None,
        level if level in LEVELS else None,
    )


def _page_of_this_dashboard(back: str) -> str:
    """Where to go back to after the switch: only pages of this dashboard, never elsewhere."""
    if not back.startswith("/") or back.startswith("//"):
        return "/"
    return back
