"""Helpers of the relay security tests: the test user, certificates, the running relay."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from config.schema import ListenerMode
from peers import require_binary

ANNA = "anna.schmidt@example.com"  # alias sales-anna@example.com in the example directory
ANNA_PASSWORD = "correct horse battery staple"
NOT_TRUSTED = "192.0.2.0/24"  # TEST-NET-1: the loopback test client is outside it


def make_certificate(directory: Path, name: str = "relay") -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1, made by openssl."""
    openssl = require_binary("openssl")
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", f"/CN={name}.test",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass(frozen=True)
class SecureRelay:
    relay: object
    ports: dict[ListenerMode, int]
    cert: Path
    key: Path
    users_file: Path
    env: dict[str, str] = field(default_factory=dict)  # what its config was loaded with
