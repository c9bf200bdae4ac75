"""Prepared answers, transfer and the supervisor's view over HTTP (issue 20): a real
dashboard on a loopback port with its own SQLite databases, and a Rasa address where
nothing answers (the live relative is in tests/browser/test_staff_live_tools_browser.py).

Roles, CSRF, the audit log (codes and ids, never text), placeholders filled from the
deployment's contact file, and refusals with their Swedish words.
"""

from __future__ import annotations

import html
import uuid

import pytest
from sqlalchemy import select

from bot.contacts import load_contacts
from bot.launcher import free_port
from bot.staff.model import Role
from bot.store.engine import make_engine
from bot.store.tables import quick_replies, staff_audit
from tests.integration.test_staff_dashboard import (
    escalate,
    put_in_state,
    row_of,
    save_conversation,
    user_id,
)
from tests.support.settings import settings
from tests.support.staff_server import staff_server

CONTACTS = {contact.id: contact for contact in load_contacts(settings.contacts_file)}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    nowhere = f"http://127.0.0.1:{free_port()}"  # Rasa cannot be reached
    with staff_server(tmp_path_factory.mktemp("tools"), {"RASA_INTERNAL_URL": nowhere}) as server:
        yield server


def audit_of(server, action: str) -> list:
    with make_engine(server.escalation_url).connect() as connection:
        return connection.execute(
            select(staff_audit).where(staff_audit.c.action == action).order_by(staff_audit.c.id)
        ).all()


def stored_replies(server) -> list:
    with make_engine(server.escalation_url).connect() as connection:
        return connection.execute(select(quick_replies).order_by(quick_replies.c.id)).all()


def problem_text(code: str) -> str:
    from bot.staff.app import templates

    return templates().get_template("labels.html").module.problem_text[code]


# -- snabbsvar ------------------------------------------------------------------------------------


def test_handlers_cannot_see_or_change_prepared_answers(dashboard):
    handler = dashboard.client(Role.HANDLER)
    before = len(stored_replies(dashboard))
    assert handler.get("/admin/quick-replies").status_code == 403
    assert handler.post("/admin/quick-replies", {"title": "t", "body": "b"}).status_code == 403
    assert handler.post("/admin/quick-replies/1/delete").status_code == 403
    assert len(stored_replies(dashboard)) == before
    assert 'href="/admin/quick-replies"' not in handler.get("/").text


def test_an_admin_adds_changes_and_deletes_one_audited_by_id_only(dashboard):
    admin = dashboard.client(Role.ADMIN)
    assert 'href="/admin/quick-replies"' in admin.get("/").text
    body = "Hemlig formulering: ring {kontakt:police}."
    added = admin.post("/admin/quick-replies", {"title": "Polisen", "body": body})
    assert added.status_code == 303
    reply = stored_replies(dashboard)[-1]
    assert (reply.title, reply.body, reply.updated_by) == ("Polisen", body, admin.username)
    page = admin.get("/admin/quick-replies").text
    assert html.escape(body, quote=False) in page and "{kontakt:police}" in page

    changed = admin.post(f"/admin/quick-replies/{reply.id}", {"title": "Polis", "body": "Ny."})
    assert changed.status_code == 303
    assert stored_replies(dashboard)[-1].body == "Ny."
    assert admin.post(f"/admin/quick-replies/{reply.id}/delete").status_code == 303
    assert reply.id not in {row.id for row in stored_replies(dashboard)}

    for action in ("quick_reply_added", "quick_reply_changed", "quick_reply_deleted"):
        entry = audit_of(dashboard, action)[-1]
        assert (entry.username, entry.detail) == (admin.username, f"id {reply.id}")
    logged = " ".join(
        str(value) for row in audit_of(dashboard, "quick_reply_added") for value in row
    )
    assert "Hemlig" not in logged and "Polisen" not in logged


def test_without_the_csrf_token_nothing_is_saved(dashboard):
    admin = dashboard.client(Role.ADMIN)
    before = stored_replies(dashboard)
    refused = admin.post("/admin/quick-replies", {"title": "t", "body": "b"}, csrf=False)
    assert refused.status_code == 403
    assert stored_replies(dashboard) == before


