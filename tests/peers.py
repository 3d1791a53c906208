"""Finding the system peers the tests talk to, and skipping honestly without them.

A missing peer skips the test with the reason, unless SIGRELAY_REQUIRE_PEERS=1
(CI): then it fails, so CI can never pass by skipping.
"""

from __future__ import annotations

import importlib.util
import os
import random
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

import pytest

REQUIRE_PEERS = os.environ.get("SIGRELAY_REQUIRE_PEERS") == "1"

# The shared corpus of real messages sits beside the repository (../shared/corpus),
# never at one machine's absolute path; SIGRELAY_CORPUS points elsewhere.
CORPUS = Path(
    os.environ.get("SIGRELAY_CORPUS")
    or Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
)

_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"]
)


def missing_peer(reason: str) -> None:
    """Skip (or, in CI, fail) because a system peer is not available."""
    if REQUIRE_PEERS:
        pytest.fail(f"required peer missing: {reason}", pytrace=False)
    pytest.skip(reason)


def load_conftest(folder: str, name: str) -> ModuleType:
    """Another test folder's conftest.py as a module, so a folder re-uses its
    fixtures as they are (pytest has no fixture import across sibling folders)."""
    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).parent / folder / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def require_corpus(relative: str = "") -> Path:
    """The corpus folder (or a sub-folder), or skip/fail when it is absent."""
    path = CORPUS / relative
    if not path.exists():
        missing_peer(f"corpus absent at {path} (../shared/corpus beside the repository)")
    return path


def corpus_messages() -> dict[str, bytes]:
    """The corpus's RFC 5322 messages (not its body fragments), by relative path;
    empty when the corpus is absent (call `require_corpus` first)."""
    found = {}
    for path in sorted(CORPUS.rglob("*")):
        relative = path.relative_to(CORPUS).as_posix()
        if not path.is_file() or path.suffix in (".md", ".py", ".tsv", ".html", ".htm"):
            continue
        folders = relative.split("/")[:-1]  # fragments sit in text-*/ and *-html/ folders
        if not any(f.startswith("text-") or f.endswith("-html") for f in folders):
            found[relative] = path.read_bytes()
    return found


def require_binary(name: str, package: str | None = None) -> str:
    """The absolute path of a peer program, or skip/fail naming its Debian package."""
    path = shutil.which(name, path=_SEARCH_PATH)
    if path is None:
        missing_peer(f"{name} not installed (Debian package {package or name}, see .ci/run)")
    return path  # type: ignore[return-value]


_PORTS_GIVEN: set[int] = set()  # by this process, so no two servers get the same one


def _ephemeral_low(default: int = 32768) -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback TCP port nobody listens on right now, below the kernel's
    ephemeral range. A port from bind(0) is one the kernel also hands to
    outgoing connections (a store's, a peer's), and one of them could take it
    before the test's server binds it: EADDRINUSE, seen in a suite run."""
    low = _ephemeral_low()
    for _ in range(1000):
        port = random.randrange(max(1024, low - 20000), low)
        if port in _PORTS_GIVEN:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue  # somebody listens there (or it is in TIME_WAIT)
        _PORTS_GIVEN.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a crowded machine
        sock.bind((host, 0))
        return sock.getsockname()[1]


def postgres_url_reachable(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@asynccontextmanager
async def fresh_postgres_database(prefix: str = "sigrelay_test") -> AsyncIterator[str]:
    """The SQLAlchemy URL of a new, empty PostgreSQL database, dropped afterwards,
    so tests never see each other's rows (nor those of other test runs)."""
    import asyncpg

    if not postgres_url_reachable():
        missing_peer("PostgreSQL is not listening on 127.0.0.1:5432 (Debian package postgresql)")
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# A person's mail program, for requests a test means as a person's: the tracker
# calls aiohttp's own agent ("Python/3.x aiohttp/…") a script, rightly.
PERSON_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.0"
)
PERSON = {"User-Agent": PERSON_AGENT}


def wait_listening(process: subprocess.Popen, port: int, timeout: float = 10.0) -> None:
    """Until a server process started on loopback accepts connections on `port`
    (for servers that print nothing when ready); its stderr if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"{process.args[0]} exited: {error}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
