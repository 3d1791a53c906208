"""What the stats read from the rollup (tracker/store/rollup.py).

Grouped by campaign, variant or group (and in total): a few rows of
`campaign_counts` per campaign, plus "sent" from `copies` (an index-only
scan of the campaign's copies), plus any events of copies recorded after
them (`early_day_counts`, through `copies`). By sender, domain or recipient,
which the campaign rollup does not keep: one row per copy, `copies` joined to
`copy_counts`. By day: `campaign_day_counts` plus the early events.

Every figure comes out under the names of `CAMPAIGN_COUNTERS`: the COUNTERS'
totals and `unique_<counter>` for the UNIQUE_COUNTERS (copies with one or more).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    case,
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
    copies,
    copy_counts,
    early_day_counts,
)

CAMPAIGN_KEYS = ("campaign", "variant", "group")
_FIGURES = ("sent", *CAMPAIGN_COUNTERS)


def _sum(column: ColumnElement) -> ColumnElement[int]:
    return func.coalesce(func.sum(column), 0)


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


def _early_per_copy() -> FromClause:
    copy_id = early_day_counts.c.copy_id
    counters = [func.sum(early_day_counts.c[name]).label(name) for name in COUNTERS]
    return select(copy_id, *counters).group_by(copy_id).subquery()


def _named(columns: Sequence[ColumnElement], names: Sequence[str]) -> dict[str, ColumnElement]:
    return dict(zip(names, columns, strict=True))


def figures_per(by: str | None, campaign: str | None) -> Select:
    """Sent and every event figure per grouping key (or in total when `by` is
    None), each copy in exactly one row: rows add up to the totals."""
    sent = {"sent": _sum(copies.c.recipients)}
    where = _in_campaign(copies.c.campaign, campaign)
    if by is not None and by not in CAMPAIGN_KEYS:
        # A copy without events still counts as sent: a left join.
        joined = copies.outerjoin(copy_counts, copy_counts.c.copy_id == copies.c.copy_id)
        figures = sent | _named(copy_figures(copy_counts), CAMPAIGN_COUNTERS)
        return _part(copies.c[by], figures, joined, where)
    early = _early_per_copy()

    def key(table: FromClause) -> ColumnElement | None:
        if by is None:
            return None
        # campaign_counts keeps '' for "none": back to NULL, as in `copies`.
        return func.nullif(table.c[by], "") if table is campaign_counts else table.c[by]

    summed = {name: _sum(campaign_counts.c[name]) for name in CAMPAIGN_COUNTERS}
    parts = [
        _part(key(copies), sent, copies, where),
        _part(
            key(campaign_counts),
            summed,
            campaign_counts,
            _in_campaign(campaign_counts.c.campaign, campaign),
        ),
        _part(
            key(copies),
            _named(copy_figures(early), CAMPAIGN_COUNTERS),
            early.join(copies, copies.c.copy_id == early.c.copy_id),
            where,
        ),
    ]
    return _summed(parts, grouped=by is not None)


def counts_per(by: str, campaign: str | None) -> Select:
    """The event figures per UTC day the events happened on (`by` must be
    "day"; the key is a date): the campaign's days plus its early events."""
    if by != "day":
        raise ValueError(f"counts_per: by day only, not {by!r}: figures_per has the others")
    days = campaign_day_counts
    summed = {name: _sum(days.c[name]) for name in CAMPAIGN_COUNTERS}
    early = early_day_counts.join(copies, copies.c.copy_id == early_day_counts.c.copy_id)
    parts = [
        _part(days.c.day, summed, days, _in_campaign(days.c.campaign, campaign)),
        _part(
            early_day_counts.c.day,
            _named(copy_figures(early_day_counts), CAMPAIGN_COUNTERS),
            early,
            _in_campaign(copies.c.campaign, campaign),
        ),
    ]
    return _summed(parts, grouped=True)
