"""copy_day_counts: the rollup's counters per copy and UTC day (filled from events)

Revision ID: 0005
Revises: 0004
Create Date: 2025-01-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COUNTERS = ("impressions", "opens", "clicks", "optouts", "machine_opens", "machine_clicks")
# The same classification as tracker/store/rollup.py, in SQL, for the events so
# far; {day} is the UTC date of the event, spelled per backend.
BACKFILL = """
INSERT INTO copy_day_counts (copy_id, day, impressions, opens, clicks, optouts, machine_opens,
                             machine_clicks)
SELECT copy_id, {day},
  SUM(CASE WHEN kind = 'impression' AND verdict IN ('human', 'proxy') THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'open' AND verdict IN ('human', 'proxy') THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'click' AND verdict IN ('human', 'proxy') THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'optout' THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'open' AND verdict NOT IN ('human', 'proxy') THEN 1 ELSE 0 END),
  SUM(CASE WHEN kind = 'click' AND verdict NOT IN ('human', 'proxy') THEN 1 ELSE 0 END)
FROM events GROUP BY 1, 2
"""
# PostgreSQL keeps timestamptz: the date in UTC whatever the session's zone.
# SQLite keeps UTC wall time as text: date() of it is the UTC date.
DAY = {"postgresql": "(at AT TIME ZONE 'UTC')::date", "sqlite": "date(at)"}


def upgrade() -> None:
    op.create_table(
        "copy_day_counts",
        sa.Column("copy_id", sa.String(16), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        *(sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in COUNTERS),
    )
    op.execute(BACKFILL.format(day=DAY[op.get_bind().dialect.name]))


def downgrade() -> None:
    op.drop_table("copy_day_counts")
