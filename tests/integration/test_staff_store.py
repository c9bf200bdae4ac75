"""Staff accounts, sessions and escalation review against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from bot.escalations.service import Signal, record_signal
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.risk.levels import RiskLevel
from bot.staff.accounts import (
    ABSOLUTE_TIMEOUT,
    IDLE_TIMEOUT,
    MAX_FAILURES,
    AccountError,
    Accounts,
)
from bot.staff.model import Role
from bot.staff.review import Review, ReviewError
from bot.staff.security import TotpKeyMissing, totp_now
from bot.store.engine import make_engine, session_factory
from bot.store.tables import staff_audit

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
PASSWORD = "a long enough password"


@pytest.fixture
def engine(migrated_url):
    """An engine on the escalation store migrated, on SQLite and on PostgreSQL."""
    engine = make_engine(migrated_url)
    engine.url_for_tests = migrated_url
    yield engine
    engine.dispose()


def code_at(secret: str, moment: datetime) -> str:
    return totp_now(secret, moment.timestamp())


def escalate(
    engine, reference: str, level=RiskLevel.ELEVATED, at=T0, confirmed=False, subjects=()
) -> int:
    uow = SqlAlchemyUnitOfWork(session_factory(engine.url_for_tests))
    message_key = f"{reference[:8]}-{level.value}-{int(at.timestamp())}"
    signal = Signal(
        reference,
        level,
        ("weapons",),
        "ett [NAMN] maskerat utdrag",
        message_key,
        subjects=subjects,
        confirmed=confirmed,
    )
    return record_signal(uow, signal, now=at).escalation_id


TOTP_KEY = "staff-store-test-totp-key"


# -- accounts and login --------------------------------------------------------------------


def test_the_first_admin_logs_in_with_password_and_code(engine):
    accounts = Accounts(engine, TOTP_KEY)
    secret = accounts.create_admin("anna", PASSWORD, now=T0)
    result = accounts.log_in("anna", PASSWORD, code_at(secret, T0), now=T0)
    assert result.user is not None and result.user.is_admin


@pytest.mark.parametrize("wrong", ["password", "code", "username"])
def test_a_wrong_password_code_or_name_is_refused_alike(engine, wrong):
    accounts = Accounts(engine, TOTP_KEY)
    secret = accounts.create_admin("anna", PASSWORD, now=T0)
    values = {"username": "anna", "password": PASSWORD, "code": code_at(secret, T0)}
    values[wrong] = {"password": "wrong password!!", "code": "000000", "username": "bo"}[wrong]
    if wrong == "code" and values["code"] == code_at(secret, T0):
        values["code"] = "111111"
    result = accounts.log_in(values["username"], values["password"], values["code"], now=T0)
    assert result.user is None and result.problem == "invalid"


def test_a_code_is_accepted_only_once(engine):
    accounts = Accounts(engine, TOTP_KEY)
    secret = accounts.create_admin("anna", PASSWORD, now=T0)
    code = code_at(secret, T0)
    assert accounts.log_in("anna", PASSWORD, code, now=T0).user is not None
    assert accounts.log_in("anna", PASSWORD, code, now=T0).problem == "invalid"


def test_an_attackers_failures_do_not_lock_out_the_owner(engine):
    """Issue 17: ten wrong logins by anyone locked the account for an hour, for its owner
    too; now the right password and code always pass, and the failures stop being stored
    once ten are recorded in the hour."""
    accounts = Accounts(engine, TOTP_KEY)
    secret = accounts.create_admin("anna", PASSWORD, now=T0)
    for minute in range(3 * MAX_FAILURES):
        at = T0 + timedelta(minutes=minute % 30)
        result = accounts.log_in("anna", "wrong password!!", "000000", now=at)
        assert (result.user, result.problem) == (None, "invalid")
    later = T0 + timedelta(minutes=30)
    assert accounts.recent_failures(accounts.users()[0].id, later) == MAX_FAILURES
    assert accounts.log_in("anna", PASSWORD, code_at(secret, later), now=later).user is not None


def test_an_unknown_name_and_a_wrong_password_get_the_same_answer(engine):
    accounts = Accounts(engine, TOTP_KEY)
    accounts.create_admin("anna", PASSWORD, now=T0)
    for _ in range(MAX_FAILURES + 1):
        known = accounts.log_in("anna", "wrong password!!", "000000", now=T0)
        unknown = accounts.log_in("bertil", "wrong password!!", "000000", now=T0)
        assert (known.user, known.problem) == (unknown.user, unknown.problem) == (None, "invalid")


def test_nine_failures_do_not_lock(engine):
    accounts = Accounts(engine, TOTP_KEY)
    secret = accounts.create_admin("anna", PASSWORD, now=T0)
    for _ in range(MAX_FAILURES - 1):
        accounts.log_in("anna", "wrong password!!", "000000", now=T0)
    assert accounts.log_in("anna", PASSWORD, code_at(secret, T0), now=T0).user is not None


def test_a_short_password_or_a_taken_name_is_refused(engine):
    accounts = Accounts(engine, TOTP_KEY)
    with pytest.raises(AccountError, match="too_short"):
        accounts.create_admin("anna", "short", now=T0)
    accounts.create_admin("anna", PASSWORD, now=T0)
    with pytest.raises(AccountError, match="username_taken"):
        accounts.create_user("anna", Role.HANDLER, now=T0)
    with pytest.raises(AccountError, match="invalid_username"):
        accounts.create_user("two words", Role.HANDLER, now=T0)


def test_a_new_user_sets_password_and_totp_through_the_setup_link(engine):
    accounts = Accounts(engine, TOTP_KEY)
    token = accounts.create_user("bo", Role.HANDLER, now=T0)
    assert accounts.log_in("bo", "", "", now=T0).user is None  # no password yet
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    with pytest.raises(AccountError, match="code_invalid"):
        accounts.complete_setup(token, PASSWORD, secret, "000000", now=T0)
    accounts.complete_setup(token, PASSWORD, secret, code_at(secret, T0), now=T0)
    assert accounts.setup_user(token, now=T0) is None  # the link works once
    later = T0 + timedelta(minutes=1)
    assert accounts.log_in("bo", PASSWORD, code_at(secret, later), now=later).user is not None


def stored_totp_secrets(engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("select totp_secret from staff_users")).scalars())


def test_totp_secrets_are_sealed_at_rest_and_unusable_with_another_key(engine):
    accounts = Accounts(engine, TOTP_KEY)
    secret = accounts.create_admin("anna", PASSWORD, now=T0)
    token = accounts.create_user("bo", Role.HANDLER, now=T0)
    accounts.complete_setup(token, PASSWORD, secret, code_at(secret, T0), now=T0)
    stored = stored_totp_secrets(engine)
    assert len(stored) == 2 and all(secret not in value for value in stored)
    assert all(value.startswith("gAAAAA") for value in stored)
    later = T0 + timedelta(minutes=1)
    thief = Accounts(engine, "a key the thief guessed")
    assert thief.log_in("anna", PASSWORD, code_at(secret, later), now=later).user is None
    assert accounts.log_in("anna", PASSWORD, code_at(secret, later), now=later).user is not None


def test_secrets_an_earlier_version_stored_in_clear_are_sealed_and_still_work(engine):
    accounts = Accounts(engine, TOTP_KEY)
    secret = accounts.create_admin("anna", PASSWORD, now=T0)
    with engine.begin() as connection:  # as version 0003 stored it
        connection.execute(text("update staff_users set totp_secret = :s"), {"s": secret})
    assert accounts.seal_clear_totp_secrets() == 1
    assert stored_totp_secrets(engine)[0].startswith("gAAAAA")
    assert accounts.seal_clear_totp_secrets() == 0
    later = T0 + timedelta(minutes=1)
    assert accounts.log_in("anna", PASSWORD, code_at(secret, later), now=later).user is not None


def test_without_a_key_no_secret_is_stored(engine):
    with pytest.raises(TotpKeyMissing):
        Accounts(engine).create_admin("anna", PASSWORD, now=T0)
    assert stored_totp_secrets(engine) == []


def test_a_setup_link_expires_after_a_day(engine):
    accounts = Accounts(engine, TOTP_KEY)
    token = accounts.create_user("bo", Role.HANDLER, now=T0)
    assert accounts.setup_user(token, now=T0 + timedelta(hours=23)) is not None
    assert accounts.setup_user(token, now=T0 + timedelta(hours=25)) is None


def test_a_deactivated_account_cannot_log_in_and_loses_its_sessions(engine):
    accounts = Accounts(engine, TOTP_KEY)
    secret = accounts.create_admin("anna", PASSWORD, now=T0)
    user = accounts.log_in("anna", PASSWORD, code_at(secret, T0), now=T0).user
    session = accounts.start_session(user, now=T0)
    accounts.set_active(user.id, False)
    assert accounts.session(session.token, now=T0) is None
    later = T0 + timedelta(minutes=1)
    assert accounts.log_in("anna", PASSWORD, code_at(secret, later), now=later).user is None


# -- sessions --------------------------------------------------------------------------------


def logged_in(engine):
    accounts = Accounts(engine, TOTP_KEY)
    secret = accounts.create_admin("anna", PASSWORD, now=T0)
    user = accounts.log_in("anna", PASSWORD, code_at(secret, T0), now=T0).user
    return accounts, accounts.start_session(user, now=T0)


def test_a_session_ends_after_thirty_idle_minutes(engine):
    accounts, session = logged_in(engine)
    assert accounts.session(session.token, now=T0 + IDLE_TIMEOUT - timedelta(seconds=1))
    last_use = T0 + IDLE_TIMEOUT - timedelta(seconds=1)
    too_late = last_use + IDLE_TIMEOUT + timedelta(seconds=1)
    assert accounts.session(session.token, now=too_late) is None


def test_a_busy_session_still_ends_after_twelve_hours(engine):
    accounts, session = logged_in(engine)
    moment = T0
    while moment < T0 + ABSOLUTE_TIMEOUT - timedelta(minutes=20):
        moment += timedelta(minutes=20)
        assert accounts.session(session.token, now=moment) is not None
    assert accounts.session(session.token, now=T0 + ABSOLUTE_TIMEOUT + timedelta(minutes=1)) is None


def test_logout_ends_the_session_on_the_server(engine):
    accounts, session = logged_in(engine)
    accounts.end_session(session.token)
    assert accounts.session(session.token, now=T0) is None


def test_the_database_holds_only_a_hash_of_the_session_cookie(engine):
    _, session = logged_in(engine)
    with engine.connect() as connection:
        stored = connection.execute(text("select token_hash from staff_sessions")).scalars().all()
    assert stored and session.token not in stored


# -- review ----------------------------------------------------------------------------------


def two_users(engine):
    accounts = Accounts(engine, TOTP_KEY)
    accounts.create_admin("admin", PASSWORD, now=T0)
    accounts.create_user("anna", Role.HANDLER, now=T0)
    accounts.create_user("bo", Role.HANDLER, now=T0)
    users = {user.username: user for user in accounts.users()}
    return users["admin"], users["anna"], users["bo"]


def test_the_queue_lists_acute_first_then_oldest(engine, redactor):
    old_elevated = escalate(engine, "a" * 32, RiskLevel.ELEVATED, T0)
    new_acute = escalate(engine, "b" * 32, RiskLevel.ACUTE, T0 + timedelta(hours=2))
    old_acute = escalate(engine, "c" * 32, RiskLevel.ACUTE, T0 + timedelta(hours=1))
    review = Review(engine, redactor)
    assert [item.id for item in review.queue()] == [old_acute, new_acute, old_elevated]
    assert [item.id for item in review.queue(level="elevated")] == [old_elevated]
    counts = review.counts()
    assert (counts["open"], counts["acute"], counts["elevated"], counts["new"]) == (3, 2, 1, 3)


def test_the_queue_puts_confirmed_signals_first_within_a_level(engine, redactor):
    old_elevated = escalate(engine, "a" * 32, RiskLevel.ELEVATED, T0)
    confirmed = escalate(
        engine, "b" * 32, RiskLevel.ELEVATED, T0 + timedelta(hours=1), True, ("self",)
    )
    acute = escalate(engine, "c" * 32, RiskLevel.ACUTE, T0 + timedelta(hours=2))
    queue = Review(engine, redactor).queue()
    assert [item.id for item in queue] == [acute, confirmed, old_elevated]
    assert (queue[1].subjects, queue[1].confirmed) == (("self",), True)
    assert queue[1].as_json()["subjects"] == ["self"] and queue[1].as_json()["confirmed"]


def test_subjects_add_up_and_a_confirmation_is_kept(engine, redactor):
    escalation = escalate(engine, "d" * 32, RiskLevel.ELEVATED, T0, False, ("person",))
    escalate(engine, "d" * 32, RiskLevel.ELEVATED, T0 + timedelta(minutes=5), True, ("self",))
    [item] = Review(engine, redactor).queue()
    assert item.id == escalation
    assert (item.subjects, item.confirmed) == (("self", "person"), True)


def test_claim_release_resolve_and_the_rules_between_them(engine, redactor):
    admin, anna, bo = two_users(engine)
    review = Review(engine, redactor)
    escalation = escalate(engine, "a" * 32)
    with pytest.raises(ReviewError, match="cannot_resolve"):
        review.resolve(anna, escalation, "advice_given")
    review.claim(anna, escalation)
    with pytest.raises(ReviewError, match="cannot_claim"):
        review.claim(bo, escalation)
    with pytest.raises(ReviewError, match="cannot_release"):
        review.release(bo, escalation)
    with pytest.raises(ReviewError, match="outcome_required"):
        review.resolve(anna, escalation, "")
    review.release(anna, escalation)
    review.claim(bo, escalation)
    review.resolve(admin, escalation, "referred_social_services", now=T0)
    detail = review.detail(escalation)
    assert detail.item.status == "resolved"
    assert detail.item.outcome == "referred_social_services"
    assert detail.resolved_at == T0
    assert review.queue() == []  # resolved ones only under their filter
    assert [item.id for item in review.queue(status="resolved")] == [escalation]


def test_a_new_signal_reopens_a_resolved_escalation_for_anyone(engine, redactor):
    _, anna, _ = two_users(engine)
    review = Review(engine, redactor)
    escalation = escalate(engine, "a" * 32, RiskLevel.ELEVATED)
    review.claim(anna, escalation)
    review.resolve(anna, escalation, "advice_given")
    escalate(engine, "a" * 32, RiskLevel.ACUTE, T0 + timedelta(hours=1))
    detail = review.detail(escalation)
    assert (detail.item.status, detail.claimed_by_id, detail.item.outcome) == ("new", None, None)


def test_every_action_is_audited_without_message_text(engine, redactor):
    _, anna, _ = two_users(engine)
    review = Review(engine, redactor)
    escalation = escalate(engine, "a" * 32)
    review.log(anna, "view_escalation", escalation)
    review.claim(anna, escalation)
    review.add_note(anna, escalation, "Ringde socialjouren, de tar det vidare.")
    review.resolve(anna, escalation, "referred_social_services")
    actions = [entry.action for entry in reversed(review.audit(escalation))]
    assert actions == ["view_escalation", "claim", "add_note", "resolve"]
    with engine.connect() as connection:
        rows = connection.execute(select(staff_audit)).all()
    stored = " ".join(str(value) for row in rows for value in row)
    assert "maskerat utdrag" not in stored and "socialjouren" not in stored
    assert [note.body for note in review.notes(escalation)] == [
        "Ringde socialjouren, de tar det vidare."
    ]


def test_an_empty_or_huge_note_is_refused_and_nothing_is_stored(engine, redactor):
    _, anna, _ = two_users(engine)
    review = Review(engine, redactor)
    escalation = escalate(engine, "a" * 32)
    with pytest.raises(ReviewError, match="note_empty"):
        review.add_note(anna, escalation, "   ")
    with pytest.raises(ReviewError, match="note_too_long"):
        review.add_note(anna, escalation, "x" * 4001)
    with pytest.raises(ReviewError, match="not_found"):
        review.add_note(anna, 9999, "hej")
    assert review.notes(escalation) == []


def test_a_note_is_masked_when_written_and_erased_with_the_conversation(engine, redactor):
    from bot.escalations.service import forget_conversation
    from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork

    _, anna, _ = two_users(engine)
    review = Review(engine, redactor)
    escalation = escalate(engine, "b" * 32)
    review.add_note(anna, escalation, "Ringde mamman på 070-123 45 67, bor på Storgatan 3")
    [note] = review.notes(escalation)
    assert "070-123 45 67" not in note.body and "[telefon]" in note.body
    other = escalate(engine, "c" * 32)
    review.add_note(anna, other, "Ingen risk")
    assert forget_conversation(SqlAlchemyUnitOfWork.on(engine), "b" * 32)
    assert review.notes(escalation) == [] and len(review.notes(other)) == 1


def test_background_polls_do_not_keep_an_idle_session_alive(engine):
    """Issue 17: the queue's 5 s and a live chat's 1.5 s refreshes moved the last use, so
    the idle timeout never ended a session left open in a tab."""
    accounts, session = logged_in(engine)
    for minute in range(0, 30, 1):  # a poll every minute for half an hour
        polled = accounts.session(session.token, now=T0 + timedelta(minutes=minute), touch=False)
        assert polled is not None
    assert accounts.session(session.token, now=T0 + timedelta(minutes=29), touch=False)
    assert accounts.session(session.token, now=T0 + timedelta(minutes=31), touch=False) is None


def test_only_the_pages_own_json_refreshes_count_as_polls():
    from bot.staff.app import is_background_poll

    assert is_background_poll("GET", "/queue.json")
    assert is_background_poll("GET", "/escalations/7/live.json")
    assert not is_background_poll("GET", "/escalations/7")
    assert not is_background_poll("POST", "/escalations/7/notes")


def test_an_open_dashboard_keeps_an_available_handler_available_without_clicks(engine):
    """Issue 20: a handler watching the queue (its page polls, nobody clicks) stays
    available for chat; the same polls still do not stop the idle timeout. A dashboard
    closed for more than two minutes is not available."""
    from bot.escalations.availability import handler_available

    accounts, session = logged_in(engine)
    accounts.set_available(session.user.id, True)
    for second in range(0, 10 * 60, 5):  # ten minutes of polls every 5 s
        accounts.session(session.token, now=T0 + timedelta(seconds=second), touch=False)
    assert handler_available(engine, now=T0 + timedelta(minutes=10))
    assert not handler_available(engine, now=T0 + timedelta(minutes=13))  # tab closed at 10
