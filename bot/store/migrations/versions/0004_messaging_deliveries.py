"""Webhook deliveries already answered (Telegram update_id, Twilio MessageSid), as keyed
hashes with an expiry, so a resend or a replay is answered once across restarts
(bot/channels/deliveries.py, issue 17).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messaging_deliveries",
        sa.Column("delivery_key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_messaging_deliveries_expires_at", "messaging_deliveries", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_messaging_deliveries_expires_at", table_name="messaging_deliveries")
    op.drop_table("messaging_deliveries")
