"""Classification looks at the address and agent while a hit is read and keeps
only a verdict and a reason from our vocabulary: never the address (unless
`store_ip = "truncated"`, then its network), never the agent, whatever it is."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tracker.classify import Reason, load_classifier
from tracker.clientip import ClientAddresses
from tracker.events import Hit, HitReader
from tracker.journal import to_line
from tracker.tokens import Keyring

PEER = "203.0.113.77"
TARGET = "https://shop.example/offer"
MARKER = "Zq7Marker"  # in every agent: it must not come out anywhere
AGENTS = [
    f"curl/8.5.0 {MARKER}",
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0 {MARKER}",
    f"{MARKER} " + "x" * 10_000,
    f"Mozilla/5.0 (X11) {MARKER} \x00\x1b[2J",
    f"Müller {MARKER} 日本語 (Linux)",
]
VOCABULARY = {r.value for r in Reason} | {"proxy:superhuman", "prefetch", "proxy", "scanner"}


@pytest.mark.parametrize("store_ip", [False, True])
@pytest.mark.parametrize("agent", AGENTS)
def test_an_event_keeps_a_reason_and_no_agent_or_address(agent: str, store_ip: bool):
    keyring = Keyring({"p1": b"privacy-tests-signing-key-bytes!"}, current="p1")
    reader = HitReader(keyring, load_classifier(), ClientAddresses(), store_ip)
    for n, kind in enumerate(("click", "click", "click")):
        hit = Hit(kind, (f"00000000000000a{n}", TARGET), "GET", agent, PEER, None, float(n))
        event = reader.event(hit)
        kept = json.dumps(dataclasses.asdict(event), default=str) + to_line(event, None).decode()
        assert MARKER not in kept
        assert PEER not in kept  # at most its network: "203.0.113.0/24"
        assert event.ip == ("203.0.113.0/24" if store_ip else None)
        assert event.reason in VOCABULARY
