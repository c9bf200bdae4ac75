"""The queue as triage at a glance, the alerts' poll and bulk resolve (issue 20).

On the escalation store itself (SQLite and PostgreSQL): what Review reads for the queue
(waiting time, preview, presence, holder, the orders), in one query also with 300 open
escalations; what the alerts watch; bulk resolve's steps and audit. Against the real
dashboard server: queue.json's fields and the page, alerts.json, and bulk resolve over
HTTP (an admin's, and a handler's refused with 403)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select, update

from bot.escalations import presence
from bot.escalations.model import utcnow
from bot.escalations.service import Signal, record_signal, request_person
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.privacy.redaction import load_redactor
from bot.pseudonym import conversation_ref
from bot.risk.levels import RiskLevel
from bot.staff import bulk
from bot.staff.accounts import Accounts
from bot.staff.model import Role
from bot.staff.review import Review
from bot.store.engine import make_engine, session_factory
from bot.store.tables import escalations, staff_audit
from tests.support.servers import TEST_PSEUDONYM_KEY
from tests.support.settings import settings
from tests.support.staff_server import staff_server

EXCERPT = "…han har [NAMN] ett vapen och " + "pratar om att hämnas " * 8 + "…\n…andra raden…"


def signal(url: str, level=RiskLevel.ELEVATED, *, confirmed=False, subjects=(), ref=None) -> int:
    reference = ref or uuid.uuid4().hex
    uow = SqlAlchemyUnitOfWork(session_factory(url))
    new = Signal(
        reference,
        level,
        ("weapons",),
        EXCERPT,
        uuid.uuid4().hex,
        subjects=subjects,
        confirmed=confirmed,
    )
    return record_signal(uow, new).escalation_id


def person_request(url: str, ref: str | None = None) -> int:
    uow = SqlAlchemyUnitOfWork(session_factory(url))
    return request_person(uow, ref or uuid.uuid4().hex).escalation_id


def waited(url: str, escalation_id: int, minutes: float | None) -> None:
    since = None if minutes is None else utcnow() - timedelta(minutes=minutes)
    with make_engine(url).begin() as connection:
        connection.execute(
            update(escalations).where(escalations.c.id == escalation_id).values(waiting_since=since)
        )


def reference_of(url: str, escalation_id: int) -> str:
    with make_engine(url).connect() as connection:
        return connection.execute(
            select(escalations.c.conversation_ref).where(escalations.c.id == escalation_id)
        ).scalar_one()


def a_user(url: str, role=Role.HANDLER, available=False, name=None):
    accounts = Accounts(make_engine(url))
    name = name or f"{role.value}-{uuid.uuid4().hex[:6]}"
    accounts.create_user(name, role)
    user = next(u for u in accounts.users() if u.username == name)
    accounts.start_session(user)
    accounts.set_available(user.id, available)
    return accounts.user(user.id)


@pytest.fixture
def review(migrated_url) -> Review:
    return Review(make_engine(migrated_url), load_redactor(settings.contacts_file))


# -- what the queue reads ---------------------------------------------------------------------


def test_each_row_has_its_wait_preview_presence_and_holder(migrated_url, review):
    url = migrated_url
    here = signal(url, RiskLevel.ACUTE, subjects=("person",), confirmed=True)
    gone = signal(url)
    asked = person_request(url)
    presence.joined(review.engine, reference_of(url, here))
    presence.joined(review.engine, reference_of(url, gone))
    presence.left(review.engine, reference_of(url, gone))
    waited(url, here, 20)
    anna = a_user(url)
    review.start_handoff(anna, asked)  # a handler in the conversation: it holds it too

    items = {item.id: item for item in review.queue()}
    now = utcnow()
    assert items[here].waiting_minutes(now) in (20, 21)
    assert items[here].preview.startswith("…han har [NAMN] ett vapen och pratar")
    assert items[here].preview.endswith("…") and len(items[here].preview) == 100
    assert "andra raden" not in items[here].preview
    assert (items[here].presence, items[gone].presence, items[asked].presence) == (
        "here",
        "left",
        None,  # no web socket ever: nothing is known
    )
    assert items[here].subjects == ("person",) and items[here].confirmed
    assert items[asked].preview == "" and items[asked].wants_person
    assert items[asked].claimed_by == anna.username and items[asked].in_handoff


def test_the_orders_level_confirmed_and_waiting(migrated_url, review):
    url = migrated_url
    acute_short = signal(url, RiskLevel.ACUTE)
    acute_long = signal(url, RiskLevel.ACUTE)
    acute_confirmed = signal(url, RiskLevel.ACUTE, confirmed=True)
    elevated_longest = signal(url)
    elevated_confirmed = signal(url, confirmed=True)
    answered = signal(url)
    for escalation, minutes in [
        (acute_short, 2),
        (acute_long, 30),
        (acute_confirmed, 1),
        (elevated_longest, 90),
        (elevated_confirmed, 3),
        (answered, None),  # a handler answered: nobody waits
    ]:
        waited(url, escalation, minutes)

    def order(sort):
        return [item.id for item in review.queue(sort=sort)]

    assert order("level") == [
        acute_confirmed,
        acute_long,
        acute_short,
        elevated_confirmed,
        elevated_longest,
        answered,
    ]
    assert order("confirmed") == [
        acute_confirmed,
        elevated_confirmed,
        acute_long,
        acute_short,
        elevated_longest,
        answered,
    ]
    assert order("waiting") == [
        elevated_longest,
        acute_long,
        elevated_confirmed,
        acute_short,
        acute_confirmed,
        answered,  # nobody waiting: last
    ]


def test_three_hundred_open_escalations_are_read_in_one_query(migrated_url, review):
    now = utcnow()
    rows = [
        {
            "conversation_ref": f"ref-{number}",
            "level": ("acute", "elevated", "none")[number % 3],
            "categories": "weapons",
            "status": "new",
            "priority": number % 3,
            "excerpt": f"…signal {number}…",
            "created_at": now,
            "updated_at": now,
            "waiting_since": now - timedelta(minutes=number % 40),
            "wants_person": number % 5 == 0,
        }
        for number in range(300)
    ]
    with review.engine.begin() as connection:
        connection.execute(insert(escalations), rows)
    for number in range(0, 300, 7):
        presence.joined(review.engine, f"ref-{number}")
    statements = []
    event.listen(review.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    items = review.queue()
    assert len(items) == 300
    assert len(statements) == 1  # no query per row
    assert sum(item.presence == "here" for item in items) == len(range(0, 300, 7))
    assert [item.level for item in items[:100]] == ["acute"] * 100


# -- who else is working ----------------------------------------------------------------------


def test_the_available_staff_are_those_switched_on_with_a_fresh_session(migrated_url, review):
    url = migrated_url
    a_user(url, available=True, name="anna")
    a_user(url, available=False, name="bo")
    away = a_user(url, available=True, name="cecilia")
    with review.engine.begin() as connection:
        from bot.store.tables import staff_sessions

        connection.execute(
            update(staff_sessions)
            .where(staff_sessions.c.user_id == away.id)
            .values(last_seen_at=utcnow() - timedelta(minutes=5))
        )
    assert review.available_staff() == ["anna"]


# -- what the alerts watch --------------------------------------------------------------------


def test_alerts_list_open_acute_cases_and_requests_nobody_has_joined(migrated_url, review):
    url = migrated_url
    acute = signal(url, RiskLevel.ACUTE)
    elevated = signal(url)
    asked = person_request(url)
    joined = person_request(url)
    resolved_acute = signal(url, RiskLevel.ACUTE)
    admin = a_user(url, Role.ADMIN)
    review.start_handoff(admin, joined)
    review.claim(admin, resolved_acute)
    review.resolve(admin, resolved_acute, "other")

    alerts = review.alerts()
    assert [alert.id for alert in alerts.acute] == [acute]
    assert [alert.id for alert in alerts.person] == [asked]
    assert elevated not in [alert.id for alert in (*alerts.acute, *alerts.person)]
    assert alerts.person[0].since is not None


# -- bulk resolve -----------------------------------------------------------------------------


def test_bulk_resolve_closes_each_as_spam_test_and_skips_a_live_chat(migrated_url, review):
    url = migrated_url
    new = signal(url)
    claimed = signal(url)
    in_chat = signal(url)
    already = signal(url)
    admin, anna = a_user(url, Role.ADMIN), a_user(url)
    review.claim(anna, claimed)
    review.start_handoff(anna, in_chat)
    review.claim(anna, already)
    review.resolve(anna, already, "other")

    result = bulk.resolve_as_spam(review, admin, [new, claimed, in_chat, already, 999999])

    assert (result.resolved, result.skipped) == (2, 3)
    details = {number: review.detail(number) for number in (new, claimed, in_chat, already)}
    assert details[new].item.outcome == "spam_test" and details[new].item.status == "resolved"
    assert details[claimed].item.outcome == "spam_test"
    assert details[in_chat].item.status == "claimed" and details[in_chat].item.in_handoff
    assert details[already].item.outcome == "other"
    entries = [(e.action, e.escalation_id, e.detail) for e in review.audit()]
    assert ("bulk_resolve", None, "2 resolved, 3 skipped") in entries
    assert ("bulk_resolve", new, "outcome spam_test") in entries
    assert ("bulk_resolve", claimed, "outcome spam_test") in entries
    assert not any(e[0] == "bulk_resolve" and e[1] == in_chat for e in entries)
    # The case's own timeline shows it.
    assert "bulk_resolve" in [entry.action for entry in review.audit(new)]


def test_bulk_resolve_writes_the_outcome_into_the_case_facts(migrated_url, review):
    from bot.store.tables import case_facts

    number = signal(migrated_url)
    bulk.resolve_as_spam(review, a_user(migrated_url, Role.ADMIN), [number])
    with review.engine.connect() as connection:
        outcomes = connection.execute(select(case_facts.c.outcome)).scalars().all()
    assert outcomes == ["spam_test"]


# -- over HTTP ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    with staff_server(tmp_path_factory.mktemp("staff-queue")) as server:
        yield server


def on_the_web_chat(dashboard, level=RiskLevel.ELEVATED, **options) -> int:
    sender = uuid.uuid4().hex
    reference = conversation_ref(sender, TEST_PSEUDONYM_KEY)
    number = signal(dashboard.escalation_url, level, ref=reference, **options)
    presence.joined(make_engine(dashboard.escalation_url), reference)
    return number


def test_queue_json_and_the_page_show_the_same_triage(dashboard):
    url = dashboard.escalation_url
    acute = on_the_web_chat(dashboard, RiskLevel.ACUTE, confirmed=True)
    asked = person_request(url)
    waited(url, acute, 17)
    waited(url, asked, 6)
    client = dashboard.client()

    data = client.get("/queue.json").json()
    items = {item["id"]: item for item in data["items"]}
    assert items[acute]["waiting_minutes"] in (17, 18)
    assert items[acute]["waiting_class"] == "alert"  # STAFF_WAIT_ALERT_MINUTES = 15
    assert items[asked]["waiting_class"] == "warn"  # STAFF_WAIT_WARN_MINUTES = 5
    assert items[acute]["preview"].startswith("…han har [NAMN] ett vapen")
    assert len(items[acute]["preview"]) == 100
    assert (items[acute]["presence"], items[asked]["presence"]) == ("here", None)
    assert items[asked]["preview"] == "" and items[asked]["wants_person"]
    assert "now" in data and "conversation_ref" not in str(data)
    assert "andra raden" not in str(data)  # the first line only

    page = client.get("/").text
    row = page[page.index(f'data-id="{acute}"') :].split("</tr>")[0]
    assert "wait-alert" in row and "(för länge)" in row and ("17 min" in row or "18 min" in row)
    assert "i chatten nu" in row and "Bekräftat av den anhöriga" in row
    asked_row = page[page.index(f'data-id="{asked}"') :].split("</tr>")[0]
    assert "Vill prata med en person" in asked_row and "wait-warn" in asked_row
    assert 'aria-label="Markera ärende' not in page  # a handler: no checkboxes


def test_the_queue_json_keeps_the_chosen_order(dashboard):
    url = dashboard.escalation_url
    longest = signal(url)
    waited(url, longest, 600)
    client = dashboard.client()
    by_waiting = client.get("/queue.json?sort=waiting").json()
    assert by_waiting["sort"] == "waiting" and by_waiting["items"][0]["id"] == longest
    by_level = client.get("/queue.json?sort=nonsense").json()
    assert by_level["sort"] == "level" and by_level["items"][0]["level"] == "acute"
    page = client.get("/?sort=waiting").text
    assert 'data-sort="waiting"' in page and '<option value="waiting" selected>' in page


def test_the_queue_names_who_is_available(dashboard):
    client = dashboard.client()
    assert client.post("/availability", {"available": "on"}).status_code == 303
    assert client.username in client.get("/queue.json").json()["working"]
    assert client.username in client.get("/").text.split('id="working"')[1].split("</span>")[0]


def test_alerts_json_lists_ids_and_says_whether_this_handler_is_available(dashboard):
    url = dashboard.escalation_url
    acute = signal(url, RiskLevel.ACUTE)
    elevated = signal(url)
    asked = person_request(url)
    client = dashboard.client()
    data = client.get("/alerts.json").json()
    assert data["available"] is False
    assert acute in [a["id"] for a in data["acute"]]
    assert asked in [a["id"] for a in data["person"]]
    assert elevated not in [a["id"] for a in data["acute"] + data["person"]]
    assert "[NAMN]" not in client.get("/alerts.json").text  # no excerpt
    client.post("/availability", {"available": "on"})
    assert client.get("/alerts.json").json()["available"] is True


def test_a_handlers_bulk_resolve_is_refused_and_changes_nothing(dashboard):
    number = signal(dashboard.escalation_url)
    handler = dashboard.client(Role.HANDLER)
    response = handler.post("/escalations/bulk_resolve", {"ids": [str(number)]})
    assert response.status_code == 403
    admin = dashboard.client(Role.ADMIN)
    [item] = [i for i in admin.get("/queue.json").json()["items"] if i["id"] == number]
    assert item["status"] == "new"
    without_csrf = admin.post("/escalations/bulk_resolve", {"ids": [str(number)]}, csrf=False)
    assert without_csrf.status_code == 403
    assert [i for i in admin.get("/queue.json").json()["items"] if i["id"] == number]


def test_an_admin_resolves_the_selected_and_is_told_how_many(dashboard):
    first, second = signal(dashboard.escalation_url), signal(dashboard.escalation_url)
    admin = dashboard.client(Role.ADMIN)
    assert 'aria-label="Markera ärende' in admin.get("/").text
    response = admin.post("/escalations/bulk_resolve", {"ids": [str(first), str(second)]})
    assert response.status_code == 303
    page = admin.get(response.headers["location"]).text
    assert "2 ärenden avslutades som skräp eller test, 0 hoppades över" in page
    open_ids = [item["id"] for item in admin.get("/queue.json").json()["items"]]
    assert first not in open_ids and second not in open_ids
    with make_engine(dashboard.escalation_url).connect() as connection:
        audited = connection.execute(
            select(staff_audit.c.escalation_id, staff_audit.c.detail).where(
                staff_audit.c.action == "bulk_resolve"
            )
        ).all()
    assert (first, "outcome spam_test") in audited and (None, "2 resolved, 0 skipped") in audited


def test_more_than_the_cap_is_refused_with_a_message(dashboard):
    admin = dashboard.client(Role.ADMIN)
    ids = [str(n) for n in range(1, bulk.MAX_PER_REQUEST + 2)]
    response = admin.post("/escalations/bulk_resolve", {"ids": ids})
    assert response.status_code == 303
    assert "Högst 500 ärenden åt gången" in admin.get(response.headers["location"]).text
