"""campaign rollups carry "sent" and (per variant and group) "copies", kept by
a trigger on copies; counters per campaign and recipient domain; copies
indexed by campaign and time sent

The campaign page read the campaign's copies five times (sent in total, per
variant, group, day, and per domain joined to every copy's counters): at a
million copies, most of its time. Now "sent" is added to the campaign rollups
when a copy is recorded, by a trigger, so every way of recording a copy (the
relay's sent facts, the withdrawal's stand-in copies, a bulk load) keeps it,
in the same transaction, and only for rows really inserted (a copy recorded
twice is ignored the second time). Per domain, the writer adds events as it
does per campaign (tracker/store/rollup.py).

Revision ID: 0012
Revises: 0011
Create Date: 2026-03-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COUNTERS = ("impressions", "opens", "clicks", "optouts", "machine_opens", "machine_clicks",
            "visits", "link_clicks", "downloads")  # fmt: skip
UNIQUE = ("impressions", "opens", "clicks", "visits", "link_clicks", "downloads")
CAMPAIGN_COUNTERS = (*COUNTERS, *(f"unique_{name}" for name in UNIQUE))
# Per rollup: its key columns, and the same from a copy (`c`) being recorded.
DAY = {"postgresql": "(c.sent_at AT TIME ZONE 'UTC')::date", "sqlite": "date(c.sent_at)"}
KEYS = {
    "campaign_counts": (
        'campaign, variant, "group"',
        "COALESCE(c.campaign, ''), COALESCE(c.variant, ''), c.\"group\"",
    ),
    "campaign_day_counts": ("campaign, day", "COALESCE(c.campaign, ''), {day}"),
    "campaign_domain_counts": ("campaign, domain",
                               "COALESCE(c.campaign, ''), COALESCE(c.domain, '')"),
}  # fmt: skip
TRIGGER = "copies_add_sent"
# campaign_counts also counts the copies (the A/B panel's "copies per variant").
COPIES = {"campaign_counts": ("copies", "COUNT(*)", "1")}


def _added(table: str, sent: str, copies: str) -> tuple[str, str, str]:
    """The columns an upsert adds to, their values, and its SET clause."""
    names, values, added = ["sent"], [sent], ["sent"]
    if table in COPIES:
        names.append(COPIES[table][0])
        values.append(copies)
        added.append(COPIES[table][0])
    sets = ", ".join(f"{n} = {table}.{n} + excluded.{n}" for n in added)
    return ", ".join(names), ", ".join(values), sets


def _sent_from(source: str, dialect: str) -> dict[str, str]:
    """Per rollup: an upsert adding the copies in `source` (as `c`)."""
    found = {}
    for table, (keys, values) in KEYS.items():
        values = values.format(day=DAY[dialect])
        names, sums, sets = _added(table, "SUM(c.recipients)", "COUNT(*)")
        found[table] = (
            f"INSERT INTO {table} ({keys}, {names}) SELECT {values}, {sums} "
            # WHERE true: SQLite's parser wants one before an upsert's ON CONFLICT.
            f"FROM {source} c WHERE true GROUP BY {values} ORDER BY {values} "
            f"ON CONFLICT ({keys}) DO UPDATE SET {sets}"
        )
    return found


def _upserts_of_new_copy(dialect: str) -> str:
    """A row trigger's statements: `NEW` (its recipients) added to each rollup."""
    statements = []
    for table, (keys, values) in KEYS.items():
        values = values.format(day=DAY[dialect]).replace("c.", "NEW.")
        names, added, sets = _added(table, "NEW.recipients", "1")
        statements.append(
            f"INSERT INTO {table} ({keys}, {names}) VALUES ({values}, {added}) "
            f"ON CONFLICT ({keys}) DO UPDATE SET {sets};"
        )
    return " ".join(statements)


def _triggers(dialect: str) -> list[str]:
    # A row trigger (SQLite has no other): on PostgreSQL a statement trigger
    # over its transition table took twice as long when, as from
    # Store.record_copies (executemany), each statement inserts one row.
    # Measured: 0.05 ms a copy on PostgreSQL, 0.015 ms on SQLite (bench/stats.py).
    if dialect == "sqlite":
        body = _upserts_of_new_copy("sqlite")
        return [f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON copies BEGIN {body} END"]
    return [
        f"CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {_upserts_of_new_copy('postgresql')} RETURN NULL; END $$",
        f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON copies "
        f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()",
    ]


def _counter_columns() -> list[sa.Column]:
    return [sa.Column(n, sa.Integer, nullable=False, server_default="0") for n in CAMPAIGN_COUNTERS]


def _sent_column(name: str = "sent") -> sa.Column:
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # No copy recorded and no event counted between the backfills below and
        # the trigger: both wait for this transaction (reads go on). SQLite's
        # migration holds the one write lock anyway (BEGIN IMMEDIATE).
        op.execute("LOCK TABLE copies, copy_counts IN SHARE MODE")
    for table in ("campaign_counts", "campaign_day_counts"):
        op.add_column(table, _sent_column())
    op.add_column("campaign_counts", _sent_column("copies"))
    # A campaign's first copy (the dashboard's timeline) at once, not by
    # reading all its copies' entries of ix_copies_campaign_sent.
    op.create_index("ix_copies_campaign_sent_at", "copies", ["campaign", "sent_at"])
    op.create_table(
        "campaign_domain_counts",
        sa.Column("campaign", sa.Text, primary_key=True),
        sa.Column("domain", sa.Text, primary_key=True),
        *_counter_columns(),
        _sent_column(),
    )
    # The events so far per campaign and domain: the copies' counters summed.
    names = ", ".join(CAMPAIGN_COUNTERS)
    sums = [f"SUM(r.{name})" for name in COUNTERS]
    sums += [f"SUM(CASE WHEN r.{name} > 0 THEN 1 ELSE 0 END)" for name in UNIQUE]
    key = KEYS["campaign_domain_counts"][1]
    op.execute(
        f"INSERT INTO campaign_domain_counts (campaign, domain, {names}) "
        f"SELECT {key}, {', '.join(sums)} FROM copy_counts r "
        f"JOIN copies c ON c.copy_id = r.copy_id GROUP BY {key}"
    )
    # The copies so far; the trigger adds the next ones.
    for statement in _sent_from("copies", dialect).values():
        op.execute(statement)
    for statement in _triggers(dialect):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON copies")
        op.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
    op.drop_table("campaign_domain_counts")
    op.drop_index("ix_copies_campaign_sent_at", table_name="copies")
    for table in ("campaign_day_counts", "campaign_counts"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("sent")
            if table == "campaign_counts":
                batch.drop_column("copies")
