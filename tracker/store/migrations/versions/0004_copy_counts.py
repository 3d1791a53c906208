"""copy_counts: per-copy event counters, the rollup the stats read (filled from events)

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COUNTERS = ("impressions", "opens", "clicks", "optouts", "machine_opens", "machine_clicks")
# The same classification as tracker/store/rollup.py, in SQL, for the events so far.
BACKFILL = """
INSERT INTO copy_counts (copy_id, impressions, opens, clicks, optouts, machine_opens,
                         machine_clicks)
SELECT copy_id,
  SUM(CASE WHEN kind = 'impression' AND verdict IN ('human', 'proxy') THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'open' AND verdict IN ('human', 'proxy') THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'click' AND verdict IN ('human', 'proxy') THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'optout' THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'open' AND verdict NOT IN ('human', 'proxy') THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'click' AND verdict NOT IN ('human', 'proxy') THEN 1 ELSE 0 END)
FROM events GROUP BY copy_id
"""


def upgrade() -> None:
    op.create_table(
        "copy_counts",
        sa.Column("copy_id", sa.String(16), primary_key=True),
        *(sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in COUNTERS),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("copy_counts")
