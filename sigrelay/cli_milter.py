"""`sigrelay milter`: run as a milter for Postfix or Sendmail (proxy/milter.py).

libmilter calls us from its own threads; the store (opt-out lookups, the
"sent" facts of tracked copies) lives on an asyncio loop in one thread of its
own, which the callbacks reach with a bounded wait. The store being down costs
tracking, never mail: the lookup then says "untracked" and a fact not stored
is logged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from pathlib import Path

import click

from sigrelay.cliconfig import config_option, load_or_fail

log = logging.getLogger("sigrelay.milter")

DEFAULT_SOCKET = "inet:8891@127.0.0.1"
LOOKUP_WAIT = 5.0  # seconds an opt-out lookup may hold one message at end of data


@click.command()
@config_option
@click.option(
    "--socket",
    default=DEFAULT_SOCKET,
    show_default=True,
    help="Where the MTA connects: inet:PORT@HOST or unix:/path (libmilter's notation).",
)
def milter(config_dir: Path | None, socket: str) -> None:
    """Run as a milter for Postfix (smtpd_milters) or Sendmail."""
    try:
        import Milter  # noqa: F401  (pymilter: the optional extra)
    except ImportError:
        raise click.ClickException(
            "the milter needs pymilter: pip install 'sigrelay[milter]' "
            "(it builds against libmilter: apt install libmilter-dev)"
        ) from None
    from config.running import RunningConfig
    from config.schema import PrivacyMode
    from proxy.milter import MilterRewriter, milter_class, run_milter
    from proxy.planning import Planner
    from proxy.recipient_choices import RecipientChoices
    from proxy.spool import SpoolEntry
    from tracker.pseudonym import load_pseudonym_key
    from tracker.store import CopyRecord, Store
    from tracker.tokens import load_keyring

    cfg = load_or_fail(config_dir)
    cfg.data.dir.mkdir(parents=True, exist_ok=True)
    keyring = load_keyring(cfg.data.dir, os.environ)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="sigrelay-store", daemon=True).start()

    async def open_store() -> Store:
        store = await Store.open(cfg.store.url)
        await store.upgrade()
        return store

    store = asyncio.run_coroutine_threadsafe(open_store(), loop).result()
    choices = RecipientChoices(store, load_pseudonym_key(cfg.data.dir, os.environ))
    planner = Planner(RunningConfig(cfg), keyring, choices=choices)

    def caps(entry: SpoolEntry):
        lookup = asyncio.run_coroutine_threadsafe(planner.recipient_caps(entry), loop)
        try:
            return lookup.result(LOOKUP_WAIT)
        except Exception as error:  # a timeout too: the message must not wait longer
            lookup.cancel()
            log.warning("opt-out lookup failed (%s): copy untracked", type(error).__name__)
            return {rcpt.lower(): PrivacyMode.OFF for rcpt in entry.envelope.rcpts}

    def record(records: tuple[CopyRecord, ...]) -> None:
        stored = asyncio.run_coroutine_threadsafe(store.record_copies(list(records)), loop)
        stored.add_done_callback(_log_unstored)

    click.echo(f"sigrelay milter ready socket={socket}", err=True)
    run_milter(milter_class(MilterRewriter(planner, caps=caps), record), socket)
    asyncio.run_coroutine_threadsafe(store.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)


def _log_unstored(future: concurrent.futures.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("sent fact not stored: %s", type(future.exception()).__name__)
