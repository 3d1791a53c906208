"""Planning with past behaviour: follow-up campaigns for personal copies only."""

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
FOLLOW_UP = """
[[campaigns]]
id = "thanks"
groups = ["sales", "staff"]
start = 2024-03-01T00:00:00+01:00
end = 2099-01-01T00:00:00+01:00
priority = 20
follow_up_of = "spring-launch"
[[campaigns.variants]]
id = "a"
image = "spring-a.png"
"""
CLICKER = "kim@customer.test"


@pytest.fixture
def cfg(tmp_path: Path):
    directory = tmp_path / "config"
    directory.mkdir()
    for item in EXAMPLE_DIR.iterdir():
        target = directory / item.name
        target.symlink_to(item) if item.name != "sigrelay.toml" else None
    (directory / "sigrelay.toml").write_text(
        (EXAMPLE_DIR / "sigrelay.toml").read_text() + FOLLOW_UP
    )
    return load_config(directory, {"SIGRELAY_DATA": str(tmp_path / "data")})


def _campaigns(cfg, sender: str) -> dict[str, str | None]:
    planner = Planner(
        RunningConfig(cfg),
        KEYRING,
        clicked=lambda r: frozenset({"spring-launch"}) if r == CLICKER else frozenset(),
    )
    envelope = Envelope(sender, (CLICKER, "lee@partner.test"), datetime.now(UTC))
    state = planner.plan(SpoolEntry("q1", envelope, b"Subject: hi\r\n\r\nhello\r\n", None))
    return {r: c.campaign for c in state.copies for r in c.recipients}


def test_recipient_who_clicked_gets_the_follow_up_others_the_original(cfg):
    assert _campaigns(cfg, "anna.schmidt@example.com") == {  # sales: personal mode
        CLICKER: "thanks",
        "lee@partner.test": "spring-launch",
    }


def test_behaviour_is_never_used_outside_personal_mode(cfg):
    campaigns = _campaigns(cfg, "ben.mueller@example.com")  # staff: anonymous mode
    assert set(campaigns.values()) == {"spring-launch"}
