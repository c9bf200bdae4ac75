"""The staff dashboard's web application (Sanic, server-rendered, no external CDN).

Security, in one place:
- Every page needs a live session (bot/staff/accounts.py) but /login, /setup/<token>,
  /health and /static.
- Every POST carries the session's CSRF token (form field `csrf` or header
  X-CSRF-Token); without it: 403 and nothing changes.
- The cookie is HttpOnly, SameSite=Strict, Secure when the dashboard is served over HTTPS.
- A Content-Security-Policy without 'unsafe-inline' (scripts and styles come from
  /static only), no framing, no referrer; templates escape every value (Jinja2
  autoescape), and the queue's live update writes text nodes, never HTML.
- No client IP address is logged or stored (Sanic's access log is off).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from itertools import count
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.request import Request

from bot.escalations.lifecycle import Step, ends_a_handoff
from bot.escalations.presence import presence
from bot.notify import category_labels
from bot.settings import Settings
from bot.staff.accounts import AccountError, Accounts, StaffSession
from bot.staff.availability import set_available
from bot.staff.handoff import HandoffError, RasaConversations
from bot.staff.model import OUTCOMES, Role
from bot.staff.review import LEVELS, STATUSES, Review, ReviewError
from bot.staff.security import same, setup_totp_secret, totp_uri
from bot.staff.transcript import ConversationFinder, transcript
from bot.store.engine import make_engine, migrate
from bot.store.events import ConversationEvents

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "vv_staff"
PUBLIC_PATHS = ("/login", "/setup/", "/health", "/static/")
# Served without looking at the cookie: no session lookup (a database write) per file.
SESSIONLESS_PATHS = ("/health", "/static/")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_app_numbers = count(1)


def templates(time_zone: str = "Europe/Stockholm") -> Environment:
    zone = ZoneInfo(time_zone)

    def when(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        """A stored UTC time as staff read it: in the deployment's time zone."""
        return moment.astimezone(zone).strftime(pattern) if moment else ""

    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        outcomes=OUTCOMES, levels=LEVELS, statuses=STATUSES, risk_categories=category_labels()
    )
    environment.filters["when"] = when
    return environment


def is_background_poll(method: str, path: str) -> bool:
    """The queue's and a live chat's refreshes, which the page makes on its own every few
    seconds: they must not count as the handler being there, or the idle timeout never ends
    a session left open in a tab (issue 17)."""
    return method == "GET" and path.endswith(".json")


