"""Room for TOTP secrets sealed at rest (bot/staff/security.py TotpVault, issue 17): a
Fernet token of a 32-character secret is 140 characters.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.alter_column(
            "totp_secret", existing_type=sa.String(64), type_=sa.String(255), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.alter_column(
            "totp_secret", existing_type=sa.String(255), type_=sa.String(64), existing_nullable=True
        )
