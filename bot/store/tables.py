"""Every table of Vägvisaren's own database (the escalation store), in one place.

SQLite (a file under var/) or PostgreSQL (ESCALATION_DATABASE_URL). The schema is created
and upgraded by the migrations beside this module (bot/store/migrations), never by
create_all. Each table has one owner that writes it:
- escalations: bot/escalations (the lifecycle, bot/escalations/lifecycle.py and service.py)
- conversation_presence: bot/escalations/presence.py
- staff_users, staff_sessions, staff_login_failures: bot/staff/accounts.py
- staff_audit, escalation_notes: bot/staff/review.py
- messaging_deliveries: bot/channels/deliveries.py

No table holds a relative's message text or an identifier: a conversation is a keyed hash
(bot/pseudonym.py), an excerpt the redacted signal words only, the audit log records who
did what, sessions hold a hash of the cookie.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import registry

metadata = MetaData()
# The escalation's domain object (bot/escalations/model.py) is mapped onto its table here.
mapper_registry = registry(metadata=metadata)


escalations = Table(
    "escalations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_ref", String(64), nullable=False, unique=True),
    Column("level", String(16), nullable=False),
    Column("categories", String(200), nullable=False, default=""),
    Column("status", String(16), nullable=False, default="new"),
    Column("priority", Integer, nullable=False),
    Column("excerpt", Text, nullable=False, default=""),
    Column("last_message_key", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Set by the staff dashboard (bot/staff): who holds it, how it ended and when.
    Column("claimed_by", Integer, nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    # The relative asked to talk to a person (intent request_human).
    Column("wants_person", Boolean, nullable=False, default=False),
    # A handler who is in the conversation right now (live handoff), and since when.
    Column("handoff_by", Integer, nullable=True),
    Column("handoff_since", DateTime(timezone=True), nullable=True),
    # Who is at risk (self, person, child, third_party, comma-separated) and whether the
    # relative confirmed the signal when the bot asked (the safety check).
    Column("subjects", String(64), nullable=False, default=""),
    Column("confirmed", Boolean, nullable=False, default=False),
)

# Whether a relative's web chat is open: sockets per conversation (keyed hash), kept by the
# socket.io channel (bot/channels/socketio.py) so the dashboard can tell a handler they have left.
conversation_presence = Table(
    "conversation_presence",
    metadata,
    Column("conversation_ref", String(64), primary_key=True),
    Column("sockets", Integer, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
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


TABLE = "messaging_deliveries"
# Keyed hashes of webhook delivery ids (bot/channels/deliveries.py, migration 0004).
deliveries = Table(
    TABLE,
    metadata,
    Column("delivery_key", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)
