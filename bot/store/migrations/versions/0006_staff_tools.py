"""The staff side as a helpline team uses it (issue 20): how long a relative has waited,
when they asked for a person, whether they are typing, prepared answers ("snabbsvar"), and
the statistics tables, which hold no text and no identifier.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from datetime import timezone

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("person_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("case_opened_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("fact_id", sa.Integer, nullable=True))
    with op.batch_alter_table("conversation_presence") as batch:
        batch.add_column(sa.Column("typing_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("staff_sessions") as batch:
        batch.add_column(sa.Column("page_open_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "quick_replies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(80), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    facts = op.create_table(
        "case_facts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("opened_hour", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("categories", sa.String(200), nullable=False, server_default=""),
        sa.Column("wants_person", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("claimed_after_seconds", sa.Integer, nullable=True),
        sa.Column("resolved_after_seconds", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
    )
    op.create_table(
        "conversation_counts",
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("conversations", sa.Integer, nullable=False, server_default="0"),
    )
    _facts_for_existing_escalations(facts)


def _facts_for_existing_escalations(facts: sa.Table) -> None:
    """Escalations stored before this version get their case's facts (what is known: when
    it opened, level, categories, a request for a person, when and how it was resolved)."""
    connection = op.get_bind()
    escalations = sa.table(
        "escalations",
        sa.column("id", sa.Integer),
        sa.column("level", sa.String),
        sa.column("categories", sa.String),
        sa.column("wants_person", sa.Boolean),
        sa.column("status", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("resolved_at", sa.DateTime(timezone=True)),
        sa.column("outcome", sa.String),
        sa.column("waiting_since", sa.DateTime(timezone=True)),
        sa.column("case_opened_at", sa.DateTime(timezone=True)),
        sa.column("fact_id", sa.Integer),
    )
    for row in connection.execute(sa.select(escalations)).all():
        opened = _utc(row.created_at)
        resolved = _utc(row.resolved_at)
        fact_id = connection.execute(
            sa.insert(facts).values(
                opened_hour=opened.replace(minute=0, second=0, microsecond=0),
                level=row.level,
                categories=row.categories or "",
                wants_person=bool(row.wants_person),
                resolved_after_seconds=(
                    max(0, int((resolved - opened).total_seconds())) if resolved else None
                ),
                outcome=row.outcome,
            )
        ).inserted_primary_key[0]
        still_open = row.status != "resolved"
        connection.execute(
            sa.update(escalations)
            .where(escalations.c.id == row.id)
            .values(
                fact_id=fact_id,
                case_opened_at=opened,
                waiting_since=opened if still_open else None,
            )
        )


def _utc(moment):
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def downgrade() -> None:
    op.drop_table("conversation_counts")
    op.drop_table("case_facts")
    op.drop_table("quick_replies")
    with op.batch_alter_table("staff_sessions") as batch:
        batch.drop_column("page_open_at")
    with op.batch_alter_table("conversation_presence") as batch:
        batch.drop_column("typing_at")
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("fact_id")
        batch.drop_column("case_opened_at")
        batch.drop_column("person_requested_at")
        batch.drop_column("waiting_since")
