"""interest_profiles: per recipient key and topic, human clicks and the last
one's time (interest targeting, only with recorded consent)

Keyed by the recipient key, as `consents` are: no address. The rows are
erased with the consent, by an opt-out and by `sigrelay forget`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interest_profiles",
        sa.Column("recipient_key", sa.String(32), primary_key=True),
        sa.Column("topic", sa.String(64), primary_key=True),
        sa.Column("clicks", sa.Integer, nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("interest_profiles")
