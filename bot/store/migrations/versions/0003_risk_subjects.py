"""Who is at risk and whether the relative confirmed the signal (the safety check).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("subjects", sa.String(64), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("confirmed", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("confirmed")
        batch.drop_column("subjects")
