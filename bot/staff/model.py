"""The staff dashboard's tables, in the escalation store's database and migrations.

No table here holds a relative's message text: the audit log records who did what to
which escalation, sessions hold a hash of the cookie, never the cookie itself.
"""

from __future__ import annotations

from enum import Enum

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Table, Text

from bot.escalations.model import metadata


class Role(str, Enum):
    HANDLER = "handler"
    ADMIN = "admin"


# How a handler closes an escalation. Labels are in the templates (Swedish).
OUTCOMES = (
    "advice_given",
    "referred_social_services",
    "referred_police",
    "emergency_services",
    "no_risk_found",
    "relative_unreachable",
    "other",
)

staff_users = Table(
    "staff_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=True),
    # Sealed with STAFF_TOTP_KEY (bot/staff/security.py TotpVault), never in clear.
    Column("totp_secret", String(255), nullable=True),
    # The last TOTP time step used: a code is accepted once.
    Column("totp_last_step", Integer, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    # The handler is ready to join live conversations (the dashboard's toggle).
    Column("available", Boolean, nullable=False, default=False),
    # A setup link (hash of its token) lets the person choose a password and add TOTP.
    Column("setup_token_hash", String(64), nullable=True),
    Column("setup_expires_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)

staff_login_failures = Table(
    "staff_login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

staff_audit = Table(
    "staff_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("username", String(64), nullable=True),
    Column("action", String(48), nullable=False),
    Column("escalation_id", Integer, nullable=True),
    # A code or a status change ("new -> claimed"), never text a relative wrote.
    Column("detail", String(200), nullable=False, default=""),
)

escalation_notes = Table(
    "escalation_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "escalation_id",
        Integer,
        ForeignKey("escalations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", Integer, nullable=True),
    Column("username", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
