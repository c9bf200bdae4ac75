"""One escalation: its page (the redacted transcript, notes, timeline), and the steps on it
that are not a handoff: claim, take over, release, resolve, a note.

Who may take which step is decided by bot/escalations/lifecycle.py through Review; a route
only reads the form and answers. Release and resolve also end an open handoff, so the
relative is told first (web.step_that_may_end_a_handoff).
"""

from __future__ import annotations

from sanic import Sanic
from sanic.request import Request

from bot.escalations.lifecycle import Step
from bot.staff.context import Dashboard
from bot.staff.transcript import transcript
from bot.staff.web import answered, refuse, render, step_that_may_end_a_handoff


def register(app: Sanic, dashboard: Dashboard) -> None:
    review = dashboard.review

    @app.get("/escalations/<escalation_id:int>")
    async def detail_page(request: Request, escalation_id: int):
        detail = review.detail(escalation_id)
        if detail is None:
            return refuse(dashboard, request, "not_found", 404)
        review.log(request.ctx.session.user, "view_escalation", escalation_id)
        conversation = dashboard.find_conversation(detail.conversation_ref)
        events = transcript(dashboard.conversations, conversation) if conversation else []
        return render(
            dashboard,
            request,
            "detail.html",
            detail=detail,
            item=detail.item,
            notes=review.notes(escalation_id),
            timeline=list(reversed(review.audit(escalation_id))),
            lines=[line for _, line in events],
            conversation_found=conversation is not None,
            last_event=events[-1][0] if events else 0,
            problem=request.args.get("problem"),
        )

    @app.post("/escalations/<escalation_id:int>/claim")
    async def escalation_claim(request: Request, escalation_id: int):
        return answered(
            dashboard, request, escalation_id, lambda user: review.claim(user, escalation_id)
        )

    @app.post("/escalations/<escalation_id:int>/take_over")
    async def escalation_take_over(request: Request, escalation_id: int):
        return answered(
            dashboard, request, escalation_id, lambda user: review.take_over(user, escalation_id)
        )

    @app.post("/escalations/<escalation_id:int>/release")
    async def escalation_release(request: Request, escalation_id: int):
        return await step_that_may_end_a_handoff(dashboard, request, escalation_id, Step.RELEASE)

    @app.post("/escalations/<escalation_id:int>/resolve")
    async def escalation_resolve(request: Request, escalation_id: int):
        outcome = (request.form or {}).get("outcome", "")
        return await step_that_may_end_a_handoff(
            dashboard, request, escalation_id, Step.RESOLVE, outcome=outcome
        )

    @app.post("/escalations/<escalation_id:int>/note")
    async def escalation_note(request: Request, escalation_id: int):
        body = (request.form or {}).get("body", "")
        return answered(
            dashboard,
            request,
            escalation_id,
            lambda user: review.add_note(user, escalation_id, body),
        )