def test_an_unknown_placeholder_is_refused_with_the_known_ones_listed(dashboard):
    admin = dashboard.client(Role.ADMIN)
    before = stored_replies(dashboard)
    refused = admin.post(
        "/admin/quick-replies", {"title": "Fel", "body": "Ring {kontakt:polisen} eller {telefon}"}
    )
    assert refused.status_code == 400
    assert html.escape(problem_text("quick_reply_unknown_placeholder"), quote=False) in refused.text
    assert (
        "<code>{kontakt:polisen}</code>" in refused.text
        and "<code>{telefon}</code>" in refused.text
    )
    police = CONTACTS["police"]
    assert "<code>{kontakt:police}</code>" in refused.text
    assert html.escape(f"{police.name}: {police.phone}") in refused.text
    # What the admin wrote is kept in the form, to correct it.
    assert "Ring {kontakt:polisen} eller {telefon}</textarea>" in refused.text
    assert stored_replies(dashboard) == before


def test_a_title_over_80_characters_is_refused(dashboard):
    admin = dashboard.client(Role.ADMIN)
    refused = admin.post("/admin/quick-replies", {"title": "x" * 81, "body": "text"})
    assert refused.status_code == 400
    assert html.escape(problem_text("quick_reply_title_too_long"), quote=False) in refused.text


def test_only_the_handler_in_the_conversation_is_offered_them_filled(dashboard):
    admin = dashboard.client(Role.ADMIN)
    admin.post("/admin/quick-replies", {"title": "Mind", "body": "Ring {kontakt:mind_suicide}."})
    handler, other = dashboard.client(Role.HANDLER), dashboard.client(Role.HANDLER)
    escalation = escalate(dashboard)
    put_in_state(dashboard, escalation, "in_handoff", user_id(dashboard, handler.username))
    mind = CONTACTS["mind_suicide"]
    page = handler.get(f"/escalations/{escalation}").text
    assert 'id="quick-reply-choice"' in page
    assert f'data-text="Ring {html.escape(mind.name)}: {mind.phone}."' in page
    assert "{kontakt:" not in page
    assert 'id="quick-reply-choice"' not in other.get(f"/escalations/{escalation}").text


# -- transfer -----------------------------------------------------------------------------------


def test_the_holder_hands_an_escalation_to_a_colleague_audited_with_their_name(dashboard):
    holder, colleague = dashboard.client(Role.HANDLER), dashboard.client(Role.HANDLER)
    holder_id, colleague_id = (user_id(dashboard, c.username) for c in (holder, colleague))
    escalation = escalate(dashboard)
    holder.post(f"/escalations/{escalation}/claim")
    page = holder.get(f"/escalations/{escalation}").text
    assert f'<option value="{colleague_id}">{colleague.username}</option>' in page
    assert f'<option value="{holder_id}">' not in page  # not to the holder

    moved = holder.post(f"/escalations/{escalation}/transfer", {"to": str(colleague_id)})
    assert moved.status_code == 303
    assert row_of(dashboard, escalation) == ("claimed", colleague_id, None)
    entry = audit_of(dashboard, "transfer")[-1]
    assert (entry.username, entry.escalation_id, entry.detail) == (
        holder.username,
        escalation,
        f"to {colleague.username}",
    )
    # The colleague may release it now; the former holder may do nothing more with it.
    again = holder.post(
        f"/escalations/{escalation}/transfer",
        {"to": str(holder_id)},
        headers={"Accept": "application/json"},
    )
    assert again.status_code == 409
    assert again.json() == {
        "ok": False,
        "problem": "cannot_transfer",
        "message": problem_text("cannot_transfer"),
    }
    assert row_of(dashboard, escalation) == ("claimed", colleague_id, None)


def test_a_handler_cannot_transfer_someone_elses_case(dashboard):
    holder, intruder = dashboard.client(Role.HANDLER), dashboard.client(Role.HANDLER)
    escalation = escalate(dashboard)
    holder.post(f"/escalations/{escalation}/claim")
    before = row_of(dashboard, escalation)
    intruder_id = user_id(dashboard, intruder.username)
    refused = intruder.post(f"/escalations/{escalation}/transfer", {"to": str(intruder_id)})
    assert refused.status_code == 303
    assert refused.headers["location"] == f"/escalations/{escalation}?problem=cannot_transfer"
    page = intruder.get(refused.headers["location"]).text
    assert html.escape(problem_text("cannot_transfer"), quote=False) in page
    assert 'id="transfer-form"' not in page
    assert row_of(dashboard, escalation) == before


def test_an_admin_may_transfer_anyones_case(dashboard):
    holder, colleague = dashboard.client(Role.HANDLER), dashboard.client(Role.HANDLER)
    admin = dashboard.client(Role.ADMIN)
    escalation = escalate(dashboard)
    holder.post(f"/escalations/{escalation}/claim")
    colleague_id = user_id(dashboard, colleague.username)
    assert (
        admin.post(f"/escalations/{escalation}/transfer", {"to": str(colleague_id)}).status_code
        == 303
    )
    assert row_of(dashboard, escalation)[1] == colleague_id


