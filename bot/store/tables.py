"""Every table of Vägvisaren's own database (the escalation store), in one place.

SQLite (a file under var/) or PostgreSQL (ESCALATION_DATABASE_URL). The schema is created
and upgraded by the migrations beside this module (bot/store/migrations), never by
create_all. Each table has one owner that writes it:
- escalations: bot/escalations (the lifecycle, bot/escalations/lifecycle.py and service.py)
- conversation_presence: bot/escalations/presence.py
- case_facts: bot/escalations/facts.py (statistics: no text, no identifier)
- conversation_counts: bot/statistics/counts.py (conversations started per hour)
- quick_replies: bot/staff/quick_replies.py
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
    # Since when the relative has waited for a person: their first message that no handler
    # has answered (set when the case opens, when they ask for a person, when they write
    # while a handler is in the conversation; cleared by a handler's message or resolving).
    Column("waiting_since", DateTime(timezone=True), nullable=True),
    # When the relative last asked to talk to a person (their place in the queue).
    Column("person_requested_at", DateTime(timezone=True), nullable=True),
    # When this case opened (created, or reopened after it was resolved), and its row of
    # statistics (case_facts): durations are measured from the opening.
    Column("case_opened_at", DateTime(timezone=True), nullable=True),
    Column("fact_id", Integer, nullable=True),
)

# Whether a relative's web chat is open: sockets per conversation (keyed hash), kept by the
# socket.io channel (bot/channels/socketio.py) so the dashboard can tell a handler they have left.
conversation_presence = Table(
    "conversation_presence",
    metadata,
    Column("conversation_ref", String(64), primary_key=True),
    Column("sockets", Integer, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The relative is typing in the web chat (the widget says so every few seconds).
    Column("typing_at", DateTime(timezone=True), nullable=True),
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
    # The dashboard was open (its page asked for updates): what "available for chat" needs,
    # kept apart from last_seen_at so an open tab does not stop the idle timeout (issue 20).
    Column("page_open_at", DateTime(timezone=True), nullable=True),
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


# Prepared answers ("snabbsvar") a handler inserts into a live chat and edits before sending.
# Written by admins; placeholders name the deployment's contacts (bot/staff/quick_replies.py).
quick_replies = Table(
    "quick_replies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(80), nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_by", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Statistics (issue 20): one row per case (an escalation from its opening to its
# resolution; a reopened escalation is a new case), with no text, no identifier and no
# link back but the escalation's own fact_id while the escalation exists. The hour it
# opened, not the minute. Retention keeps these rows.
case_facts = Table(
    "case_facts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("opened_hour", DateTime(timezone=True), nullable=False, index=True),
    Column("level", String(16), nullable=False),  # the highest the case reached
    Column("categories", String(200), nullable=False, default=""),
    Column("wants_person", Boolean, nullable=False, default=False),
    Column("claimed_after_seconds", Integer, nullable=True),  # first claim or join
    Column("resolved_after_seconds", Integer, nullable=True),
    Column("outcome", String(32), nullable=True),
)

# Conversations started per hour (a count, nothing else).
conversation_counts = Table(
    "conversation_counts",
    metadata,
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("conversations", Integer, nullable=False, default=0),
)
