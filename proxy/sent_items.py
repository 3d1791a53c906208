"""The sender's Sent folder shows what recipients got: the rewritten message is
appended over IMAP, logged in for the sender with admin credentials (a Dovecot
master user, or a server's impersonation right).

Never in the way of delivery: appending runs after the copies went out, in its
own task, with its own attempts; a failure is logged and given up, the mail
program's own Sent copy is still there. With `client_copy = "replace"` the
mail program's copy (same Message-ID, without our marker) is deleted once ours
is in, including when the program saves it a little later.

imaplib (the standard library's, well-kept and synchronous) runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.policy
import imaplib
import logging
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from config import Config
from config.schema_sent import ClientCopy, ImapTls, SentItemsSection
from proxy import metrics
from proxy.errors import ProxyError
from proxy.planning import Planner
from proxy.spool import SpoolEntry
from proxy.state import MessageState

log = logging.getLogger("sigrelay.sent_items")

# Our copy carries this header, so `replace` never deletes it.
MARKER = b"X-Sigrelay-Sent-Copy: yes\r\n"
MARKER_NAME = "X-Sigrelay-Sent-Copy"
# When to look for the mail program's copy after ours is in (s), up to replace_within_seconds.
REPLACE_CHECKS = (0.0, 2.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0)
RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0)
_LIST_LINE = re.compile(rb'\((?P<flags>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>.+)$')


class SentFolderError(ProxyError):
    """An IMAP answer that is not OK, in words for the log."""


@dataclass(frozen=True)
class SentCopy:
    user: str  # the mailbox: the sender's address in the directory
    message: bytes  # as sent, CRLF line ends
    message_id: str | None
    queue_id: str = ""  # for the log: which message this is


def _connect(section: SentItemsSection) -> imaplib.IMAP4:
    host, port = section.address
    tls = section.effective_tls
    if tls is ImapTls.IMPLICIT:
        return imaplib.IMAP4_SSL(
            host, port, ssl_context=ssl.create_default_context(), timeout=section.timeout_seconds
        )
    imap = imaplib.IMAP4(host, port, timeout=section.timeout_seconds)
    if tls is ImapTls.STARTTLS:
        imap.starttls(ssl.create_default_context())
    return imap


def _ok(answer: tuple[str, list], doing: str) -> list:
    kind, data = answer
    if kind != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise SentFolderError(f"{doing}: {kind} {detail}")
    return data


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sent_folder(imap: imaplib.IMAP4, configured: str) -> str:
    """The folder marked \\Sent (RFC 6154 SPECIAL-USE), else one named Sent."""
    if configured != "auto":
        return configured
    for line in _ok(imap.list(), "LIST"):
        found = _LIST_LINE.match(line) if isinstance(line, bytes) else None
        if found and b"\\sent" in found.group("flags").lower():
            return found.group("name").decode("utf-7", "replace").strip('"')
    return "Sent"


def append_copy(section: SentItemsSection, password: str, copy: SentCopy) -> str:
    """Append (seen, dated now) and return the folder used. Blocking."""
    imap = _connect(section)
    try:
        _ok(imap.login(section.login.format(user=copy.user), password), "LOGIN")
        folder = sent_folder(imap, section.folder)
        when = imaplib.Time2Internaldate(time.time())
        _ok(imap.append(_quoted(folder), r"(\Seen)", when, MARKER + copy.message), "APPEND")
        return folder
    finally:
        _logout(imap)


def remove_client_copies(section: SentItemsSection, password: str, copy: SentCopy) -> int:
    """Delete the mail program's copies of this message from Sent; their number."""
    if not copy.message_id:
        return 0
    imap = _connect(section)
    try:
        _ok(imap.login(section.login.format(user=copy.user), password), "LOGIN")
        folder = sent_folder(imap, section.folder)
        _ok(imap.select(_quoted(folder)), "SELECT")
        found = _ok(
            imap.uid(
                "SEARCH",
                "HEADER", "Message-ID", _quoted(copy.message_id),
                "NOT", "HEADER", MARKER_NAME, '""',
            ),
            "SEARCH",
        )  # fmt: skip
        uids = b" ".join(found).split()
        if not uids:
            return 0
        _ok(imap.uid("STORE", b",".join(uids).decode(), "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
        _ok(imap.expunge(), "EXPUNGE")
        return len(uids)
    finally:
        _logout(imap)


def _logout(imap: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):  # gone either way
        imap.logout()


FAILURES = (OSError, ssl.SSLError, imaplib.IMAP4.error, SentFolderError)


class SentItems:
    """Appends in the background; `submit` returns at once."""

    def __init__(
        self,
        section: Callable[[], SentItemsSection],
        password: Callable[[], str | None],
        *,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        replace_checks: tuple[float, ...] = REPLACE_CHECKS,
        on_outcome: Callable[[SentCopy, str], None] = lambda copy, outcome: None,
    ) -> None:
        self._section = section  # the running configuration's, read per message
        self._password = password
        self._retry_delays = retry_delays
        self._replace_checks = replace_checks
        self._tasks: set[asyncio.Task[None]] = set()
        # For tests and metrics: each copy's outcome, "appended", "replaced N" or "failed".
        self.on_outcome = on_outcome

    def submit(self, copy: SentCopy) -> None:
        task = asyncio.create_task(self._store(copy), name="sigrelay-sent-items")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _store(self, copy: SentCopy) -> None:
        section, password = self._section(), self._password()
        if not section.enabled or password is None:
            return
        for attempt in range(section.attempts):
            try:
                folder = await asyncio.to_thread(append_copy, section, password, copy)
                break
            except FAILURES as exc:
                last = attempt + 1 == section.attempts
                log.warning(
                    "sent copy queue_id=%s for %s not appended (attempt %d of %d%s): %s",
                    copy.queue_id, copy.user, attempt + 1, section.attempts,
                    ", giving up" if last else "", f"{type(exc).__name__}: {exc}",
                )  # fmt: skip
                if last:
                    metrics.SENT_ITEMS.labels("failed").inc()
                    self.on_outcome(copy, "failed")
                    return
                await asyncio.sleep(self._retry_delays[min(attempt, len(self._retry_delays) - 1)])
        log.info("sent copy queue_id=%s appended for %s to %s", copy.queue_id, copy.user, folder)
        if section.client_copy is ClientCopy.REPLACE:
            removed = await self._replace(section, password, copy)
            metrics.SENT_ITEMS.labels("replaced" if removed else "appended").inc()
            self.on_outcome(copy, f"replaced {removed}")
        else:
            metrics.SENT_ITEMS.labels("appended").inc()
            self.on_outcome(copy, "appended")

    async def _replace(self, section: SentItemsSection, password: str, copy: SentCopy) -> int:
        waited = 0.0
        for check in (c for c in self._replace_checks if c <= section.replace_within_seconds):
            await asyncio.sleep(check - waited)
            waited = check
            try:
                removed = await asyncio.to_thread(remove_client_copies, section, password, copy)
            except FAILURES as exc:
                log.warning("mail program's Sent copy for %s not removed: %s", copy.user, exc)
                continue
            if removed:
                log.info("mail program's Sent copy for %s replaced", copy.user)
                return removed
        return 0

    async def close(self) -> None:
        """Stop: appends still running are cancelled (the program's copy remains)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def sent_copy(
    planner: Planner, entry: SpoolEntry, state: MessageState, allow_8bit: bool
) -> SentCopy | None:
    """What goes into the sender's Sent folder, or None (off, no delivered copy,
    a sender who is not in the directory and so has no mailbox we know).

    The first delivered copy (envelope order), rendered untracked: the same
    signature, banner and links its recipient got, but no pixel, no tagged
    link and no opt-out link, so opening it in Sent Items counts nothing and
    speaks for no recipient. Bcc recipients, left out of the copies' headers,
    are named in a Bcc: field, as mail programs keep them in their Sent copy."""
    cfg = planner.running.current
    if not cfg.sent_items.enabled:
        return None
    employee = cfg.sender(entry.envelope.mail_from).employee
    delivered = [copy for copy in state.copies if copy.delivered]
    if employee is None or not delivered:
        return None
    untracked = dataclasses.replace(delivered[0], tracked=False)
    message = planner.render(entry, untracked, allow_8bit).message
    headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(message)
    shown = {
        a.lower() for _, a in getaddresses(headers.get_all("To", []) + headers.get_all("Cc", []))
    }
    hidden = [r for r in entry.envelope.rcpts if r.lower() not in shown]
    if hidden and headers.get("Bcc") is None:
        message = b"Bcc: " + ", ".join(hidden).encode("utf-8") + b"\r\n" + message
    return SentCopy(employee.email, message, headers.get("Message-ID"), entry.queue_id)


def sent_items_password(cfg: Config, env: Mapping[str, str]) -> str | None:
    """The admin password for [sent_items] from its variable or file, else None."""
    section = cfg.sent_items
    if section.password_env:
        return env.get(section.password_env)
    if section.password_file:
        path = cfg.config_dir / section.password_file.expanduser()
        try:
            return path.read_text(encoding="utf-8").removesuffix("\n")
        except OSError as exc:
            log.error("[sent_items] password_file %s: %s", path, exc.strerror)
    return None
