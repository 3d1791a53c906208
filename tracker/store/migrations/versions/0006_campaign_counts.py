"""campaign rollups: counters per campaign, variant and group and per campaign
and day with unique counts; landing page counters; early events; copies
index covering "sent" per campaign

Revision ID: 0006
Revises: 0005
Create Date: 2025-01-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_COUNTERS = ("impressions", "opens", "clicks", "optouts", "machine_opens", "machine_clicks")
LANDING = {"visits": "visit", "link_clicks": "link", "downloads": "download"}
COUNTERS = (*OLD_COUNTERS, *LANDING)
UNIQUE = ("impressions", "opens", "clicks", *LANDING)
CAMPAIGN_COUNTERS = (*COUNTERS, *(f"unique_{name}" for name in UNIQUE))
PER_COPY = ("copy_counts", "copy_day_counts")
# PostgreSQL keeps timestamptz: the date in UTC whatever the session's zone.
# SQLite keeps UTC wall time as text: date() of it is the UTC date.
DAY = {"postgresql": "(at AT TIME ZONE 'UTC')::date", "sqlite": "date(at)"}


def _landing_backfill(table: str, day: str) -> str:
    """The landing page events so far into a per-copy rollup (rows may exist)."""
    keys = "copy_id" if table == "copy_counts" else "copy_id, day"
    grouped = "copy_id" if table == "copy_counts" else f"copy_id, {day}"
    counts = ", ".join(f"SUM(CASE WHEN kind = '{k}' THEN 1 ELSE 0 END)" for k in LANDING.values())
    kinds = ", ".join(f"'{kind}'" for kind in LANDING.values())
    names = ", ".join(LANDING)
    update = ", ".join(f"{name} = excluded.{name}" for name in LANDING)
    return (
        f"INSERT INTO {table} ({keys}, {names}) SELECT {grouped}, {counts} FROM events "
        f"WHERE kind IN ({kinds}) GROUP BY {grouped} ON CONFLICT ({keys}) DO UPDATE SET {update}"
    )


def _campaign_backfill(table: str, source: str, keys: str) -> str:
    """Sums of the copies' rows per campaign key; unique: copies whose counter is above 0."""
    names = ", ".join(CAMPAIGN_COUNTERS)
    sums = [f"SUM(r.{name})" for name in COUNTERS]
    sums += [f"SUM(CASE WHEN r.{name} > 0 THEN 1 ELSE 0 END)" for name in UNIQUE]
    key_names = 'campaign, variant, "group"'
    if table == "campaign_day_counts":
        key_names = "campaign, day"
    return (
        f"INSERT INTO {table} ({key_names}, {names}) SELECT {keys}, {', '.join(sums)} "
        f"FROM {source} r JOIN copies c ON c.copy_id = r.copy_id GROUP BY {keys}"
    )


def _counter_columns(names: tuple[str, ...]) -> list[sa.Column]:
    return [sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in names]


SENT_INDEX = ("campaign", "variant", "group", "sent_at", "recipients")


def upgrade() -> None:
    day = DAY[op.get_bind().dialect.name]
    op.create_index("ix_copies_campaign_sent", "copies", list(SENT_INDEX))
    op.drop_index("ix_copies_campaign", table_name="copies")
    for table in PER_COPY:
        for column in _counter_columns(tuple(LANDING)):
            op.add_column(table, column)
        op.execute(_landing_backfill(table, day))
    campaign_keys = [sa.Column(name, sa.Text, primary_key=True) for name in ("campaign", "variant")]
    op.create_table(
        "campaign_counts",
        *campaign_keys,
        sa.Column("group", sa.Text, primary_key=True),
        *_counter_columns(CAMPAIGN_COUNTERS),
    )
    op.create_table(
        "campaign_day_counts",
        sa.Column("campaign", sa.Text, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        *_counter_columns(CAMPAIGN_COUNTERS),
    )
    op.create_table(
        "early_day_counts",
        sa.Column("copy_id", sa.String(16), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        *_counter_columns(COUNTERS),
    )
    campaign = "COALESCE(c.campaign, '')"
    op.execute(
        _campaign_backfill(
            "campaign_counts",
            "copy_counts",
            f"{campaign}, COALESCE(c.variant, ''), c.\"group\"",
        )
    )
    op.execute(_campaign_backfill("campaign_day_counts", "copy_day_counts", f"{campaign}, r.day"))
    # Events whose copy was never recorded (so far): counted once it is.
    names = ", ".join(("copy_id", "day", *COUNTERS))
    op.execute(
        f"INSERT INTO early_day_counts ({names}) SELECT {names} FROM copy_day_counts r "
        "WHERE NOT EXISTS (SELECT 1 FROM copies c WHERE c.copy_id = r.copy_id)"
    )


def downgrade() -> None:
    op.create_index("ix_copies_campaign", "copies", ["campaign"])
    op.drop_index("ix_copies_campaign_sent", table_name="copies")
    for table in ("early_day_counts", "campaign_day_counts", "campaign_counts"):
        op.drop_table(table)
    for table in PER_COPY:
        with op.batch_alter_table(table) as batch:
            for name in LANDING:
                batch.drop_column(name)
