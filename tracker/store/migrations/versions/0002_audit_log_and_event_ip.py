"""audit_log (forget and purge, without addresses) and the optional truncated IP of events

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("ip", sa.String(64)))
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("ip")
