"""A hit: what a pixel, banner or click request said, before it is read as an event.

Reading a request as an event means checking its token's signature, judging
who asked (tracker/classify.py) and cutting the client's address down to what
may be stored. Cheap as each step is alone (a few microseconds), on the
tracker's request loop, between the kernel's and aiohttp's own work, together
they cost a third of the requests a core can answer (bench/tracker.py). So a
pixel or click handler only writes down the request's facts, as a hit, and the
event writer's process reads hits in batches (tracker/writer_process.py).

A hit lives in memory and in the pipe to the writer process only: the client's
address is in it, so it is never written to disk as it is. Whatever writes
events to disk reads the hits first (`HitReader.event`), and keeps what the
privacy settings allow (no address, or a truncated one).

A hit is a plain tuple, in a row of the writer's pipe beside event rows (the
fields of an EventRecord): its first field, where an event row has its copy
id, is None, since the copy is only known once the token is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tracker.classify import Classifier, Judgement, Reason, Verdict
from tracker.clientip import ClientAddresses, peer_number, truncated
from tracker.spray import SprayWatch
from tracker.store.records import EventRecord, event_record
from tracker.tokens import Keyring, Kind, copy_and_target

# (None, kind, token, method, user agent, peer address, X-Forwarded-For, time.time()).
# The token as the request had it (not checked yet), or, when the handler
# checked it (the first click on a link, every click on a landing page), what
# it found: (copy id, target).
Read = tuple[str, str | None]
Hit = tuple[None, str, str | Read, str, str | None, str | None, str | None, float]

# The event kind of a hit, the kind of token it carries, and whether the token's
# target is the event's (a click's URL is; a banner token's "campaign/variant" is not).
_TOKEN_OF = {
    "open": (Kind.OPEN, False),
    "impression": (Kind.BANNER, False),
    "click": (Kind.CLICK, True),
}
_SPRAY = Judgement(Verdict.SCANNER, Reason.SCANNER_SPRAY.value)
_VERDICT_TEXT = {verdict: verdict.value for verdict in Verdict}  # Enum.value is a slow property


def is_hit(row: tuple) -> bool:
    """A hit, rather than an event row (EventRecord's fields), in the writer's pipe."""
    return row[0] is None


@dataclass(frozen=True)
class HitReader:
    """Everything needed to read a hit as an event: the keyring that signed its
    token, the classifier, whose X-Forwarded-For to believe, and whether the
    client's network is stored (`privacy.store_ip = "truncated"`). Picklable:
    the writer process gets the tracker's own."""

    keyring: Keyring
    classifier: Classifier
    addresses: ClientAddresses
    store_ip: bool = False
    # Clicks of one client in several recipients' copies (tracker/spray.py):
    # its memory is the reading process's own.
    spray: SprayWatch = field(default_factory=SprayWatch, compare=False)

    def event(self, hit: Hit) -> EventRecord | None:
        """The event a hit records, or None when its token is not ours (forged,
        altered, of another kind: a pixel answers those too, and counts nothing)."""
        _, kind, token, method, agent, peer, forwarded, at = hit
        token_kind, keeps_target = _TOKEN_OF[kind]
        fields = token if type(token) is tuple else copy_and_target(token, self.keyring, token_kind)
        if fields is None:
            return None
        copy_id, target = fields
        address = number = None
        # The address is parsed only if something looks at it: listed networks or
        # store_ip; as an ipaddress object only if it is stored or a proxy is trusted.
        if self.store_ip or self.addresses.trusted:
            address = self.addresses.client(peer, forwarded if self.addresses.trusted else None)
        elif self.classifier.networks.size:
            number = peer_number(peer)
        judged = self.classifier.judge(
            method, agent, address, image=not keeps_target, number=number
        )
        if keeps_target and judged.verdict is Verdict.HUMAN:
            # The client as the classifier saw it: behind a trusted proxy, the forwarded one.
            client = peer if address is None else str(address)
            if self.spray.spraying(client, agent, copy_id, at):
                judged = _SPRAY
        ip = truncated(address) if self.store_ip and address is not None else None
        return event_record(
            copy_id,
            kind,
            datetime.fromtimestamp(at, UTC),
            _VERDICT_TEXT[judged.verdict],
            target if keeps_target else None,
            ip,
            judged.reason,
        )

    def events(self, rows: Iterable[tuple]) -> list[EventRecord]:
        """Event rows and hits, as the events they record (hits that record
        nothing left out): what may be written to disk."""
        events = []
        for row in rows:
            if is_hit(row):
                event = self.event(row)
                if event is not None:
                    events.append(event)
            else:
                events.append(event_record(*row))
        return events
