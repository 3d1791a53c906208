"""consent_receipts: proof of each consent given or withdrawn (GDPR Art. 7(1)):
when, how, and which version of the consent text the recipient saw;
campaign_reason_counts: events per campaign, kind and reason; optouts by time

Receipts hold nothing else: no address (the recipient key, as in
`consents`), no IP address, no user agent. campaign_reason_counts is filled
from the events stored so far (their reason, or their verdict before 0010).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("recipient_key", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("how", sa.String(64), nullable=False),
        sa.Column("text_version", sa.String(80)),
    )
    op.create_index("ix_consent_receipts_recipient_key", "consent_receipts", ["recipient_key"])
    op.create_table(
        "campaign_reason_counts",
        sa.Column("campaign", sa.Text, primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("events", sa.Integer, nullable=False),
    )
    op.execute(BACKFILL)
    op.create_index("ix_optouts_at", "optouts", ["at"])


BACKFILL = """
INSERT INTO campaign_reason_counts (campaign, kind, reason, events)
SELECT COALESCE(c.campaign, ''), e.kind, COALESCE(e.reason, e.verdict), COUNT(*)
FROM events e JOIN copies c ON c.copy_id = e.copy_id
WHERE e.kind IN ('impression', 'open', 'click')
GROUP BY COALESCE(c.campaign, ''), e.kind, COALESCE(e.reason, e.verdict)
"""


def downgrade() -> None:
    op.drop_index("ix_optouts_at", table_name="optouts")
    op.drop_table("campaign_reason_counts")
    op.drop_index("ix_consent_receipts_recipient_key", table_name="consent_receipts")
    op.drop_table("consent_receipts")
