"""What the store records: plain values, decided by the privacy mode before they get here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

EVENT_KINDS = ("open", "impression", "click", "optout")
VERDICTS = ("human", "proxy", "prefetch", "scanner")


@dataclass(frozen=True)
class CopyRecord:
    """One copy sent: the "sent" fact. `recipient` only in personal mode,
    `domain` in personal and domain modes; anonymous copies name nobody."""

    copy_id: str
    queue_id: str
    sent_at: datetime  # UTC, aware
    sender: str
    group: str
    privacy: str  # personal|domain|anonymous|off
    campaign: str | None
    variant: str | None
    recipient: str | None
    domain: str | None
    recipients: int = 1  # how many recipients this copy went to ("sent" counts them)


@dataclass(frozen=True)
class EventRecord:
    """One thing a recipient (or a machine on their behalf) did with a copy.
    No IP address unless the admin asked for truncated ones: the verdict is
    what is kept of the request."""

    copy_id: str
    kind: str  # open | impression | click | optout
    at: datetime  # UTC, aware
    verdict: str = "human"  # human | proxy | prefetch | scanner
    target: str | None = None  # click: the original URL
    ip: str | None = None  # only with privacy.store_ip = "truncated": a /24 or /48 network
    # Why the verdict: which rule fired (tracker/classify.py `Reason`: "proxy:gmail",
    # "scanner:burst", ...), never the request itself (no address, no user agent):
    # GDPR Art. 5(1)(c), data minimisation. None or empty: the verdict itself.
    reason: str = ""

    def __post_init__(self) -> None:
        if not self.reason:
            _set(self, "reason", self.verdict)


# The reason vocabulary is tracker/classify.py's `Reason` (the store knows no
# classifier): `<verdict>` or `<verdict>:<rule>`, always starting with its verdict.
REASON_CHARS = 32  # the column's width; a longer reason is cut (never an agent string)


def verdict_of_reason(reason: str) -> str:
    """The verdict a reason belongs to: the part before the colon."""
    return reason.partition(":")[0]


_new = object.__new__
_set = object.__setattr__


def event_record(
    copy_id: str,
    kind: str,
    at: datetime,
    verdict: str = "human",
    target: str | None = None,
    ip: str | None = None,
    reason: str | None = None,
) -> EventRecord:
    """`EventRecord(...)` at half the cost, for the tracker's request handlers (one
    per pixel or click): a frozen dataclass's __init__ sets each field through
    object.__setattr__; here its __dict__ is set at once. Same object."""
    event = _new(EventRecord)
    fields = {"copy_id": copy_id, "kind": kind, "at": at, "verdict": verdict}
    fields["target"] = target
    fields["ip"] = ip
    # Rows of older journals and pipes carry no reason: the verdict is all they knew.
    fields["reason"] = reason or verdict
    _set(event, "__dict__", fields)
    return event


def with_verdict(event: EventRecord, verdict: str, reason: str | None = None) -> EventRecord:
    """`dataclasses.replace(event, verdict=verdict, reason=reason or verdict)`
    without its per-field dispatch (the timing rules re-mark thousands of
    clicks a batch). Same object."""
    changed = _new(type(event))
    fields = dict(event.__dict__)
    fields["verdict"] = verdict
    fields["reason"] = reason or verdict
    _set(changed, "__dict__", fields)
    return changed
