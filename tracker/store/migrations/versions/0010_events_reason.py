"""events.reason: why the verdict (which rule fired), e.g. `proxy:gmail`,
`scanner:burst`

Nullable on purpose: events stored before this revision keep NULL, read as
their verdict alone (`coalesce(reason, verdict)`), so the upgrade rewrites no
rows of a table that may hold tens of millions.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("reason", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("reason")
