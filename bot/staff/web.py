"""What the dashboard's route modules (bot/staff/routes/) share: rendering a page, refusing
a request, the session cookie, the admin check, and answering a step on an escalation.

They live here once, so that every page gets the same session values, every refusal the
same problem page and status, and every refused step the same answer (a 409 for JSON, the
page again for a form), whichever route module it comes from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sanic import response
from sanic.request import Request

from bot.escalations.lifecycle import Step, ends_a_handoff
from bot.rasa_client import HandoffError
from bot.staff.accounts import StaffSession, User
from bot.staff.context import Dashboard
from bot.staff.review import Review, ReviewError

COOKIE = "vv_staff"

# -- pages and refusals --------------------------------------------------------------------


def render(
    dashboard: Dashboard, request: Request, name: str, http_status: int = 200, **values
) -> response.HTTPResponse:
    session: StaffSession | None = request.ctx.session
    html = dashboard.pages.get_template(name).render(
        session=session,
        csrf=session.csrf_token if session else "",
        available=session.user.available if session else False,
        request_path=request.path,
        **values,
    )
    return response.html(html, status=http_status)


def refuse(
    dashboard: Dashboard, request: Request, problem: str, status: int
) -> response.HTTPResponse:
    return render(dashboard, request, "problem.html", http_status=status, problem=problem)


def require_admin(dashboard: Dashboard, request: Request) -> response.HTTPResponse | None:
    """The refusal for a handler on an admin's page; None for an admin."""
    if not request.ctx.session.user.is_admin:
        return refuse(dashboard, request, "admin_only", 403)
    return None


def set_cookie(
    dashboard: Dashboard, resp: response.HTTPResponse, value: str, max_age: int | None
) -> None:
    resp.cookies[COOKIE] = value
    cookie = resp.cookies[COOKIE]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    if dashboard.secure_cookie:
        cookie["secure"] = True
    if max_age is not None:
        cookie["max-age"] = max_age


# -- the answer to a step on one escalation ---------------------------------------------------


def to_detail(escalation_id: int, problem: str | None = None) -> response.HTTPResponse:
    suffix = f"?problem={problem}" if problem else ""
    return response.redirect(f"/escalations/{escalation_id}{suffix}", status=303)


def back_to(
    dashboard: Dashboard, request: Request, escalation_id: int, problem: str | None = None
) -> response.HTTPResponse:
    """A refused step is a 409 for the live view's script and for any client that asks
    for JSON; a form goes back to the page with the problem named."""
    if problem == "not_found":
        return refuse(dashboard, request, "not_found", 404)
    if request.headers.get("accept", "").startswith("application/json"):
        status = 200 if problem is None else 409
        message = dashboard.problem_texts.get(problem) if problem else None
        return response.json(
            {"ok": problem is None, "problem": problem, "message": message}, status=status
        )
    return to_detail(escalation_id, problem)


def answered(
    dashboard: Dashboard, request: Request, escalation_id: int, step: Callable[[User], object]
) -> response.HTTPResponse:
    """Runs a step that needs no word to the relative; a refusal names its reason."""
    try:
        step(request.ctx.session.user)
    except ReviewError as error:
        return back_to(dashboard, request, escalation_id, error.code)
    return back_to(dashboard, request, escalation_id)


@dataclass(frozen=True)
class EndingStep:
    """A step that ends the handoff when one is open (bot/escalations/lifecycle.py)."""

    tell_the_relative: str  # Rasa's action: what the relative hears; the bot answers again
    take: Callable[..., object]  # (review, user, escalation_id, **given): the change


def _release(review: Review, user: User, escalation_id: int, **given) -> None:
    review.release(user, escalation_id)


def _resolve(review: Review, user: User, escalation_id: int, **given) -> None:
    review.resolve(user, escalation_id, given["outcome"])


def _hand_back(review: Review, user: User, escalation_id: int, **given) -> None:
    review.end_handoff(user, escalation_id, "return")


def _end(review: Review, user: User, escalation_id: int, **given) -> None:
    review.end_handoff(user, escalation_id, "end")


STEPS_THAT_MAY_END_A_HANDOFF = {
    Step.RELEASE: EndingStep("action_handoff_end", _release),
    Step.HAND_BACK: EndingStep("action_handoff_end", _hand_back),
    Step.RESOLVE: EndingStep("action_handoff_close", _resolve),
    Step.END: EndingStep("action_handoff_close", _end),
}


async def step_that_may_end_a_handoff(
    dashboard: Dashboard, request: Request, escalation_id: int, step: Step, **given
) -> response.HTTPResponse:
    """Release, resolve, hand back, end: the relative is told first (Rasa's action,
    which also lets the bot answer again), then the state changes. Rasa unreachable:
    nothing changes, the handler can try again."""
    user = request.ctx.session.user
    ending = STEPS_THAT_MAY_END_A_HANDOFF[step]
    try:
        before = dashboard.review.check(user, escalation_id, step, **given)
        if ends_a_handoff(step, before):
            await _tell_the_relative(dashboard, escalation_id, ending.tell_the_relative)
        ending.take(dashboard.review, user, escalation_id, **given)
    except (ReviewError, HandoffError) as error:
        return back_to(dashboard, request, escalation_id, error.code)
    return back_to(dashboard, request, escalation_id)


async def _tell_the_relative(dashboard: Dashboard, escalation_id: int, action: str) -> None:
    """Runs Rasa's `action` in the escalation's conversation, if it still exists."""
    _, conversation = dashboard.conversation_of(escalation_id)
    if conversation is not None:
        await dashboard.rasa.execute(conversation, action)