def create_app(config: Settings) -> Sanic:
    # Sanic keeps a registry of app names; tests build several apps in one process.
    app = Sanic(f"vagvisaren_staff_{next(_app_numbers)}")
    app.config.FORWARDED_SECRET = None
    app.config.REAL_IP_HEADER = None
    app.config.KEEP_ALIVE_TIMEOUT = 5
    app.config.REQUEST_MAX_SIZE = config.max_request_bytes  # 413 beyond it (issue 17)
    engine = make_engine(config.escalation_database_url)
    conversations = ConversationEvents(make_engine(config.tracker_database_url))
    if not config.staff_totp_key:
        raise RuntimeError("STAFF_TOTP_KEY is not set: `make env` adds it to .env")
    accounts = Accounts(engine, config.staff_totp_key)
    review, pages = Review(engine), templates(config.staff_time_zone)
    rasa = RasaConversations(config.rasa_internal_url, config.rasa_jwt_secret)
    find_conversation = ConversationFinder(conversations, config.pseudonym_key)
    secure_cookie = config.dashboard_url.startswith("https://")
    app.static("/static", str(HERE / "static"))

    # The same words the pages show, for the live view's script (templates/labels.html).
    problem_texts = pages.get_template("labels.html").module.problem_text

    def render(
        request: Request, name: str, http_status: int = 200, **values
    ) -> response.HTTPResponse:
        session: StaffSession | None = request.ctx.session
        html = pages.get_template(name).render(
            session=session,
            csrf=session.csrf_token if session else "",
            available=session.user.available if session else False,
            request_path=request.path,
            **values,
        )
        return response.html(html, status=http_status)

    def refuse(request: Request, problem: str, status: int) -> response.HTTPResponse:
        return render(request, "problem.html", http_status=status, problem=problem)

    @app.middleware("request")
    async def require_session(request: Request):
        path = request.path
        if path.startswith(SESSIONLESS_PATHS):
            request.ctx.session = None
            return None
        request.ctx.session = accounts.session(
            request.cookies.get(COOKIE), touch=not is_background_poll(request.method, path)
        )
        if any(path == public or path.startswith(public) for public in PUBLIC_PATHS):
            return None
        if request.ctx.session is None:
            if request.method == "GET" and not path.endswith(".json"):
                return response.redirect("/login")
            return refuse(request, "session_expired", 401)
        if request.method == "POST":
            sent = request.headers.get("x-csrf-token") or (request.form or {}).get("csrf")
            if not same(sent, request.ctx.session.csrf_token):
                return refuse(request, "csrf", 403)
        return None

    @app.middleware("response")
    async def security_headers(request: Request, resp: response.HTTPResponse):
        for header, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(header, value)

    def set_cookie(resp: response.HTTPResponse, value: str, max_age: int | None) -> None:
        resp.cookies[COOKIE] = value
        cookie = resp.cookies[COOKIE]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/"
        if secure_cookie:
            cookie["secure"] = True
        if max_age is not None:
            cookie["max-age"] = max_age

    def require_admin(request: Request) -> response.HTTPResponse | None:
        if not request.ctx.session.user.is_admin:
            return refuse(request, "admin_only", 403)
        return None

    # -- health and login ------------------------------------------------------------------

    @app.get("/health")
    async def health(request: Request):
        return response.json({"status": "ok"})

    @app.get("/login")
    async def login_page(request: Request):
        if request.ctx.session:
            return response.redirect("/")
        return render(request, "login.html")

    @app.post("/login")
    async def login(request: Request):
        form = request.form or {}
        # argon2 takes a quarter of a second: off the event loop, so a flood of logins does
        # not stall the staff who are working (issue 17).
        result = await asyncio.to_thread(
            accounts.log_in,
            form.get("username", ""),
            form.get("password", ""),
            form.get("code", ""),
        )
        if result.user is None:
            review.log(None, "login_failed", detail=result.problem or "invalid")
            return render(request, "login.html", http_status=401, problem=result.problem)
        session = accounts.start_session(result.user)
        review.log(result.user, "login")
        resp = response.redirect("/")
        set_cookie(resp, session.token, None)
        return resp

    @app.post("/logout")
    async def logout(request: Request):
        session = request.ctx.session
        accounts.end_session(session.token)
        review.log(session.user, "logout")
        resp = response.redirect("/login")
        set_cookie(resp, "", 0)
        return resp

    # -- setup links -----------------------------------------------------------------------

    def setup_form(request, user, token: str, secret: str, problem: str | None = None):
        return render(
            request,
            "setup.html",
            http_status=400 if problem else 200,
            user=user,
            secret=secret,
            uri=totp_uri(secret, user.username),
            token=token,
            problem=problem,
        )

    @app.get("/setup/<token>")
    async def setup_page(request: Request, token: str):
        user = accounts.setup_user(token)
        if user is None:
            return refuse(request, "setup_link_invalid", 404)
        return setup_form(request, user, token, setup_totp_secret(token, config.pseudonym_key))

    @app.post("/setup/<token>")
    async def setup(request: Request, token: str):
        form = request.form or {}
        user = accounts.setup_user(token)
        if user is None:
            return refuse(request, "setup_link_invalid", 404)
        secret = setup_totp_secret(token, config.pseudonym_key)
        try:
            if form.get("password", "") != form.get("password_again", ""):
                raise AccountError("passwords_differ")
            await asyncio.to_thread(
                accounts.complete_setup,
                token,
                form.get("password", ""),
                secret,
                form.get("code", ""),
            )
        except AccountError as error:
            return setup_form(request, user, token, secret, error.code)
        review.log(user, "account_setup")
        return render(request, "problem.html", problem="setup_done")

    # -- the queue ---------------------------------------------------------------------------

    def filters(request: Request) -> tuple[str | None, str | None]:
        status = request.args.get("status")
        level = request.args.get("level")
        return (
            status if status in (*STATUSES, "all") else None,
            level if level in LEVELS else None,
        )

    @app.get("/")
    async def queue_page(request: Request):
        status, level = filters(request)
        review.log(request.ctx.session.user, "view_queue")
        return render(
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

    # -- one escalation ------------------------------------------------------------------------

    @app.get("/escalations/<escalation_id:int>")
    async def detail_page(request: Request, escalation_id: int):
        detail = review.detail(escalation_id)
        if detail is None:
            return refuse(request, "not_found", 404)
        review.log(request.ctx.session.user, "view_escalation", escalation_id)
        conversation = find_conversation(detail.conversation_ref)
        events = transcript(conversations, conversation) if conversation else []
        return render(
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

    def to_detail(escalation_id: int, problem: str | None = None) -> response.HTTPResponse:
        suffix = f"?problem={problem}" if problem else ""
        return response.redirect(f"/escalations/{escalation_id}{suffix}", status=303)

    def conversation_of(escalation_id: int) -> tuple[object, str | None]:
        detail = review.detail(escalation_id)
        if detail is None:
            return None, None
        found = find_conversation(detail.conversation_ref)
        return detail, found

    def back_to(request: Request, escalation_id: int, problem: str | None = None):
        """A refused step is a 409 for the live view's script and for any client that asks
        for JSON; a form goes back to the page with the problem named."""
        if problem == "not_found":
            return refuse(request, "not_found", 404)
        if request.headers.get("accept", "").startswith("application/json"):
            status = 200 if problem is None else 409
            message = problem_texts.get(problem) if problem else None
            return response.json(
                {"ok": problem is None, "problem": problem, "message": message}, status=status
            )
        return to_detail(escalation_id, problem)

    # What the relative is told when a step ends an open handoff: the bot answers again.
    TELL_THE_RELATIVE = {
        Step.RELEASE: "action_handoff_end",
        Step.HAND_BACK: "action_handoff_end",
        Step.RESOLVE: "action_handoff_close",
        Step.END: "action_handoff_close",
    }

    async def step_that_may_end_a_handoff(
        request: Request, escalation_id: int, step: Step, **given
    ):
        """Release, resolve, hand back, end: the relative is told first (Rasa's action,
        which also lets the bot answer again), then the state changes. Rasa unreachable:
        nothing changes, the handler can try again."""
        user = request.ctx.session.user
        try:
            before = review.check(user, escalation_id, step, **given)
            if ends_a_handoff(step, before):
                _, conversation = conversation_of(escalation_id)
                if conversation is not None:
                    await rasa.execute(conversation, TELL_THE_RELATIVE[step])
            how = {Step.HAND_BACK: "return", Step.END: "end"}.get(step)
            if how:
                review.end_handoff(user, escalation_id, how)
            elif step is Step.RELEASE:
                review.release(user, escalation_id)
            else:
                review.resolve(user, escalation_id, given["outcome"])
        except (ReviewError, HandoffError) as error:
            return back_to(request, escalation_id, error.code)
        return back_to(request, escalation_id)

    def answered(request: Request, escalation_id: int, step) -> response.HTTPResponse:
        """Runs a step that needs no word to the relative; a refusal names its reason."""
        try:
            step(request.ctx.session.user)
        except ReviewError as error:
            return back_to(request, escalation_id, error.code)
        return back_to(request, escalation_id)

    @app.post("/escalations/<escalation_id:int>/claim")
    async def escalation_claim(request: Request, escalation_id: int):
        return answered(request, escalation_id, lambda user: review.claim(user, escalation_id))

    @app.post("/escalations/<escalation_id:int>/take_over")
    async def escalation_take_over(request: Request, escalation_id: int):
        return answered(request, escalation_id, lambda user: review.take_over(user, escalation_id))

    @app.post("/escalations/<escalation_id:int>/release")
    async def escalation_release(request: Request, escalation_id: int):
        return await step_that_may_end_a_handoff(request, escalation_id, Step.RELEASE)

    @app.post("/escalations/<escalation_id:int>/resolve")
    async def escalation_resolve(request: Request, escalation_id: int):
        outcome = (request.form or {}).get("outcome", "")
        return await step_that_may_end_a_handoff(
            request, escalation_id, Step.RESOLVE, outcome=outcome
        )

    @app.post("/escalations/<escalation_id:int>/note")
    async def escalation_note(request: Request, escalation_id: int):
        body = (request.form or {}).get("body", "")
        return answered(
            request, escalation_id, lambda user: review.add_note(user, escalation_id, body)
        )

    # -- live handoff ----------------------------------------------------------------------------

    @app.post("/escalations/<escalation_id:int>/handoff/join")
    async def handoff_join(request: Request, escalation_id: int):
        user = request.ctx.session.user
        detail, conversation = conversation_of(escalation_id)
        if detail is None:
            return refuse(request, "not_found", 404)
        if conversation is None:
            return back_to(request, escalation_id, "conversation_gone")
        try:
            review.start_handoff(user, escalation_id)
        except ReviewError as error:
            return back_to(request, escalation_id, error.code)
        try:
            await rasa.execute(conversation, "action_handoff_start")
        except HandoffError as error:
            review.end_handoff(user, escalation_id, "return")  # nobody was told: undo
            return back_to(request, escalation_id, error.code)
        return back_to(request, escalation_id)

    @app.post("/escalations/<escalation_id:int>/handoff/message")
    async def handoff_message(request: Request, escalation_id: int):
        user = request.ctx.session.user
        try:
            review.check(user, escalation_id, Step.MESSAGE)
        except ReviewError as error:
            return back_to(request, escalation_id, error.code)
        _, conversation = conversation_of(escalation_id)
        if conversation is None:
            return back_to(request, escalation_id, "conversation_gone")
        body = (
            request.json
            if request.headers.get("content-type", "").startswith("application/json")
            else request.form
        )
        text = (body or {}).get("text", "") if isinstance(body, dict) else ""
        try:
            await rasa.send_staff_message(conversation, text if isinstance(text, str) else "")
        except HandoffError as error:
            return back_to(request, escalation_id, error.code)
        review.log(user, "handoff_message", escalation_id)
        return back_to(request, escalation_id)

    @app.post("/escalations/<escalation_id:int>/handoff/return")
    async def handoff_return(request: Request, escalation_id: int):
        return await step_that_may_end_a_handoff(request, escalation_id, Step.HAND_BACK)

    @app.post("/escalations/<escalation_id:int>/handoff/end")
    async def handoff_end(request: Request, escalation_id: int):
        return await step_that_may_end_a_handoff(request, escalation_id, Step.END)

    @app.get("/escalations/<escalation_id:int>/live.json")
    async def live(request: Request, escalation_id: int):
        detail, conversation = conversation_of(escalation_id)
        if detail is None:
            return response.json({"problem": "not_found"}, status=404)
        try:
            after = max(0, int(request.args.get("after", "0")))
        except ValueError:
            after = 0
        events = transcript(conversations, conversation, after) if conversation else []
        present = presence(engine, detail.conversation_ref)
        return response.json(
            {
                "conversation": "live" if conversation else "gone",
                "lines": [
                    {
                        "id": event_id,
                        "speaker": line.speaker,
                        "text": line.text,
                        "at": line.at.isoformat(),
                    }
                    for event_id, line in events
                ],
                "relative_connected": None if present is None else present.connected,
                "presence_since": None if present is None else present.since.isoformat(),
                "handoff_mine": detail.handoff_by == request.ctx.session.user.id,
                "in_handoff": detail.handoff_by is not None,
                "status": detail.item.status,
            }
        )

    @app.post("/availability")
    async def availability(request: Request):
        user = request.ctx.session.user
        available = (request.form or {}).get("available") == "on"
        set_available(engine, user.id, available)
        review.log(user, "available" if available else "unavailable")
        back = (request.form or {}).get("back", "/")
        if not back.startswith("/") or back.startswith("//"):
            back = "/"  # only pages of this dashboard
        return response.redirect(back, status=303)

    # -- administration ----------------------------------------------------------------------

    def users_page_with(request: Request, http_status: int = 200, **values):
        return render(
            request,
            "users.html",
            http_status=http_status,
            users=accounts.users(),
            roles=[role.value for role in Role],
            **values,
        )

    @app.get("/admin/users")
    async def users_page(request: Request):
        if refused := require_admin(request):
            return refused
        review.log(request.ctx.session.user, "view_users")
        return users_page_with(request)

    @app.post("/admin/users")
    async def create_user(request: Request):
        if refused := require_admin(request):
            return refused
        form = request.form or {}
        username = form.get("username", "").strip()
        try:
            token = accounts.create_user(username, Role(form.get("role", "handler")))
        except (AccountError, ValueError) as error:
            problem = error.code if isinstance(error, AccountError) else "invalid_role"
            return users_page_with(request, 400, problem=problem)
        review.log(request.ctx.session.user, "create_user", detail=f"user {username}")
        return users_page_with(
            request, setup_for=username, setup_link=f"{config.dashboard_url}/setup/{token}"
        )

    @app.post("/admin/users/<user_id:int>/<change:(deactivate|activate|reset)>")
    async def change_user(request: Request, user_id: int, change: str):
        if refused := require_admin(request):
            return refused
        target = accounts.user(user_id)
        if target is None:
            return refuse(request, "not_found", 404)
        if target.id == request.ctx.session.user.id and change != "activate":
            return refuse(request, "not_yourself", 400)
        setup_link = None
        if change == "reset":
            setup_link = f"{config.dashboard_url}/setup/{accounts.reset(user_id)}"
        else:
            accounts.set_active(user_id, change == "activate")
        review.log(request.ctx.session.user, f"{change}_user", detail=f"user {target.username}")
        return users_page_with(
            request, setup_for=target.username if setup_link else None, setup_link=setup_link
        )

    @app.get("/admin/audit")
    async def audit_page(request: Request):
        if refused := require_admin(request):
            return refused
        review.log(request.ctx.session.user, "view_audit")
        return render(request, "audit.html", entries=review.audit())

    @app.exception(Exception)
    async def failure(request: Request, error: Exception):
        status = getattr(error, "status_code", 500)
        if status >= 500:
            # The type only: an exception's text can carry what a relative wrote. The
            # traceback (code locations, no values) at DEBUG.
            logger.error(
                "Dashboard error: %s",
                type(error).__name__,
                exc_info=logger.isEnabledFor(logging.DEBUG),
            )
        if not hasattr(request.ctx, "session"):
            request.ctx.session = None
        return refuse(request, "not_found" if status == 404 else "error", status)

    @app.before_server_start
    async def prepare_database(app, _loop):
        migrate(config.escalation_database_url)
        if sealed := accounts.seal_clear_totp_secrets():
            logger.info("Sealed %d TOTP secret(s) stored in clear by an earlier version", sealed)

    return app
