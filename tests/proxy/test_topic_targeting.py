"""Planning with interest profiles: campaigns' `target_topics` for personal copies only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import EXAMPLE_DIR, load_config
from config.running import RunningConfig
from proxy.planning import Planner
from proxy.spool import Envelope, SpoolEntry
from tracker.tokens import Keyring

KEYRING = Keyring({"t1": b"planning-tests-signing-key-bytes"}, current="t1")
PUMPS = """
[[topics]]
name = "pumps"
links = ["https://www.example.com/pumps"]

[[campaigns]]
id = "pumps-offer"
groups = ["sales", "staff"]
start = 2024-03-01T00:00:00+01:00
end = 2099-01-01T00:00:00+01:00
priority = 20
target_topics = ["pumps"]
[[campaigns.variants]]
id = "a"
image = "spring-a.png"
"""
INTERESTED = "kim@customer.test"


@pytest.fixture
def cfg(tmp_path: Path):
    directory = tmp_path / "config"
    directory.mkdir()
    for item in EXAMPLE_DIR.iterdir():
        if item.name != "sigrelay.toml":
            (directory / item.name).symlink_to(item)
    (directory / "sigrelay.toml").write_text((EXAMPLE_DIR / "sigrelay.toml").read_text() + PUMPS)
    return load_config(directory, {"SIGRELAY_DATA": str(tmp_path / "data")})


def _campaigns(cfg, sender: str) -> dict[str, str | None]:
    asked: list[str] = []

    def interests(address: str) -> frozenset[str]:
        asked.append(address)
        return frozenset({"pumps"}) if address == INTERESTED else frozenset()

    planner = Planner(RunningConfig(cfg), KEYRING, interests=interests)
    envelope = Envelope(sender, (INTERESTED, "lee@partner.test"), datetime.now(UTC))
    state = planner.plan(SpoolEntry("q1", envelope, b"Subject: hi\r\n\r\nhello\r\n", None))
    campaigns = {r: c.campaign for c in state.copies for r in c.recipients}
    campaigns["asked"] = ",".join(sorted(asked)) or None
    return campaigns


def test_recipient_interested_in_the_topic_gets_the_targeted_campaign(cfg):
    assert _campaigns(cfg, "anna.schmidt@example.com") == {  # sales: personal mode
        INTERESTED: "pumps-offer",
        "lee@partner.test": "spring-launch",
        "asked": f"{INTERESTED},lee@partner.test",
    }


def test_interests_are_never_asked_outside_personal_mode(cfg):
    campaigns = _campaigns(cfg, "ben.mueller@example.com")  # staff: anonymous mode
    assert campaigns.pop("asked") is None
    assert set(campaigns.values()) == {"spring-launch"}
