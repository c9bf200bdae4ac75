"""Accounts and the audit log: an admin creates accounts (each gets a setup link),
deactivates, activates or resets them, and reads the audit log. Every route here refuses a
handler (web.require_admin).

An admin may not deactivate or reset their own account: the dashboard would lock them out,
and with them perhaps the last admin.
"""

from __future__ import annotations

from collections.abc import Callable

from sanic import Sanic
from sanic.request import Request

from bot.staff.accounts import AccountError
from bot.staff.context import Dashboard
from bot.staff.model import Role
from bot.staff.web import refuse, render, require_admin


def _deactivate(dashboard: Dashboard, user_id: int) -> str | None:
    dashboard.accounts.set_active(user_id, False)
    return None


def _activate(dashboard: Dashboard, user_id: int) -> str | None:
    dashboard.accounts.set_active(user_id, True)
    return None


def _reset(dashboard: Dashboard, user_id: int) -> str | None:
    return _setup_link(dashboard, dashboard.accounts.reset(user_id))


# A change to an account, by the name in its URL: it makes the change and returns the new
# setup link when it made one. The change is audited as "<name>_user".
USER_CHANGES: dict[str, Callable[[Dashboard, int], str | None]] = {
    "deactivate": _deactivate,
    "activate": _activate,
    "reset": _reset,
}
ALLOWED_ON_YOURSELF = "activate"


def register(app: Sanic, dashboard: Dashboard) -> None:
    accounts, review = dashboard.accounts, dashboard.review

    @app.get("/admin/users")
    async def users_page(request: Request):
        if refused := require_admin(dashboard, request):
            return refused
        review.log(request.ctx.session.user, "view_users")
        return _users_page_with(dashboard, request)

    @app.post("/admin/users")
    async def create_user(request: Request):
        if refused := require_admin(dashboard, request):
            return refused
        form = request.form or {}
        username = form.get("username", "").strip()
        try:
            token = accounts.create_user(username, Role(form.get("role", "handler")))
        except (AccountError, ValueError) as error:
            problem = error.code if isinstance(error, AccountError) else "invalid_role"
            return _users_page_with(dashboard, request, 400, problem=problem)
        review.log(request.ctx.session.user, "create_user", detail=f"user {username}")
        return _users_page_with(
            dashboard, request, setup_for=username, setup_link=_setup_link(dashboard, token)
        )

    @app.post(f"/admin/users/<user_id:int>/<change:({'|'.join(USER_CHANGES)})>")
    async def change_user(request: Request, user_id: int, change: str):
        if refused := require_admin(dashboard, request):
            return refused
        target = accounts.user(user_id)
        if target is None:
            return refuse(dashboard, request, "not_found", 404)
        if target.id == request.ctx.session.user.id and change != ALLOWED_ON_YOURSELF:
            return refuse(dashboard, request, "not_yourself", 400)
        setup_link = USER_CHANGES[change](dashboard, user_id)
        review.log(request.ctx.session.user, f"{change}_user", detail=f"user {target.username}")
        return _users_page_with(
            dashboard,
            request,
            setup_for=target.username if setup_link else None,
            setup_link=setup_link,
        )

    @app.get("/admin/audit")
    async def audit_page(request: Request):
        if refused := require_admin(dashboard, request):
            return refused
        review.log(request.ctx.session.user, "view_audit")
        return render(dashboard, request, "audit.html", entries=review.audit())


def _setup_link(dashboard: Dashboard, token: str) -> str:
    return f"{dashboard.config.dashboard_url}/setup/{token}"


def _users_page_with(dashboard: Dashboard, request: Request, http_status: int = 200, **values):
    return render(
        dashboard,
        request,
        "users.html",
        http_status=http_status,
        users=dashboard.accounts.users(),
        roles=[role.value for role in Role],
        **values,
    )
