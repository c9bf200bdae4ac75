"""Handing an escalation to a colleague, and the supervisor's view of the team's work
(issue 20).

- POST /escalations/<id>/transfer (form field `to`, a staff account's id): the holder or an
  admin hands a claimed escalation to another active account (Review.transfer, the rule
  in bot/escalations/lifecycle.py). A conversation a handler is in goes with it: the
  relative is told first through Rasa (action_handoff_transfer); when Rasa cannot be
  reached nothing changes and the handler can try again. The escalation's page lists the
  possible targets through the template function `transfer_targets`, set here
  (templates/partials/transfer.html).
- GET /supervisor and /supervisor.json (admins only): every live conversation and every
  claimed escalation, with the last lines of the redacted transcript
  (bot/staff/supervisor.py); the page asks for the .json every few seconds
  (static/supervisor.js), which writes text nodes only.
"""

from __future__ import annotations

from sanic import Sanic, response
from sanic.request import Request

from bot.rasa_client import HandoffError
from bot.staff.accounts import User
from bot.staff.context import Dashboard
from bot.staff.review import ReviewError
from bot.staff.supervisor import Supervision
from bot.staff.web import back_to, render, require_admin

TRANSFER_ACTION = "action_handoff_transfer"  # Rasa: "another person takes over"


def register(app: Sanic, dashboard: Dashboard) -> None:
    config = dashboard.config
    supervision = Supervision(
        dashboard.engine,
        dashboard.conversations,
        dashboard.find_conversation,
        config.staff_wait_warn_minutes,
        config.staff_wait_alert_minutes,
    )
    dashboard.pages.globals["transfer_targets"] = lambda holder_id: _targets(dashboard, holder_id)

    @app.post("/escalations/<escalation_id:int>/transfer")
    async def escalation_transfer(request: Request, escalation_id: int):
        return await _transfer(dashboard, request, escalation_id)

    @app.get("/supervisor")
    async def supervisor_page(request: Request):
        if refused := require_admin(dashboard, request):
            return refused
        dashboard.review.log(request.ctx.session.user, "view_supervisor")
        return render(dashboard, request, "supervisor.html", watched=supervision.watched())

    @app.get("/supervisor.json")
    async def supervisor_json(request: Request):
        if not request.ctx.session.user.is_admin:
            return response.json({"problem": "admin_only"}, status=403)
        return response.json(
            {"conversations": [watched.as_json() for watched in supervision.watched()]}
        )


def _targets(dashboard: Dashboard, holder_id: int | None) -> list[User]:
    """Who an escalation can be handed to: every active account but its holder."""
    return [user for user in dashboard.accounts.users() if user.active and user.id != holder_id]


async def _transfer(dashboard: Dashboard, request: Request, escalation_id: int):
    user, review = request.ctx.session.user, dashboard.review
    try:
        target_id = int((request.form or {}).get("to", ""))
    except ValueError:
        return back_to(dashboard, request, escalation_id, "transfer_target_invalid")
    try:
        before = review.check_transfer(user, escalation_id, target_id)
        if before.in_handoff:
            await _tell_the_relative(dashboard, escalation_id)
        review.transfer(user, escalation_id, target_id)
    except (ReviewError, HandoffError) as error:
        return back_to(dashboard, request, escalation_id, error.code)
    return back_to(dashboard, request, escalation_id)


async def _tell_the_relative(dashboard: Dashboard, escalation_id: int) -> None:
    """Another person takes over: said in the conversation, if it still exists."""
    _, conversation = dashboard.conversation_of(escalation_id)
    if conversation is not None:
        await dashboard.rasa.execute(conversation, TRANSFER_ACTION)
