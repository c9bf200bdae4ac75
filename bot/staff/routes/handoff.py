"""A handler in the relative's conversation: join, write, hand back to the bot, end, and
the live view's refresh (live.json).

Joining claims the escalation first and then tells the relative through Rasa; when Rasa
cannot be reached, the join is undone, since nobody was told. Handing back and ending tell
the relative first and change the state only then (web.step_that_may_end_a_handoff).
How the calls reach Rasa: bot/rasa_client.py.
"""

from __future__ import annotations

from sanic import Sanic, response
from sanic.request import Request

from bot.escalations.lifecycle import Step
from bot.escalations.presence import presence
from bot.rasa_client import HandoffError
from bot.staff.context import Dashboard
from bot.staff.review import ReviewError
from bot.staff.transcript import Line, transcript
from bot.staff.web import back_to, refuse, step_that_may_end_a_handoff


def register(app: Sanic, dashboard: Dashboard) -> None:
    review, rasa = dashboard.review, dashboard.rasa

    @app.post("/escalations/<escalation_id:int>/handoff/join")
    async def handoff_join(request: Request, escalation_id: int):
        user = request.ctx.session.user
        detail, conversation = dashboard.conversation_of(escalation_id)
        if detail is None:
            return refuse(dashboard, request, "not_found", 404)
        if conversation is None:
            return back_to(dashboard, request, escalation_id, "conversation_gone")
        try:
            review.start_handoff(user, escalation_id)
        except ReviewError as error:
            return back_to(dashboard, request, escalation_id, error.code)
        try:
            await rasa.execute(conversation, "action_handoff_start")
        except HandoffError as error:
            review.end_handoff(user, escalation_id, "return")  # nobody was told: undo
            return back_to(dashboard, request, escalation_id, error.code)
        return back_to(dashboard, request, escalation_id)

    @app.post("/escalations/<escalation_id:int>/handoff/message")
    async def handoff_message(request: Request, escalation_id: int):
        user = request.ctx.session.user
        try:
            review.check(user, escalation_id, Step.MESSAGE)
        except ReviewError as error:
            return back_to(dashboard, request, escalation_id, error.code)
        _, conversation = dashboard.conversation_of(escalation_id)
        if conversation is None:
            return back_to(dashboard, request, escalation_id, "conversation_gone")
        try:
            await rasa.send_staff_message(conversation, _message_text(request))
        except HandoffError as error:
            return back_to(dashboard, request, escalation_id, error.code)
        review.log(user, "handoff_message", escalation_id)
        review.answered(escalation_id)
        return back_to(dashboard, request, escalation_id)

    @app.post("/escalations/<escalation_id:int>/handoff/typing")
    async def handoff_typing(request: Request, escalation_id: int):
        """The handler in the conversation is typing (typing.js, every few seconds at most):
        shown to the relative where their channel can. Only that handler may (409 for
        anyone else); the answer says nothing of whether it was shown: a convenience."""
        try:
            review.check(request.ctx.session.user, escalation_id, Step.MESSAGE)
        except ReviewError as error:
            return back_to(dashboard, request, escalation_id, error.code)
        _, conversation = dashboard.conversation_of(escalation_id)
        if conversation is not None:
            await rasa.show_typing(conversation)
        return response.empty()

    @app.post("/escalations/<escalation_id:int>/handoff/return")
    async def handoff_return(request: Request, escalation_id: int):
        return await step_that_may_end_a_handoff(dashboard, request, escalation_id, Step.HAND_BACK)

    @app.post("/escalations/<escalation_id:int>/handoff/end")
    async def handoff_end(request: Request, escalation_id: int):
        return await step_that_may_end_a_handoff(dashboard, request, escalation_id, Step.END)

    @app.get("/escalations/<escalation_id:int>/live.json")
    async def live(request: Request, escalation_id: int):
        detail, conversation = dashboard.conversation_of(escalation_id)
        if detail is None:
            return response.json({"problem": "not_found"}, status=404)
        after = _after(request)
        events = transcript(dashboard.conversations, conversation, after) if conversation else []
        present = presence(dashboard.engine, detail.conversation_ref)
        return response.json(
            {
                "conversation": "live" if conversation else "gone",
                "lines": [_line_json(event_id, line) for event_id, line in events],
                "relative_connected": None if present is None else present.connected,
                "relative_typing": present is not None and present.is_typing(),
                "presence_since": None if present is None else present.since.isoformat(),
                "handoff_mine": detail.handoff_by == request.ctx.session.user.id,
                "in_handoff": detail.handoff_by is not None,
                "status": detail.item.status,
            }
        )


def _message_text(request: Request) -> str:
    """The handler's message from a JSON body (the live view) or a form; anything that is
    not text is no text (RasaConversations refuses an empty message)."""
    body = (
        request.json
        if request.headers.get("content-type", "").startswith("application/json")
        else request.form
    )
    text = (body or {}).get("text", "") if isinstance(body, dict) else ""
    return text if isinstance(text, str) else ""


def _after(request: Request) -> int:
    """The last event the live view has shown; a malformed value means from the start."""
    try:
        return max(0, int(request.args.get("after", "0")))
    except ValueError:
        return 0


def _line_json(event_id: int, line: Line) -> dict:
    return {"id": event_id, "speaker": line.speaker, "text": line.text, "at": line.at.isoformat()}
