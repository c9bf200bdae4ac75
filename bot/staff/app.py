"""The staff dashboard's web application (Sanic, server-rendered, no external CDN).

create_app is an app factory: it builds what every route shares once (bot/staff/context.py
Dashboard), installs what guards every request (below), and lets each route module
(bot/staff/routes/) add its routes. What the route modules share is in bot/staff/web.py.

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

import logging
from datetime import datetime
from itertools import count
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.request import Request

from bot.notify import category_labels
from bot.privacy.redaction import load_redactor
from bot.rasa_client import RasaConversations
from bot.settings import Settings
from bot.staff.accounts import Accounts
from bot.staff.context import Dashboard
from bot.staff.model import OUTCOMES
from bot.staff.review import LEVELS, STATUSES, Review
from bot.staff.routes import (
    admin,
    auth,
    escalation,
    handoff,
    queue,
    quick_replies,
    statistics,
    supervisor,
)
from bot.staff.security import same
from bot.staff.transcript import ConversationFinder
from bot.staff.web import COOKIE, refuse
from bot.store.engine import make_engine, migrate
from bot.store.events import conversation_events

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
PUBLIC_PATHS = ("/login", "/setup/", "/health", "/ready", "/static/")
# Served without looking at the cookie: no session lookup (a database write) per file.
SESSIONLESS_PATHS = ("/health", "/ready", "/static/")
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
ROUTE_MODULES = (
    auth,
    queue,
    escalation,
    handoff,
    admin,
    quick_replies,
    supervisor,
    statistics,
)
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
    dashboard = build_dashboard(config)
    app.ctx.dashboard = dashboard
    app.static("/static", str(HERE / "static"))
    require_a_session(app, dashboard)
    add_security_headers(app)
    for routes in ROUTE_MODULES:
        routes.register(app, dashboard)
    answer_failures(app, dashboard)
    prepare_the_database_at_start(app, dashboard)
    return app


def build_dashboard(config: Settings) -> Dashboard:
    engine = make_engine(config.escalation_database_url)
    conversations = conversation_events(config.tracker_database_url)
    if not config.staff_totp_key:
        raise RuntimeError("STAFF_TOTP_KEY is not set: `make env` adds it to .env")
    pages = templates(config.staff_time_zone)
    return Dashboard(
        config=config,
        engine=engine,
        accounts=Accounts(engine, config.staff_totp_key),
        review=Review(engine, load_redactor(config.contacts_file)),
        pages=pages,
        # The same words the pages show, for the live view's script (templates/labels.html).
        problem_texts=pages.get_template("labels.html").module.problem_text,
        rasa=RasaConversations(config.rasa_internal_url, config.rasa_jwt_secret),
        conversations=conversations,
        find_conversation=ConversationFinder(conversations, config.pseudonym_key),
    )


def require_a_session(app: Sanic, dashboard: Dashboard) -> None:
    """Every request but the public ones needs a live session, and every POST its CSRF
    token. The session is looked up for the public pages too (login redirects a visitor
    who has one)."""

    @app.middleware("request")
    async def require_session(request: Request):
        path = request.path
        if path.startswith(SESSIONLESS_PATHS):
            request.ctx.session = None
            return None
        request.ctx.session = dashboard.accounts.session(
            request.cookies.get(COOKIE), touch=not is_background_poll(request.method, path)
        )
        if any(path == public or path.startswith(public) for public in PUBLIC_PATHS):
            return None
        if request.ctx.session is None:
            if request.method == "GET" and not path.endswith(".json"):
                return response.redirect("/login")
            return refuse(dashboard, request, "session_expired", 401)
        if request.method == "POST":
            sent = request.headers.get("x-csrf-token") or (request.form or {}).get("csrf")
            if not same(sent, request.ctx.session.csrf_token):
                return refuse(dashboard, request, "csrf", 403)
        return None


def add_security_headers(app: Sanic) -> None:
    @app.middleware("response")
    async def security_headers(request: Request, resp: response.HTTPResponse):
        for header, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(header, value)


def answer_failures(app: Sanic, dashboard: Dashboard) -> None:
    """Any error is the problem page with its status; a 500 is logged by its type only."""

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
        return refuse(dashboard, request, "not_found" if status == 404 else "error", status)


def prepare_the_database_at_start(app: Sanic, dashboard: Dashboard) -> None:
    """The escalation store's tables are created or upgraded, and TOTP secrets an earlier
    version stored in clear are sealed, before the first request."""

    @app.before_server_start
    async def prepare_database(app, _loop):
        migrate(dashboard.config.escalation_database_url)
        if sealed := dashboard.accounts.seal_clear_totp_secrets():
            logger.info("Sealed %d TOTP secret(s) stored in clear by an earlier version", sealed)
