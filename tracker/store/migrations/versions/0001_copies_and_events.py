"""copies and events: the first tables

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "copies",
        sa.Column("copy_id", sa.String(16), primary_key=True),
        sa.Column("queue_id", sa.String(64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("group", sa.Text, nullable=False),
        sa.Column("privacy", sa.String(16), nullable=False),
        sa.Column("campaign", sa.Text),
        sa.Column("variant", sa.Text),
        sa.Column("recipient", sa.Text),
        sa.Column("domain", sa.Text),
        sa.Column("recipients", sa.Integer, nullable=False),
    )
    op.create_index("ix_copies_campaign", "copies", ["campaign"])
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("copy_id", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("target", sa.Text),
    )
    op.create_index("ix_events_copy_id", "events", ["copy_id"])


def downgrade() -> None:
    op.drop_index("ix_events_copy_id", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_copies_campaign", table_name="copies")
    op.drop_table("copies")
