"""Timing rules: clicks no person makes, judged when events are written.

- A click within `click_after_send` of the copy's sent time is a security
  scanner (Safe Links, Proofpoint and others follow every link on delivery).
- Different links of one copy clicked within `burst` of each other: a
  scanner following all links at once; every click of the burst is one.

Why here and not in the request handler: the rules need the copy's sent time
and its other clicks, which live in the store. Looking them up per request
would put a query (or a cache that misses on every first click) on the click
path; carrying the sent time in the click token would change the token format
and, at the minute resolution that keeps tokens short, be too coarse for a
10-second rule. Applied per batch, it costs two indexed queries per batch,
works the same for events replayed from the journal after an outage, and sees
clicks recorded by every tracker node. A burst split between two batches
written at the same moment by two nodes can be missed; that is the price of
never waiting in the handler.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter

from sqlalchemy import (
    BigInteger,
    String,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from tracker.store.idlists import among, not_among, per_dialect
from tracker.store.models import copies, events
from tracker.store.queries import COUNTED_VERDICTS
from tracker.store.records import EventRecord, with_verdict

SCANNER = "scanner"
# Reasons (tracker/classify.py `Reason`; the store knows no classifier).
EARLY = "scanner:early"
BURST = "scanner:burst"


@dataclass(frozen=True)
class TimingRules:
    click_after_send: timedelta = timedelta(seconds=10)  # zero: off
    burst: timedelta = timedelta(seconds=1)  # zero: off

    @classmethod
    def of_seconds(cls, click_after_send: float, burst: float) -> TimingRules:
        return cls(timedelta(seconds=click_after_send), timedelta(seconds=burst))


@dataclass(frozen=True)
class Reclassified:
    records: list[EventRecord]  # the batch, clicks no person makes marked as scanner clicks
    # Stored clicks re-marked as scanner clicks, as they were counted before
    # (a person's click): the rollup takes them back.
    remarked: list[EventRecord]


@dataclass(slots=True)
class _Click:
    at: datetime
    target: str | None
    batch_index: int | None = None  # position in the batch, or
    stored_id: int | None = None  # the stored event's id
    reason: str = "human"  # a stored click's reason, as counted (the reason rollup)
    counted: bool = True  # still counted as a person's click


async def reclassify(
    conn: AsyncConnection, records: list[EventRecord], rules: TimingRules
) -> Reclassified:
    """The batch with clicks no person makes turned into scanner clicks; clicks
    stored earlier that turn out to belong to a burst are updated too."""
    clicks = [i for i, r in enumerate(records) if r.kind == "click"]
    remarked: list[EventRecord] = []
    if not clicks:
        return Reclassified(records, remarked)
    copy_ids = sorted({records[i].copy_id for i in clicks})
    # Batch position -> reason. A click both early and in a burst says "burst":
    # the shape says more than the time (scanners start a median 43 s after sending).
    scanner: dict[int, str] = {}
    if rules.click_after_send > timedelta(0):
        too_soon = await _too_soon(conn, records, clicks, copy_ids, rules.click_after_send)
        scanner.update(dict.fromkeys(too_soon, EARLY))
    if rules.burst > timedelta(0):
        batch_burst, stored_burst = await _bursts(conn, records, clicks, copy_ids, rules.burst)
        scanner.update(dict.fromkeys(batch_burst, BURST))
        if stored_burst:
            remarked = await _remark_stored(conn, stored_burst)
    if not scanner:
        return Reclassified(records, remarked)
    marked = [
        with_verdict(r, SCANNER, scanner[i])
        if i in scanner and r.verdict in COUNTED_VERDICTS
        else r
        for i, r in enumerate(records)
    ]
    return Reclassified(marked, remarked)


# Built once: they run with every batch that has clicks.
_SENT_AT = per_dialect(
    lambda dialect: select(copies.c.copy_id, copies.c.sent_at).where(
        among(copies.c.copy_id, String, dialect)
    )
)


# On PostgreSQL an IN list: with an array, its generic plan (used once a
# prepared statement has run five times) may scan all events and test each
# against the whole array (seen: 230 ms a batch instead of 4); an IN list of N
# placeholders is planned afresh for its values. On SQLite the lists are JSON
# arrays (tracker/store/idlists.py): rendering three IN lists of a batch's
# copies cost more than the query.
# Only stored clicks that could make a burst with the batch's: a copy whose
# clicks in the batch all went to one link makes none with a stored click on
# that link (stored clicks among themselves were judged when they came). Most
# copies are such, and most clicks in a window are, in a burst of traffic, on
# the same link: reading them all cost the writer more than the rest of a
# click batch (bench/tracker.py). "one" holds copy id + link (copy ids have one
# length): plain values, which SQLite and PostgreSQL look up by index or hash
# (a NOT IN list of (copy_id, target) pairs was scanned for every row: 20x slower).
def _stored_clicks(dialect: str) -> Executable:
    if dialect == "postgresql":
        ids = events.c.copy_id.in_(bindparam("ids", expanding=True))
        several = events.c.copy_id.in_(bindparam("several", expanding=True))
        other = (events.c.copy_id + events.c.target).not_in(bindparam("one", expanding=True))
    else:
        ids = among(events.c.copy_id, String, dialect)
        several = among(events.c.copy_id, String, dialect, "several")
        other = not_among(events.c.copy_id + events.c.target, "one")
    return select(
        events.c.id,
        events.c.copy_id,
        events.c.at,
        events.c.target,
        events.c.verdict,
        func.coalesce(events.c.reason, events.c.verdict),
    ).where(
        ids,
        events.c.kind == "click",
        events.c.at >= bindparam("earliest", type_=events.c.at.type),
        events.c.at <= bindparam("latest", type_=events.c.at.type),
        or_(several, other),  # several links, or another link than the batch's one
    )


_STORED_CLICKS = per_dialect(_stored_clicks)
# Copies per stored-clicks query: on PostgreSQL up to three bound values each,
# and a statement takes at most 32767 (SQLite's take three JSON arrays).
_COPIES_PER_QUERY = 8000
_REMARK = per_dialect(
    lambda dialect: (
        update(events)
        .where(among(events.c.id, BigInteger, dialect))
        .values(verdict=SCANNER, reason=BURST)
        .returning(events.c.id, events.c.copy_id, events.c.at, events.c.target)
    )
)


async def _remark_stored(conn: AsyncConnection, reasons: dict[int, str]) -> list[EventRecord]:
    """Stored counted clicks made scanner clicks (`reasons`: id -> reason as
    stored), returned as they were counted."""
    statement = _REMARK[conn.dialect.name]
    # Only counted clicks are re-marked (_bursts); human and proxy count alike.
    was = COUNTED_VERDICTS[0]
    found = (await conn.execute(statement, {"ids": sorted(reasons)})).all()
    return [
        EventRecord(copy_id, "click", at, was, target, reason=reasons[stored_id])
        for stored_id, copy_id, at, target in found
    ]


async def _too_soon(
    conn: AsyncConnection,
    records: list[EventRecord],
    clicks: list[int],
    copy_ids: list[str],
    window: timedelta,
) -> set[int]:
    query = _SENT_AT[conn.dialect.name]
    sent_at = dict((await conn.execute(query, {"ids": copy_ids})).all())
    return {
        i
        for i in clicks
        if (sent := sent_at.get(records[i].copy_id)) is not None and records[i].at - sent < window
    }


async def _bursts(
    conn: AsyncConnection,
    records: list[EventRecord],
    clicks: list[int],
    copy_ids: list[str],
    window: timedelta,
) -> tuple[set[int], dict[int, str]]:
    """(batch positions, stored event ids -> reasons) of clicks in a burst of different links."""
    per_copy: dict[str, list[_Click]] = defaultdict(list)
    links: dict[str, set[str | None]] = defaultdict(set)
    for i in clicks:
        record = records[i]
        counted = record.verdict in COUNTED_VERDICTS
        per_copy[record.copy_id].append(_Click(record.at, record.target, i, counted=counted))
        links[record.copy_id].add(record.target)
    earliest = min(records[i].at for i in clicks) - window
    latest = max(records[i].at for i in clicks) + window
    bounds = {"earliest": earliest, "latest": latest}
    for start in range(0, len(copy_ids), _COPIES_PER_QUERY):
        ids = copy_ids[start : start + _COPIES_PER_QUERY]
        several, one = [], []
        for copy_id in ids:
            (link, *more) = links[copy_id]
            if more or link is None:
                several.append(copy_id)
            else:
                one.append(copy_id + link)
        values = {"ids": ids, "several": several, "one": one, **bounds}
        found = await conn.execute(_STORED_CLICKS[conn.dialect.name], values)
        for stored_id, copy_id, at, target, verdict, reason in found.all():
            counted = verdict in COUNTED_VERDICTS
            click = _Click(at, target, stored_id=stored_id, counted=counted, reason=reason)
            per_copy[copy_id].append(click)
    in_burst: list[_Click] = []
    for copy_clicks in per_copy.values():
        in_burst.extend(_in_bursts(copy_clicks, window))
    batch = {c.batch_index for c in in_burst if c.batch_index is not None}
    stored = {c.stored_id: c.reason for c in in_burst if c.stored_id is not None and c.counted}
    return batch, stored  # type: ignore[return-value]


_AT = attrgetter("at")


def _in_bursts(clicks: list[_Click], window: timedelta) -> list[_Click]:
    """Clicks that have a click on a different link within `window` of them."""
    clicks.sort(key=_AT)
    marked: dict[int, _Click] = {}
    for i, first in enumerate(clicks):
        for second in clicks[i + 1 :]:
            if second.at - first.at > window:
                break
            if second.target != first.target:
                marked[id(first)] = first
                marked[id(second)] = second
    return list(marked.values())
