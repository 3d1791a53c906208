"""Fixtures of the preview tests: the example configuration with known token keys,
and the relay itself, delivering into its Maildir outbox, to compare against."""

from __future__ import annotations

import asyncio
import base64
import smtplib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from config import Config, load_config
from config.running import RunningConfig
from peers import free_port
from proxy.recipient_choices import RecipientChoices
from proxy.relay import Relay
from tracker.store import Store
from tracker.tokens import Keyring, load_keyring

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example"
# Three characters, like the preview's own key id ("pv0"): tokens of the same
# length, so quoted-printable breaks the lines of both at the same places.
TOKEN_KEYS = "t01:" + base64.b64encode(b"preview-tests-signing-key-32byte").decode()
PSEUDONYM_KEY = b"preview-tests-pseudonym-key-32b!"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "SIGRELAY_CONFIG": str(EXAMPLE),
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_RELAY__LISTEN": f"127.0.0.1:{free_port()}",
        "SIGRELAY_TOKEN_KEYS": TOKEN_KEYS,
    }


@pytest.fixture
def cfg(env: dict[str, str]) -> Config:
    return load_config(env=env)


@pytest.fixture
def keyring(cfg: Config, env: dict[str, str]) -> Keyring:
    return load_keyring(cfg.data.dir, env)


@pytest.fixture
async def relay_delivery(
    cfg: Config, keyring: Keyring
) -> AsyncIterator[Callable[[str, list[str], bytes], Awaitable[list[bytes]]]]:
    """send(sender, rcpts, message) -> the Maildir files of its copies, once the
    relay (configured as `sigrelay serve` configures it) has delivered them all."""
    cfg.data.dir.mkdir(parents=True)
    store = await Store.open(cfg.store.url)
    await store.upgrade()
    relay = Relay(
        RunningConfig(cfg), store, keyring, choices=RecipientChoices(store, PSEUDONYM_KEY)
    )
    done: asyncio.Queue[str] = asyncio.Queue()
    relay.worker.on_done.append(lambda queue_id, state: done.put_nowait(queue_id))
    await relay.start()
    host, port = relay.address

    outbox = cfg.data.dir / "outbox" / "new"

    async def send(sender: str, rcpts: list[str], message: bytes) -> list[bytes]:
        before = set(outbox.iterdir()) if outbox.exists() else set()

        def client() -> None:
            with smtplib.SMTP(host, port, timeout=10) as smtp:
                smtp.sendmail(sender, rcpts, message)

        await asyncio.to_thread(client)
        await asyncio.wait_for(done.get(), 15)
        return [path.read_bytes() for path in sorted(set(outbox.iterdir()) - before)]

    yield send
    await relay.stop()
    await store.close()
