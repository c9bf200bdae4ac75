"""Passwords, TOTP codes and tokens for staff accounts.

- Passwords: argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).
- Two-factor: TOTP (RFC 6238, 30-second steps, SHA-1, 6 digits: what authenticator apps
  expect), one step of clock drift either way, and each step accepted once.
- TOTP secrets at rest: sealed (Fernet: AES-128-CBC + HMAC-SHA256) with a key derived from
  STAFF_TOTP_KEY, so a copy of the database alone gives nobody a second factor.
- Session cookies, CSRF tokens and setup links: 256 random bits; only their SHA-256 is
  stored, so a copy of the database opens no session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_PASSWORD_LENGTH = 12
TOTP_ISSUER = "Vägvisaren"
TOTP_STEP_SECONDS = 30

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Why a new password cannot be used (a code for the template), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if len(password) > 256:
        return "too_long"
    return None


def new_totp_secret() -> str:
    return pyotp.random_base32()


_PROCESS_KEY = secrets.token_bytes(32)


def setup_totp_secret(token: str, key: str) -> str:
    """The TOTP secret a setup link shows and then checks: derived on the server from the
    link's token and a server key, never taken back from the browser (issue 17: a hidden
    form field let the browser choose it, and a malformed one gave 500). Without a key
    (tests), a key of this process."""
    mac = hmac.new(key.encode() if key else _PROCESS_KEY, b"totp-setup:" + token.encode(), "sha256")
    return base64.b32encode(mac.digest()[:20]).decode()


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def totp_now(secret: str, at: float | None = None) -> str:
    """The current code (for tests and the setup page's check)."""
    return pyotp.TOTP(secret).at(at if at is not None else time.time())


def matching_totp_step(
    secret: str, code: str, last_step: int | None, at: float | None = None
) -> int | None:
    """The time step `code` belongs to (now, or one step either side), if it is newer than
    `last_step`; None for a wrong, old or reused code."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    now = at if at is not None else time.time()
    current = int(now // TOTP_STEP_SECONDS)
    totp = pyotp.TOTP(secret)
    for step in (current, current - 1, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            return step
    return None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


class TotpKeyMissing(RuntimeError):
    """STAFF_TOTP_KEY is not set: TOTP secrets can be neither sealed nor read."""


class TotpVault:
    """Seals TOTP secrets before they are stored and opens them to check a code.

    A secret stored in clear by an earlier version (base32, never a Fernet token) is read
    as it is; `Accounts.seal_clear_totp_secrets` seals those at the dashboard's start."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(_fernet_key(key)) if key else None

    def seal(self, secret: str) -> str:
        return self._needed().encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        if not self.is_sealed(stored):
            return stored
        try:
            return self._needed().decrypt(stored.encode()).decode()
        except InvalidToken as error:
            # Sealed with another key: STAFF_TOTP_KEY changed. The account needs a reset.
            raise TotpKeyMissing("a TOTP secret sealed with another STAFF_TOTP_KEY") from error

    @staticmethod
    def is_sealed(stored: str) -> bool:
        # Base32 (a clear secret) has no lower-case letters; a Fernet token starts "gAAAAA".
        return stored.startswith("gAAAAA")

    def _needed(self) -> Fernet:
        if self._fernet is None:
            raise TotpKeyMissing("STAFF_TOTP_KEY is not set (make env writes one)")
        return self._fernet


def _fernet_key(key: str) -> bytes:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"vagvisaren staff totp"
    ).derive(key.encode())
    return base64.urlsafe_b64encode(derived)
