"""Login, logout, account setup links and the health check: the routes a visitor without a
session may reach (app.py PUBLIC_PATHS), and logout, which ends one.

Password checks (argon2, a quarter of a second each) run off the event loop, so a flood of
logins does not stall the staff who are working (issue 17).
"""

from __future__ import annotations

import asyncio

from sanic import Sanic, response
from sanic.request import Request

from bot.health import add_health_routes, sql_reachable
from bot.staff.accounts import AccountError, User
from bot.staff.context import Dashboard
from bot.staff.security import setup_totp_secret, totp_uri
from bot.staff.web import refuse, render, set_cookie


def register(app: Sanic, dashboard: Dashboard) -> None:
    accounts, review = dashboard.accounts, dashboard.review

    # /health, and /ready: the dashboard cannot work without its database (bot/health.py).
    add_health_routes(app, lambda _: {"database": sql_reachable(dashboard.engine)})

    @app.get("/login")
    async def login_page(request: Request):
        if request.ctx.session:
            return response.redirect("/")
        return render(dashboard, request, "login.html")

    @app.post("/login")
    async def login(request: Request):
        form = request.form or {}
        result = await asyncio.to_thread(
            accounts.log_in,
            form.get("username", ""),
            form.get("password", ""),
            form.get("code", ""),
        )
        if result.user is None:
            review.log(None, "login_failed", detail=result.problem or "invalid")
            return render(dashboard, request, "login.html", http_status=401, problem=result.problem)
        session = accounts.start_session(result.user)
        review.log(result.user, "login")
        resp = response.redirect("/")
        set_cookie(dashboard, resp, session.token, None)
        return resp

    @app.post("/logout")
    async def logout(request: Request):
        session = request.ctx.session
        accounts.end_session(session.token)
        review.log(session.user, "logout")
        resp = response.redirect("/login")
        set_cookie(dashboard, resp, "", 0)
        return resp

    @app.get("/setup/<token>")
    async def setup_page(request: Request, token: str):
        user = accounts.setup_user(token)
        if user is None:
            return refuse(dashboard, request, "setup_link_invalid", 404)
        return _setup_form(dashboard, request, user, token, _totp_secret(dashboard, token))

    @app.post("/setup/<token>")
    async def setup(request: Request, token: str):
        form = request.form or {}
        user = accounts.setup_user(token)
        if user is None:
            return refuse(dashboard, request, "setup_link_invalid", 404)
        secret = _totp_secret(dashboard, token)
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
            return _setup_form(dashboard, request, user, token, secret, error.code)
        review.log(user, "account_setup")
        return render(dashboard, request, "problem.html", problem="setup_done")


def _totp_secret(dashboard: Dashboard, token: str) -> str:
    """The link's TOTP secret: derived on the server, never taken back from the browser."""
    return setup_totp_secret(token, dashboard.config.pseudonym_key)


def _setup_form(
    dashboard: Dashboard,
    request: Request,
    user: User,
    token: str,
    secret: str,
    problem: str | None = None,
) -> response.HTTPResponse:
    return render(
        dashboard,
        request,
        "setup.html",
        http_status=400 if problem else 200,
        user=user,
        secret=secret,
        uri=totp_uri(secret, user.username),
        token=token,
        problem=problem,
    )
