"""The systemd unit as systemd itself reads it: `systemd-analyze verify` finds
no error, and `systemd-analyze security --offline=true` rates its exposure at
2.5 or less (issue 19). Needs Debian's `systemd` package (the analyzer only)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from peers import require_binary

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "sigrelay.service"
MAX_EXPOSURE = 2.5


def test_the_unit_verifies(tmp_path):
    analyze = require_binary("systemd-analyze", "systemd")
    # verify checks that ExecStart exists: point it at this checkout's command.
    unit = tmp_path / "sigrelay.service"
    sigrelay = Path(sys.executable).with_name("sigrelay")
    unit.write_text(UNIT.read_text().replace("/opt/sigrelay/.venv/bin/sigrelay", str(sigrelay)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "sigrelay.service" not in result.stderr, result.stderr  # no warning about the unit


def test_the_unit_is_hardened():
    analyze = require_binary("systemd-analyze", "systemd")
    result = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
    )
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


@pytest.mark.parametrize(
    "setting",
    [
        "UMask=0077",
        "SystemCallFilter=@system-service",
        "RestrictAddressFamilies=",
        "ProtectHome=yes",
    ],
)
def test_the_settings_the_issue_names_are_there(setting):
    assert setting in UNIT.read_text()
