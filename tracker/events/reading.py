"""Reading a hit as an event: the first steps of the event pipeline.

read-token, classify, cut-address (docs/internals.md, "The event pipeline"): each a function
of the reader's settings and the hit being read, run in this order by
`HitReader.event`, wherever hits are read (the event writer's process,
tracker/events/rows.py, or the tracker's own, tracker/events/local.py). This
is the one place where a request's verdict is decided; the timing rules,
which need the copy's history in the store, only turn clicks into scanner
clicks later (tracker/store/timing.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tracker.classify import Classifier, Judgement, Reason, Verdict, load_classifier
from tracker.clientip import ClientAddresses, peer_number, truncated
from tracker.events.hit import Hit, as_hit, is_hit
from tracker.networks import IpAddress, PeerNumber
from tracker.spray import SprayWatch
from tracker.store.records import EventRecord, event_record
from tracker.tokens import Keyring, Kind, copy_and_target

# The event kind of a hit, the kind of token it carries, and whether the token's
# target is the event's (a click's URL is; a banner token's "campaign/variant" is not).
_TOKEN_OF = {
    "open": (Kind.OPEN, False),
    "impression": (Kind.BANNER, False),
    "click": (Kind.CLICK, True),
}
_SPRAY = Judgement(Verdict.SCANNER, Reason.SCANNER_SPRAY.value)
_VERDICT_TEXT = {verdict: verdict.value for verdict in Verdict}  # Enum.value is a slow property


class Reading:
    """One hit on its way to becoming an event: what the steps found so far."""

    __slots__ = (
        "hit",
        "token_kind",
        "keeps_target",
        "copy_id",
        "target",
        "address",
        "number",
        "judged",
        "ip",
    )

    def __init__(self, hit: Hit) -> None:
        self.hit = hit
        self.token_kind, self.keeps_target = _TOKEN_OF[hit.kind]
        self.copy_id = ""
        self.target: str | None = None
        self.address: IpAddress | None = None
        self.number: PeerNumber | None = None
        self.judged: Judgement | None = None
        self.ip: str | None = None


def read_token(reader: HitReader, reading: Reading) -> bool:
    """The copy (and link) the token names; False when it is not ours (forged,
    altered, of another kind: a pixel answers those too, and counts nothing)."""
    token = reading.hit.token
    fields = (
        token
        if type(token) is tuple
        else copy_and_target(token, reader.keyring, reading.token_kind)  # type: ignore[arg-type]
    )
    if fields is None:
        return False
    reading.copy_id, reading.target = fields
    return True


def classify(reader: HitReader, reading: Reading) -> bool:
    """Human, proxy, prefetch or scanner, and why (tracker/classify.py), and a
    click of a client clicking in several recipients' copies (tracker/spray.py)."""
    hit = reading.hit
    addresses = reader.addresses
    # The address is parsed only if something looks at it: listed networks or
    # store_ip; as an ipaddress object only if it is stored or a proxy is trusted.
    if reader.store_ip or addresses.trusted:
        reading.address = addresses.client(hit.peer, hit.forwarded if addresses.trusted else None)
    elif reader.classifier.networks.size:
        reading.number = peer_number(hit.peer)
    judged = reader.classifier.judge(
        hit.method,
        hit.agent,
        reading.address,
        image=not reading.keeps_target,
        number=reading.number,
    )
    if reading.keeps_target and judged.verdict is Verdict.HUMAN:
        # The client as the classifier saw it: behind a trusted proxy, the forwarded one.
        client = hit.peer if reading.address is None else str(reading.address)
        if reader.spray.spraying(client, hit.agent, reading.copy_id, hit.at):
            judged = _SPRAY
    reading.judged = judged
    return True


def cut_address(reader: HitReader, reading: Reading) -> bool:
    """Of the client's address, what `privacy.store_ip` keeps: nothing, or its
    /24 or /48 network."""
    if reader.store_ip and reading.address is not None:
        reading.ip = truncated(reading.address)
    return True


ReadStep = Callable[["HitReader", Reading], bool]
READ_STEPS: tuple[tuple[str, ReadStep], ...] = (
    ("read-token", read_token),
    ("classify", classify),
    ("cut-address", cut_address),
)


@dataclass(frozen=True)
class HitReader:
    """Everything needed to read a hit as an event: the keyring that signed its
    token, the classifier, whose X-Forwarded-For to believe, and whether the
    client's network is stored (`privacy.store_ip = "truncated"`). Picklable:
    the writer process gets the tracker's own."""

    keyring: Keyring
    classifier: Classifier = field(default_factory=load_classifier)
    addresses: ClientAddresses = field(default_factory=ClientAddresses)
    store_ip: bool = False
    # Clicks of one client in several recipients' copies (tracker/spray.py):
    # its memory is the reading process's own.
    spray: SprayWatch = field(default_factory=SprayWatch, compare=False)

    def event(self, hit: Hit) -> EventRecord | None:
        """The event a hit records (READ_STEPS in order), or None when a step
        stops it (a token that is not ours)."""
        reading = Reading(hit)
        for _, step in READ_STEPS:
            if not step(self, reading):
                return None
        judged = reading.judged
        assert judged is not None
        return event_record(
            reading.copy_id,
            hit.kind,
            datetime.fromtimestamp(hit.at, UTC),
            _VERDICT_TEXT[judged.verdict],
            reading.target if reading.keeps_target else None,
            reading.ip,
            judged.reason,
        )

    def events(self, rows: Iterable[tuple]) -> tuple[list[EventRecord], list[EventRecord]]:
        """Event rows and hits as the events they record, in order (hits that
        record nothing left out): what may be written to disk; and, apart,
        the events read from hits (for the listeners)."""
        events, read = [], []
        for row in rows:
            if is_hit(row):
                event = self.event(as_hit(row))
                if event is not None:
                    events.append(event)
                    read.append(event)
            else:
                events.append(event_record(*row))
        return events, read
