"""A hit: what a pixel, banner or click request said, before it is read as an event.

Reading a request as an event (tracker/events/reading.py) costs a few
microseconds a step; on the tracker's request loop, between the kernel's and
aiohttp's own work, the steps together cost a third of the requests a core can
answer (bench/tracker.py). So a handler only writes down the request's facts,
as a hit, and the hits are read in batches, in the event writer's process.

A hit lives in memory and in the pipe to the writer process only: the client's
address is in it, so it is never written to disk as it is. Whatever writes
events to disk reads the hits first, and keeps what the privacy settings allow.
"""

from __future__ import annotations

from typing import NamedTuple

# What a handler already read from the token (the first click on a link, every
# click on a landing page): (copy id, target).
Read = tuple[str, str | None]


class Hit(NamedTuple):
    kind: str  # the event it records: "open", "impression" or "click"
    token: str | Read  # as the request had it (not checked yet), or as the handler read it
    method: str
    agent: str | None  # User-Agent, cut to the handler's bound
    peer: str | None  # the connection's address
    forwarded: str | None  # X-Forwarded-For, only when a proxy is trusted
    at: float  # time.time() of the request


# The kinds of hits. In the writer's pipe a hit travels as a plain tuple of its
# fields (pickling a NamedTuple costs a Python call per row, twice a tuple's
# cost, on the request loop): its first field, its kind, tells it from an
# event row (EventRecord's fields), whose first field is a copy id (hex).
HIT_KINDS = frozenset(("open", "impression", "click"))
# Hit(...) runs namedtuple's __new__ in Python (~1 us on a busy loop, once per
# request); tuple.__new__ makes the same object in C.
new_tuple = tuple.__new__


def is_hit(row: tuple) -> bool:
    """A hit (a Hit or its plain tuple), rather than an event row."""
    return row[0] in HIT_KINDS


def as_hit(row: tuple) -> Hit:
    """A hit row as a Hit (as it came through the pipe: a plain tuple)."""
    return row if type(row) is Hit else new_tuple(Hit, row)  # type: ignore[return-value]
