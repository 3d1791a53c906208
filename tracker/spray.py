"""One client clicking in several recipients' copies within seconds: a scanner.

A security gateway that checks the links of a mail sent to many of its
users follows them in every user's copy, from one address with one agent, in
a few seconds; people who share an address (an office behind NAT) do not all
click within the same seconds. So when one (address, agent) has clicked in
`copies` different copies within `window`, that click and its later ones
are `scanner:spray` (tracker/classify.py `Reason`).

Privacy (DESIGN.md: addresses are looked at while answering, not stored): the
address and agent are only ever held as a keyed hash (BLAKE2b, a random key
made when the watch is, never written anywhere), in memory, for `window`
seconds. Nothing of it reaches the store, the journal or a log; a restart
forgets it all. The watch is per tracker process: a spray split between two
nodes behind a load balancer is seen by each node for its share.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from hashlib import blake2b

MAX_CLIENTS = 50_000  # clients watched at once; a flood of made-up agents must not grow memory


@dataclass
class SprayWatch:
    window: float = 5.0  # seconds
    copies: int = 3  # different copies clicked within the window
    _key: bytes = field(default_factory=lambda: os.urandom(32), repr=False)
    # client hash -> (time, copy id) of its recent clicks, oldest first
    _recent: dict[bytes, deque[tuple[float, str]]] = field(default_factory=dict, repr=False)

    def spraying(self, address: str | None, agent: str | None, copy_id: str, at: float) -> bool:
        """Note a click; whether its client clicked in `copies` different copies
        within `window` seconds, this one included."""
        if self.copies < 2 or self.window <= 0:
            return False
        client = blake2b(f"{address}\n{agent}".encode(), key=self._key, digest_size=16).digest()
        clicks = self._recent.get(client)
        if clicks is None:
            if len(self._recent) >= MAX_CLIENTS:
                self._forget_before(at - self.window)
            clicks = self._recent[client] = deque()
        while clicks and clicks[0][0] < at - self.window:
            clicks.popleft()
        clicks.append((at, copy_id))
        return len({copy for _, copy in clicks}) >= self.copies

    def _forget_before(self, earliest: float) -> None:
        stale = [c for c, clicks in self._recent.items() if not clicks or clicks[-1][0] < earliest]
        for client in stale:
            del self._recent[client]
        if len(self._recent) >= MAX_CLIENTS:  # all recent: start afresh rather than grow
            self._recent.clear()
