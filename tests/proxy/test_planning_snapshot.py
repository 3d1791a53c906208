"""A copy is rendered with ONE snapshot of the running config, even when a reload
swaps the holder while it renders (large messages render in a thread)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import EXAMPLE_DIR, load_config
from config.running import RunningConfig
from proxy import planning
from proxy.planning import Planner
from proxy.spool import Envelope, SpoolEntry
from tracker.tokens import Keyring

KEYRING = Keyring({"t1": b"planning-tests-signing-key-bytes"}, current="t1")
OLD_URL, NEW_URL = "http://old-tracker.test", "http://new-tracker.test"
MESSAGE = (
    b"From: anna.schmidt@example.com\r\nTo: kim@customer.test\r\nSubject: Offer\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    b'<p>Hello, see <a href="https://www.example.com/offer">our offer</a>.</p>\r\n'
)


def _config(tmp_path: Path, public_url: str):
    env = {"SIGRELAY_DATA": str(tmp_path / "data"), "SIGRELAY_TRACKER__PUBLIC_URL": public_url}
    return load_config(EXAMPLE_DIR, env)


def test_a_reload_while_a_copy_renders_does_not_mix_two_configs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    running = RunningConfig(_config(tmp_path, OLD_URL))
    new = _config(tmp_path, NEW_URL)
    planner = Planner(running, KEYRING)
    envelope = Envelope("anna.schmidt@example.com", ("kim@customer.test",), datetime.now(UTC))
    entry = SpoolEntry("q1", envelope, MESSAGE, None)
    (copy,) = planner.plan(entry).copies
    assert copy.tracked, "sales sends personal copies: tracked"

    # The reload lands right after rendering began (its first step strips our
    # no-track marks): everything after must still be the old snapshot's.
    strip = planning.strip_notrack

    def strip_then_reload(data: bytes, tag: str) -> bytes:
        running.swap(new)
        return strip(data, tag)

    monkeypatch.setattr(planning, "strip_notrack", strip_then_reload)
    rendered = planner.render(entry, copy).message
    assert running.current is new
    assert f"{OLD_URL}/o/".encode() in rendered, "the pixel of the snapshot rendering began with"
    assert f"{OLD_URL}/c/".encode() in rendered, "tagged links of the same snapshot"
    assert NEW_URL.encode() not in rendered

    monkeypatch.setattr(planning, "strip_notrack", strip)
    again = planner.render(entry, copy).message
    assert f"{NEW_URL}/o/".encode() in again and OLD_URL.encode() not in again
