"""The queue of escalations, its live update, the alerts' poll, bulk resolve, and the
handler's availability for chats.

The queue shows each escalation's triage at a glance (bot/staff/triage.py): how long the
relative has waited (coloured from STAFF_WAIT_WARN_MINUTES and STAFF_WAIT_ALERT_MINUTES),
a one-line redacted preview, who is at risk, the relative's presence, who holds it; and
who else is available now. The page and queue.json show the same, computed against the
server's clock.

The page's scripts ask for queue.json and alerts.json every few seconds; app.py does not
count those requests as the handler being there (is_background_poll: GET and ".json"), so
an open tab does not keep a session alive forever.
"""

from __future__ import annotations

import asyncio
from functools import partial

from sanic import Sanic, response
from sanic.request import Request

from bot.escalations.model import utcnow
from bot.staff import bulk
from bot.staff.context import Dashboard
from bot.staff.review import LEVELS, STATUSES
from bot.staff.triage import SORTS, sort_of, waiting_class
from bot.staff.web import render, require_admin


def register(app: Sanic, dashboard: Dashboard) -> None:
    review = dashboard.review
    warn = dashboard.config.staff_wait_warn_minutes
    alert = dashboard.config.staff_wait_alert_minutes

    @app.get("/")
    async def queue_page(request: Request):
        status, level = filters(request)
        sort = sort_of(request.args.get("sort"))
        review.log(request.ctx.session.user, "view_queue")
        return render(
            dashboard,
            request,
            "queue.html",
            items=review.queue(status, level, sort),
            counts=review.counts(),
            working=review.available_staff(),
            now=utcnow(),
            waiting_class=partial(waiting_class, warn_minutes=warn, alert_minutes=alert),
            status_filter=status or "",
            level_filter=level or "",
            sort=sort,
            sorts=SORTS,
            bulk_result=_bulk_result(request),
        )

    @app.get("/queue.json")
    async def queue_json(request: Request):
        status, level = filters(request)
        sort = sort_of(request.args.get("sort"))
        now = utcnow()
        return response.json(
            {
                "now": now.isoformat(),
                "sort": sort,
                "items": [
                    item.as_json(now, warn, alert) for item in review.queue(status, level, sort)
                ],
                "counts": review.counts(),
                "working": review.available_staff(now),
            }
        )

    @app.get("/alerts.json")
    async def alerts_json(request: Request):
        """What static/alerts.js watches: case numbers and times only (never an excerpt),
        and whether this handler is available for chats (only then does the page ring)."""
        alerts = review.alerts()
        return response.json(
            {
                "available": request.ctx.session.user.available,
                "acute": [alert.as_json() for alert in alerts.acute],
                "person": [alert.as_json() for alert in alerts.person],
            }
        )

    @app.post("/escalations/bulk_resolve")
    async def bulk_resolve(request: Request):
        if refused := require_admin(dashboard, request):
            return refused
        form = request.form
        try:
            ids = bulk.selected_ids(form.getlist("ids", []) if form else [])
        except bulk.TooMany:
            return response.redirect("/?bulk_problem=too_many", status=303)
        if not ids:
            return response.redirect("/?bulk_problem=none_selected", status=303)
        user = request.ctx.session.user
        # Hundreds of small transactions: off the event loop, so other pages keep answering.
        result = await asyncio.to_thread(bulk.resolve_as_spam, review, user, ids)
        return response.redirect(
            f"/?bulk_resolved={result.resolved}&bulk_skipped={result.skipped}", status=303
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


BULK_PROBLEMS = ("too_many", "none_selected")


def _bulk_result(request: Request) -> dict | None:
    """What the last bulk resolve did, from the redirect's query (numbers and codes only)."""
    problem = request.args.get("bulk_problem")
    if problem in BULK_PROBLEMS:
        return {"problem": problem, "limit": bulk.MAX_PER_REQUEST}
    resolved, skipped = request.args.get("bulk_resolved"), request.args.get("bulk_skipped")
    if resolved and skipped and resolved.isdigit() and skipped.isdigit():
        return {"resolved": int(resolved), "skipped": int(skipped)}
    return None


def _page_of_this_dashboard(back: str) -> str:
    """Where to go back to after the switch: only pages of this dashboard, never elsewhere."""
    if not back.startswith("/") or back.startswith("//"):
        return "/"
    return back
