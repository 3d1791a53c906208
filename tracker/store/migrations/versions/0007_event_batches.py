"""event_batches: ids of the event batches stored, so a replayed batch is not
stored twice

Revision ID: 0007
Revises: 0006
Create Date: 2025-01-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_batches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_event_batches_stored_at", "event_batches", ["stored_at"])


def downgrade() -> None:
    op.drop_index("ix_event_batches_stored_at", table_name="event_batches")
    op.drop_table("event_batches")
