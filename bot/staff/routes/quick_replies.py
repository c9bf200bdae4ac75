"""Prepared answers ("snabbsvar", bot/staff/quick_replies.py): admins list, add, change and
delete them on /admin/quick-replies (a handler gets 403); each change is audited by its
code and the reply's id, never its text.

A handler in a live chat is offered them filled (templates/partials/quick_replies.html,
static/quick_replies.js): the page gets them through the template function
`quick_replies_for_chat`, set here, since the partial is part of the escalation's page.
"""

from __future__ import annotations

from sanic import Sanic, response
from sanic.request import Request

from bot.staff.context import Dashboard
from bot.staff.quick_replies import QuickReplies, QuickReplyError
from bot.staff.web import refuse, render, require_admin

PAGE = "/admin/quick-replies"


def register(app: Sanic, dashboard: Dashboard) -> None:
    replies = QuickReplies.for_contacts_file(dashboard.engine, dashboard.config.contacts_file)
    dashboard.pages.globals["quick_replies_for_chat"] = replies.filled
    review = dashboard.review

    @app.get(PAGE)
    async def quick_replies_page(request: Request):
        if refused := require_admin(dashboard, request):
            return refused
        review.log(request.ctx.session.user, "view_quick_replies")
        return _page(dashboard, request, replies)

    @app.get(f"{PAGE}/<reply_id:int>")
    async def quick_reply_edit_page(request: Request, reply_id: int):
        if refused := require_admin(dashboard, request):
            return refused
        reply = replies.get(reply_id)
        if reply is None:
            return refuse(dashboard, request, "not_found", 404)
        return _page(dashboard, request, replies, editing=reply, title=reply.title, body=reply.body)

    @app.post(PAGE)
    async def quick_reply_add(request: Request):
        if refused := require_admin(dashboard, request):
            return refused
        user = request.ctx.session.user
        title, body = _form(request)
        try:
            reply_id = replies.add(title, body, user.username)
        except QuickReplyError as error:
            return _page(dashboard, request, replies, 400, error=error, title=title, body=body)
        review.log(user, "quick_reply_added", detail=f"id {reply_id}")
        return response.redirect(f"{PAGE}?saved={reply_id}", status=303)

    @app.post(f"{PAGE}/<reply_id:int>")
    async def quick_reply_change(request: Request, reply_id: int):
        if refused := require_admin(dashboard, request):
            return refused
        user = request.ctx.session.user
        reply = replies.get(reply_id)
        if reply is None:
            return refuse(dashboard, request, "not_found", 404)
        title, body = _form(request)
        try:
            replies.change(reply_id, title, body, user.username)
        except QuickReplyError as error:
            return _page(
                dashboard, request, replies, 400, editing=reply, error=error, title=title, body=body
            )
        review.log(user, "quick_reply_changed", detail=f"id {reply_id}")
        return response.redirect(f"{PAGE}?saved={reply_id}", status=303)

    @app.post(f"{PAGE}/<reply_id:int>/delete")
    async def quick_reply_delete(request: Request, reply_id: int):
        if refused := require_admin(dashboard, request):
            return refused
        if not replies.remove(reply_id):
            return refuse(dashboard, request, "not_found", 404)
        review.log(request.ctx.session.user, "quick_reply_deleted", detail=f"id {reply_id}")
        return response.redirect(f"{PAGE}?deleted={reply_id}", status=303)


def _form(request: Request) -> tuple[str, str]:
    form = request.form or {}
    return form.get("title", ""), form.get("body", "")


def _page(
    dashboard: Dashboard,
    request: Request,
    replies: QuickReplies,
    http_status: int = 200,
    error: QuickReplyError | None = None,
    **values,
):
    known = replies.values()
    offered = {reply.id for reply in replies.filled()}
    return render(
        dashboard,
        request,
        "quick_replies.html",
        http_status=http_status,
        replies=replies.all(),
        offered=offered,
        placeholders=known,
        problem=error.code if error else None,
        unknown=error.unknown if error else (),
        saved=request.args.get("saved"),
        deleted=request.args.get("deleted"),
        **values,
    )
