"""DKIM signing (RFC 6376) of the rewritten copies, with dkimpy.

For companies whose upstream does not sign. Only copies whose From: domain
is the signing domain or one of its subdomains are signed: a signature
that does not align with From: helps no receiver (DMARC) and would vouch
for mail our domain did not write. The key is read once, at start, from
`[dkim] key_file` (PEM); a missing or unreadable key stops the start with
the file named, rather than sending unsigned mail the admin believes signed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.utils import getaddresses

import dkim

from config import Config
from proxy.errors import ProxyError
from proxy.trace import split_header

log = logging.getLogger("sigrelay.proxy.dkim")

# Headers a receiver shows or a rewriter could replay; signed when present.
SIGNED_HEADERS = (
    b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"reply-to",
    b"in-reply-to", b"references", b"mime-version", b"content-type",
    b"content-transfer-encoding", b"list-unsubscribe",
)  # fmt: skip


class DkimKeyError(ProxyError):
    """The configured key cannot be used."""


@dataclass(frozen=True)
class DkimSigner:
    selector: str
    domain: str
    private_key: bytes  # PEM

    def aligned(self, data: bytes) -> bool:
        header, _ = split_header(data)
        from_values = [
            line.split(b":", 1)[1].decode("utf-8", "replace")
            for line in _unfolded(header)
            if line.lower().startswith(b"from:")
        ]
        if len(from_values) != 1:
            return False
        addresses = getaddresses(from_values)
        if len(addresses) != 1:
            return False
        domain = addresses[0][1].rpartition("@")[2].lower().rstrip(".")
        return domain == self.domain or domain.endswith("." + self.domain)

    def sign(self, data: bytes) -> bytes:
        """The copy with a DKIM-Signature: field on top (unchanged if not aligned)."""
        if not self.aligned(data):
            return data
        signature = dkim.sign(
            data,
            self.selector.encode(),
            self.domain.encode(),
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return signature + data


def _unfolded(header: bytes) -> list[bytes]:
    lines: list[bytes] = []
    for line in header.splitlines():
        if line[:1] in (b" ", b"\t") and lines:
            lines[-1] += b" " + line.strip()
        elif line:
            lines.append(line)
    return lines


def load_signer(cfg: Config) -> DkimSigner | None:
    """The signer the config asks for, or None when DKIM is off."""
    section = cfg.dkim
    if not section.enabled:
        return None
    assert section.domain is not None and section.key_file is not None  # schema checked
    path = cfg.config_dir / section.key_file.expanduser()
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise DkimKeyError(
            f"[dkim] key_file {path}: {exc.strerror or exc}; point key_file at the "
            "PEM private key of the selector, readable by the relay's user"
        ) from exc
    if b"PRIVATE KEY" not in key:
        raise DkimKeyError(
            f"[dkim] key_file {path}: not a PEM private key "
            "(expected a -----BEGIN PRIVATE KEY----- block, e.g. from openssl genpkey)"
        )
    log.info("dkim signing domain=%s selector=%s", section.domain, section.selector)
    return DkimSigner(section.selector, section.domain, key)
