"""Staff accounts, login with lockout, and server-side sessions.

    accounts = Accounts(engine, totp_key)                   # totp_key: STAFF_TOTP_KEY
    token = accounts.create_user("anna", Role.HANDLER)     # a setup link's token
    accounts.complete_setup(token, password, secret, code)  # Anna chooses a password, adds TOTP
    result = accounts.log_in("anna", password, code)        # LoginResult
    session = accounts.start_session(result.user)           # cookie token + CSRF token
    accounts.session(cookie_token)                          # None once idle or too old

Rules: every account has a password and TOTP before it can log in; a failed login gets
the same answer whether the name exists or not, and the right password and code always
pass (no lock an attacker without them could set off; at most ten failures an hour are
recorded per account, for the audit); a session ends
after 30 minutes without a request or 12 hours after login, and at logout (the row is
deleted, so the cookie is worthless).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.escalations.model import as_utc, utcnow
from bot.staff.model import Role
from bot.staff.security import (
    TotpKeyMissing,
    TotpVault,
    hash_password,
    matching_totp_step,
    new_token,
    new_totp_secret,
    password_problem,
    token_hash,
    verify_password,
)
from bot.store.tables import staff_login_failures, staff_sessions, staff_users

logger = logging.getLogger(__name__)

MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(hours=1)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
SETUP_LINK_LIFETIME = timedelta(hours=24)
USERNAME_MAX = 64


class StaffError(ValueError):
    """A request that cannot be carried out; `code` names why (the templates turn it into
    a Swedish sentence, bot/staff/templates/labels.html)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class AccountError(StaffError):
    """About accounts, passwords, codes and setup links."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    active: bool
    # Ready to join live conversations (the dashboard's "Tillgänglig för chatt").
    available: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    problem: str | None = None  # "invalid"


@dataclass(frozen=True)
class StaffSession:
    token: str
    csrf_token: str
    user: User
    created_at: datetime


def _user(row) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=row.role,
        active=row.active,
        available=bool(row.available),
    )


def valid_username(username: str) -> bool:
    return (
        0 < len(username) <= USERNAME_MAX
        and username.isprintable()
        and not any(character.isspace() for character in username)
    )


class Accounts:
    def __init__(self, engine: Engine, totp_key: str = "") -> None:
        # Without a key, accounts can be created and set-up links made, but no TOTP secret
        # is stored or checked (TotpKeyMissing): a secret is never kept in clear.
        self.engine = engine
        self.vault = TotpVault(totp_key)

    def seal_clear_totp_secrets(self) -> int:
        """Seals secrets an earlier version stored in clear; returns how many."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(staff_users.c.id, staff_users.c.totp_secret).where(
                    staff_users.c.totp_secret.is_not(None)
                )
            ).all()
            clear = [row for row in rows if not self.vault.is_sealed(row.totp_secret)]
            for row in clear:
                connection.execute(
                    update(staff_users)
                    .where(staff_users.c.id == row.id)
                    .values(totp_secret=self.vault.seal(row.totp_secret))
                )
        return len(clear)

    # -- accounts ------------------------------------------------------------------------

    def create_admin(self, username: str, password: str, now: datetime | None = None) -> str:
        """The first admin, from the command line: returns the TOTP secret to add to an
        authenticator app."""
        if problem := password_problem(password):
            raise AccountError(problem)
        secret = new_totp_secret()
        self._insert(
            username,
            Role.ADMIN,
            now,
            password_hash=hash_password(password),
            totp_secret=self.vault.seal(secret),
        )
        return secret

    def create_user(self, username: str, role: Role, now: datetime | None = None) -> str:
        """A new account without password or TOTP: returns the setup link's token."""
        token = new_token()
        now = now or utcnow()
        self._insert(
            username,
            role,
            now,
            setup_token_hash=token_hash(token),
            setup_expires_at=now + SETUP_LINK_LIFETIME,
        )
        return token

    def _insert(self, username: str, role: Role, now: datetime | None, **values) -> None:
        username = username.strip()
        if not valid_username(username):
            raise AccountError("invalid_username")
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(staff_users).values(
                        username=username,
                        role=Role(role).value,
                        active=True,
                        created_at=now or utcnow(),
                        **values,
                    )
                )
        except IntegrityError as error:
            raise AccountError("username_taken") from error

    def reset(self, user_id: int, now: datetime | None = None) -> str:
        """A new setup link; the old password, TOTP secret and sessions stop working."""
        token = new_token()
        now = now or utcnow()
        with self.engine.begin() as connection:
            connection.execute(
                update(staff_users)
                .where(staff_users.c.id == user_id)
                .values(
                    password_hash=None,
                    totp_secret=None,
                    totp_last_step=None,
                    setup_token_hash=token_hash(token),
                    setup_expires_at=now + SETUP_LINK_LIFETIME,
                )
            )
            connection.execute(delete(staff_sessions).where(staff_sessions.c.user_id == user_id))
        return token

    def set_available(self, user_id: int, available: bool) -> None:
        """The handler's "tillgänglig för chatt" toggle (bot/escalations/availability.py
        reads it)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(staff_users).where(staff_users.c.id == user_id).values(available=available)
            )

    def set_active(self, user_id: int, active: bool) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(staff_users).where(staff_users.c.id == user_id).values(active=active)
            )
            if not active:
                connection.execute(
                    delete(staff_sessions).where(staff_sessions.c.user_id == user_id)
                )

    def users(self) -> list[User]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(staff_users).order_by(staff_users.c.username))
            return [_user(row) for row in rows]

    def user(self, user_id: int) -> User | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(staff_users).where(staff_users.c.id == user_id)).first()
        return _user(row) if row else None

    def count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(staff_users)).scalar()

    # -- setup links -----------------------------------------------------------------------

    def setup_user(self, token: str, now: datetime | None = None) -> User | None:
        """The account a setup link belongs to, while the link is valid."""
        row = self._setup_row(token, now or utcnow())
        return _user(row) if row else None

    def _setup_row(self, token: str, now: datetime):
        if not token:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(
                select(staff_users).where(staff_users.c.setup_token_hash == token_hash(token))
            ).first()
        if row is None or not row.active or as_utc(row.setup_expires_at) < now:
            return None
        return row

    def complete_setup(
        self, token: str, password: str, secret: str, code: str, now: datetime | None = None
    ) -> User:
        now = now or utcnow()
        row = self._setup_row(token, now)
        if row is None:
            raise AccountError("setup_link_invalid")
        if problem := password_problem(password):
            raise AccountError(problem)
        step = matching_totp_step(secret, code, None, now.timestamp())
        if step is None:
            raise AccountError("code_invalid")
        with self.engine.begin() as connection:
            connection.execute(
                update(staff_users)
                .where(staff_users.c.id == row.id)
                .values(
                    password_hash=hash_password(password),
                    totp_secret=self.vault.seal(secret),
                    totp_last_step=step,
                    setup_token_hash=None,
                    setup_expires_at=None,
                )
            )
        return _user(row)

    # -- login -----------------------------------------------------------------------------

    def log_in(
        self, username: str, password: str, code: str, now: datetime | None = None
    ) -> LoginResult:
        now = now or utcnow()
        with self.engine.connect() as connection:
            row = connection.execute(
                select(staff_users).where(staff_users.c.username == (username or "").strip())
            ).first()
        if row is None:
            verify_password(None, password)  # same work as for a real account
            return LoginResult(None, "invalid")
        step = None
        if verify_password(row.password_hash, password) and row.totp_secret:
            step = self._matching_step(row, code, now)
        if step is None or not row.active:
            # The same answer as for an unknown name, however many failures: a lock that
            # anyone could trigger without the password would lock the owner out, and a
            # different answer would tell which names exist (issue 17). The right password
            # and code always pass; failures beyond the window's count are not stored, so a
            # flood does not grow the table.
            if self.recent_failures(row.id, now) < MAX_FAILURES:
                self._record_failure(row.id, now)
            return LoginResult(None, "invalid")
        with self.engine.begin() as connection:
            connection.execute(
                update(staff_users).where(staff_users.c.id == row.id).values(totp_last_step=step)
            )
            connection.execute(
                delete(staff_login_failures).where(staff_login_failures.c.user_id == row.id)
            )
        return LoginResult(_user(row))

    def _matching_step(self, row, code: str, now: datetime) -> int | None:
        try:
            secret = self.vault.open(row.totp_secret)
        except TotpKeyMissing:
            logger.error(
                "A TOTP secret cannot be opened: STAFF_TOTP_KEY is missing or not the key that "
                "sealed it. Restore the key, or give the account a new set-up link."
            )
            return None
        return matching_totp_step(secret, code, row.totp_last_step, now.timestamp())

    def recent_failures(self, user_id: int, now: datetime | None = None) -> int:
        since = (now or utcnow()) - FAILURE_WINDOW
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count())
                .select_from(staff_login_failures)
                .where(staff_login_failures.c.user_id == user_id)
                .where(staff_login_failures.c.at > since)
            ).scalar()

    def _record_failure(self, user_id: int, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(insert(staff_login_failures).values(user_id=user_id, at=now))

    # -- sessions --------------------------------------------------------------------------

    def start_session(self, user: User, now: datetime | None = None) -> StaffSession:
        now = now or utcnow()
        token, csrf = new_token(), new_token()
        with self.engine.begin() as connection:
            connection.execute(
                insert(staff_sessions).values(
                    token_hash=token_hash(token),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return StaffSession(token, csrf, user, now)

    def session(
        self, token: str | None, now: datetime | None = None, touch: bool = True
    ) -> StaffSession | None:
        """The live session for a cookie, or None; with `touch` its last use moves to now
        (not for the page's own background polls)."""
        if not token:
            return None
        now = now or utcnow()
        key = token_hash(token)
        with self.engine.begin() as connection:
            row = connection.execute(
                select(
                    staff_sessions.c.csrf_token,
                    staff_sessions.c.created_at,
                    staff_sessions.c.last_seen_at,
                    staff_sessions.c.page_open_at,
                    staff_users.c.id,
                    staff_users.c.username,
                    staff_users.c.role,
                    staff_users.c.active,
                    staff_users.c.available,
                )
                .join(staff_users, staff_users.c.id == staff_sessions.c.user_id)
                .where(staff_sessions.c.token_hash == key)
            ).first()
            if row is None:
                return None
            expired = (
                now - as_utc(row.last_seen_at) > IDLE_TIMEOUT
                or now - as_utc(row.created_at) > ABSOLUTE_TIMEOUT
                or not row.active
            )
            if expired:
                connection.execute(delete(staff_sessions).where(staff_sessions.c.token_hash == key))
                return None
            # A click moves the idle timeout; the page's own polls only say the dashboard
            # is open (availability for chat), at most every PAGE_OPEN_EVERY.
            if touch:
                seen = {"last_seen_at": now, "page_open_at": now}
            elif _page_open_is_stale(row.page_open_at, now):
                seen = {"page_open_at": now}
            else:
                seen = {}
            if seen:
                connection.execute(
                    update(staff_sessions).where(staff_sessions.c.token_hash == key).values(**seen)
                )
        return StaffSession(token, row.csrf_token, _user(row), as_utc(row.created_at))

    def purge_expired(self, now: datetime | None = None) -> tuple[int, int]:
        """Sessions past their idle or absolute timeout (a session is otherwise deleted only
        when its cookie comes back) and failures outside the counting window. Returns how
        many of each were deleted."""
        now = now or utcnow()
        with self.engine.begin() as connection:
            sessions = connection.execute(
                delete(staff_sessions).where(
                    (staff_sessions.c.last_seen_at < now - IDLE_TIMEOUT)
                    | (staff_sessions.c.created_at < now - ABSOLUTE_TIMEOUT)
                )
            ).rowcount
            failures = connection.execute(
                delete(staff_login_failures).where(staff_login_failures.c.at < now - FAILURE_WINDOW)
            ).rowcount
        return sessions, failures

    def end_session(self, token: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(staff_sessions).where(staff_sessions.c.token_hash == token_hash(token))
            )


# How often a page's background polls record that the dashboard is open (a write each time).
PAGE_OPEN_EVERY = timedelta(seconds=30)


def _page_open_is_stale(page_open_at: datetime | None, now: datetime) -> bool:
    return page_open_at is None or now - as_utc(page_open_at) >= PAGE_OPEN_EVERY
