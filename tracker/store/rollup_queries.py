"""What the stats read from the rollup (tracker/store/rollup.py).

Grouped by campaign, variant or group (and in total): a few rows of
`campaign_counts` per campaign; by domain, `campaign_domain_counts`; by day,
`campaign_day_counts`. Each carries "sent" too (a trigger on `copies` adds
it, migration 0012), so these never read the campaign's copies; they add
any events of copies recorded after them (`early_day_counts`, through
`copies`: a handful of rows). By sender or recipient, which the campaign
rollups do not keep: one row per copy, `copies` joined to `copy_counts`.

Every figure comes out under the names of `CAMPAIGN_COUNTERS`: the COUNTERS'
totals and `unique_<counter>` for the UNIQUE_COUNTERS (copies with one or more).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Select,
    case,
    cast,
    func,
    literal_column,
    select,
    union_all,
)

from tracker.store.models import (
    CAMPAIGN_COUNTERS,
    COUNTERS,
    UNIQUE_COUNTERS,
    campaign_counts,
    campaign_day_counts,
    campaign_domain_counts,
    copies,
    copy_counts,
    early_day_counts,
)

# The rollup table keeping each grouping (and the totals, None); the others: per copy.
CAMPAIGN_ROLLUPS = {
    None: campaign_counts,
    "campaign": campaign_counts,
    "variant": campaign_counts,
    "group": campaign_counts,
    "domain": campaign_domain_counts,
}
_FIGURES = ("sent", *CAMPAIGN_COUNTERS)


def _sum(column: ColumnElement) -> ColumnElement[int]:
    # As a bigint: PostgreSQL sums bigints as numeric, which the driver hands
    # over as Decimal (5,000 domains of 19 figures: 0.1 s of converting back).
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


def copy_figures(rollup: FromClause) -> list[ColumnElement[int]]:
    """CAMPAIGN_COUNTERS summed over rows of one copy each (or of one copy and
    day): totals, and for the unique counts the rows whose counter is above 0."""
    return [
        *(_sum(rollup.c[name]) for name in COUNTERS),
        *(_sum(case((rollup.c[name] > 0, 1), else_=0)) for name in UNIQUE_COUNTERS),
    ]


def _in_campaign(column: ColumnElement, campaign: str | None) -> list[ColumnElement[bool]]:
    return [column == campaign] if campaign is not None else []


def _part(
    key: ColumnElement | None,
    figures: dict[str, ColumnElement],
    source: FromClause,
    where: Sequence[ColumnElement[bool]],
) -> Select:
    """One part of a union: the key (if grouped), then every figure (0 where the
    part has none of it), aggregated per key."""
    columns = [figures.get(name, literal_column("0")).label(name) for name in _FIGURES]
    keyed = [key.label("key")] if key is not None else []
    query = select(*keyed, *columns).select_from(source).where(*where)
    return query.group_by(key) if key is not None else query


def _summed(parts: Sequence[Select], grouped: bool) -> Select:
    union = union_all(*parts).subquery()
    figures = [_sum(union.c[name]).label(name) for name in _FIGURES]
    if not grouped:
        return select(*figures)
    return select(union.c.key, *figures).group_by(union.c.key)


def _early(*, per_day: bool) -> FromClause:
    """The early events per copy (and day), summed before they meet `copies`: the
    database reads the few early rows and looks their copies up one by one. (Joined
    as they are, SQLite, which keeps no statistics of an empty table, may instead
    look for early rows of each of the campaign's copies: 0.9 s at 250 k copies.)"""
    keys = [early_day_counts.c.copy_id]
    if per_day:
        keys.append(early_day_counts.c.day)
    counters = [func.sum(early_day_counts.c[name]).label(name) for name in COUNTERS]
    return select(*keys, *counters).group_by(*keys).subquery()


def _named(columns: Sequence[ColumnElement], names: Sequence[str]) -> dict[str, ColumnElement]:
    return dict(zip(names, columns, strict=True))


def figures_per(by: str | None, campaign: str | None) -> Select:
    """Sent and every event figure per grouping key (or in total when `by` is
    None), each copy in exactly one row: rows add up to the totals."""
    if by not in CAMPAIGN_ROLLUPS:
        # A copy without events still counts as sent: a left join.
        sent = {"sent": _sum(copies.c.recipients)}
        joined = copies.outerjoin(copy_counts, copy_counts.c.copy_id == copies.c.copy_id)
        figures = sent | _named(copy_figures(copy_counts), CAMPAIGN_COUNTERS)
        return _part(copies.c[by], figures, joined, _in_campaign(copies.c.campaign, campaign))
    rollup = CAMPAIGN_ROLLUPS[by]
    early = _early(per_day=False)
    # The rollups keep '' for "none": back to NULL, as in `copies`.
    parts = [
        _part(
            func.nullif(rollup.c[by], "") if by is not None else None,
            {name: _sum(rollup.c[name]) for name in _FIGURES},
            rollup,
            _in_campaign(rollup.c.campaign, campaign),
        ),
        _part(
            copies.c[by] if by is not None else None,
            _named(copy_figures(early), CAMPAIGN_COUNTERS),
            early.join(copies, copies.c.copy_id == early.c.copy_id),
            _in_campaign(copies.c.campaign, campaign),
        ),
    ]
    return _summed(parts, grouped=by is not None)


def counts_per(by: str, campaign: str | None) -> Select:
    """Sent (copies by the UTC day they were sent on) and the event figures
    (by the UTC day the events happened on) per day (`by` must be "day"; the
    key is a date): the campaign's days plus its early events."""
    if by != "day":
        raise ValueError(f"counts_per: by day only, not {by!r}: figures_per has the others")
    days = campaign_day_counts
    summed = {name: _sum(days.c[name]) for name in _FIGURES}
    early = _early(per_day=True)
    parts = [
        _part(days.c.day, summed, days, _in_campaign(days.c.campaign, campaign)),
        _part(
            early.c.day,
            _named(copy_figures(early), CAMPAIGN_COUNTERS),
            early.join(copies, copies.c.copy_id == early.c.copy_id),
            _in_campaign(copies.c.campaign, campaign),
        ),
    ]
    return _summed(parts, grouped=True)