@pytest.mark.parametrize("target", ["inactive", "holder", "nobody", "not a number"])
def test_the_target_must_be_another_active_account(dashboard, target):
    holder = dashboard.client(Role.HANDLER)
    holder_id = user_id(dashboard, holder.username)
    escalation = escalate(dashboard)
    holder.post(f"/escalations/{escalation}/claim")
    if target == "inactive":
        username, _ = dashboard.new_account(Role.HANDLER)
        to = user_id(dashboard, username)
        dashboard.accounts.set_active(to, False)
        assert f'<option value="{to}">' not in holder.get(f"/escalations/{escalation}").text
    else:
        to = {"holder": holder_id, "nobody": 999999, "not a number": "x"}[target]
    refused = holder.post(f"/escalations/{escalation}/transfer", {"to": str(to)})
    assert refused.headers["location"].endswith("?problem=transfer_target_invalid")
    assert row_of(dashboard, escalation) == ("claimed", holder_id, None)


def test_a_transfer_without_the_csrf_token_changes_nothing(dashboard):
    holder, colleague = dashboard.client(Role.HANDLER), dashboard.client(Role.HANDLER)
    escalation = escalate(dashboard)
    holder.post(f"/escalations/{escalation}/claim")
    colleague_id = user_id(dashboard, colleague.username)
    form = {"to": str(colleague_id)}
    assert holder.post(f"/escalations/{escalation}/transfer", form, csrf=False).status_code == 403
    assert row_of(dashboard, escalation)[1] == user_id(dashboard, holder.username)


def test_rasa_unreachable_during_a_live_conversation_nothing_changes(dashboard):
    """The relative must be told before the conversation changes hands."""
    holder, colleague = dashboard.client(Role.HANDLER), dashboard.client(Role.HANDLER)
    holder_id, colleague_id = (user_id(dashboard, c.username) for c in (holder, colleague))
    sender = uuid.uuid4().hex
    save_conversation(dashboard, sender, ["jag är orolig"])
    escalation = escalate(dashboard, sender=sender)
    put_in_state(dashboard, escalation, "in_handoff", holder_id)
    refused = holder.post(f"/escalations/{escalation}/transfer", {"to": str(colleague_id)})
    assert refused.headers["location"].endswith("?problem=rasa_unreachable")
    assert row_of(dashboard, escalation) == ("claimed", holder_id, holder_id)
    assert all(entry.escalation_id != escalation for entry in audit_of(dashboard, "transfer"))


# -- the supervisor's view ---------------------------------------------------------------------


def test_handlers_cannot_see_the_supervisors_view(dashboard):
    handler = dashboard.client(Role.HANDLER)
    assert handler.get("/supervisor").status_code == 403
    assert handler.get("/supervisor.json").status_code == 403
    assert 'href="/supervisor"' not in handler.get("/").text


def test_an_admin_sees_live_and_claimed_conversations_with_their_last_lines(dashboard):
    admin, handler = dashboard.client(Role.ADMIN), dashboard.client(Role.HANDLER)
    handler_id = user_id(dashboard, handler.username)
    sender = uuid.uuid4().hex
    messages = ["första", "andra", "tredje <script>window.__x=1</script>"]
    save_conversation(dashboard, sender, messages)
    live = escalate(dashboard, sender=sender)
    put_in_state(dashboard, live, "in_handoff", handler_id)
    claimed, untouched = escalate(dashboard), escalate(dashboard)
    put_in_state(dashboard, claimed, "claimed", handler_id)

    data = admin.get("/supervisor.json").json()["conversations"]
    by_id = {row["id"]: row for row in data}
    assert untouched not in by_id
    assert by_id[live]["holder"] == by_id[live]["in_conversation"] == handler.username
    assert (
        by_id[claimed]["holder"] == handler.username and by_id[claimed]["in_conversation"] is None
    )
    assert [row["id"] for row in data].index(live) < [row["id"] for row in data].index(claimed)
    lines = by_id[live]["lines"]
    assert len(lines) == 3 and lines[-1]["speaker"] == "bot"
    assert lines[-2] == {**lines[-2], "speaker": "relative"} and "tredje" in lines[-2]["text"]
    assert by_id[live]["waiting_minutes"] is not None  # a new case waits for an answer

    page = admin.get("/supervisor").text
    assert f'href="/escalations/{live}"' in page and f'href="/escalations/{claimed}"' in page
    assert "<script>window.__x" not in page and "&lt;script&gt;window.__x" in page
    assert audit_of(dashboard, "view_supervisor")[-1].username == admin.username
