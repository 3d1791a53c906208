"""events indexed by (copy_id, at) instead of copy_id alone: the timing rules
read a copy's clicks in a time window

Revision ID: 0008
Revises: 0007
Create Date: 2025-01-08
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The new index serves every look-up by copy_id the old one did.
    op.create_index("ix_events_copy_id_at", "events", ["copy_id", "at"])
    op.drop_index("ix_events_copy_id", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_copy_id", "events", ["copy_id"])
    op.drop_index("ix_events_copy_id_at", table_name="events")
