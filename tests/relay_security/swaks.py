"""swaks, the SMTP test tool open-relay testers use, as a subprocess."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from peers import missing_peer, require_binary


@dataclass(frozen=True)
class SwaksRun:
    returncode: int
    transcript: str

    @property
    def delivered(self) -> bool:
        return self.returncode == 0

    def server_said(self, status: str) -> bool:
        """True when a server line in the transcript starts with `status` (e.g. "550 5.7.1")."""
        return any(
            line.lstrip("<~* ").startswith(status)
            for line in self.transcript.splitlines()
            if line.startswith(("<", "<~", "<**", "<~*"))
        )


async def swaks(port: int, *args: str) -> SwaksRun:
    """Run swaks against 127.0.0.1:port; `args` are swaks options."""
    binary = require_binary("swaks")
    process = await asyncio.create_subprocess_exec(
        binary, "--server", f"127.0.0.1:{port}", "--timeout", "10", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    transcript = output.decode(errors="replace")
    if "requires Net::SSLeay" in transcript:
        missing_peer("swaks cannot do TLS without Perl's Net::SSLeay (libnet-ssleay-perl)")
    return SwaksRun(process.returncode or 0, transcript)
