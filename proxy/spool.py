"""The durable spool: the contract between receiving and delivering (Postfix's queue).

Layout under `<data dir>/spool/`:

    tmp/        files being written; anything left here after a crash is garbage
    incoming/   queue files of accepted messages, not yet attempted
    deferred/   queue files of messages with a copy waiting for a retry
    state/      <qid>.json: the per-copy delivery state of a planned message
    corrupt/    queue files that could not be read (kept for the admin, never deleted)
    poison/     queue files whose delivery crashed (Postfix's "hold"), each with a
                <qid>.reason; kept with their state until the admin retries
                (`sigrelay spool retry ID`, back to incoming/) or drops them

A queue file is one JSON line (the envelope) followed by the message bytes
exactly as received. It is written once and never changed: put() writes it
into tmp/, fsyncs it, renames it into incoming/ and fsyncs the directory;
only then may the server answer 250. Moving it to deferred/ is a rename.

The state file is never edited in place: every change writes a new file into
tmp/, fsyncs it and renames it over the old one, so after a crash it is
either the old state or the new one, never half of each.

Several relay processes (`[relay] workers`, proxy/workers.py) share one spool:
each owns the queue ids of its `Share` (by the id's random part), makes only
ids it owns, and recovers, delivers and cleans up only those. The admin's
tools (`sigrelay spool ...`) see the whole spool, as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from config.durable import fsync_dir, move_durably, write_durably
from proxy.errors import ProxyError
from proxy.state import MessageState

log = logging.getLogger("sigrelay.proxy.spool")

# Crockford base32: digits first, then letters, so ids sort like the times in them.
_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
QUEUE_DIRS = ("incoming", "deferred")
POISON = "poison"
FLUSH_TRIGGER = "flush"
T = TypeVar("T")


class SpoolError(ProxyError):
    """The spool could not do what was asked; the message names the queue id."""


class SpoolWriteError(SpoolError):
    """put() failed (disk full, I/O error): the message was NOT accepted."""


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    rcpts: tuple[str, ...]
    received_at: datetime  # UTC, aware
    client_address: str = ""
    client_name: str = ""  # what the client said in HELO/EHLO
    smtputf8: bool = False
    # For the Received: trace header (RFC 5321 4.4, RFC 3848 "with" keywords).
    client_rdns: str = ""  # the verified reverse name of client_address, if known
    tls: bool = False
    authenticated: bool = False

    def to_json(self) -> dict:
        return {
            "mail_from": self.mail_from,
            "rcpts": list(self.rcpts),
            "received_at": self.received_at.isoformat(),
            "client_address": self.client_address,
            "client_name": self.client_name,
            "smtputf8": self.smtputf8,
            "client_rdns": self.client_rdns,
            "tls": self.tls,
            "authenticated": self.authenticated,
        }

    @classmethod
    def from_json(cls, raw: dict) -> Envelope:
        return cls(
            mail_from=raw["mail_from"],
            rcpts=tuple(raw["rcpts"]),
            received_at=datetime.fromisoformat(raw["received_at"]),
            client_address=raw.get("client_address", ""),
            client_name=raw.get("client_name", ""),
            smtputf8=bool(raw.get("smtputf8", False)),
            client_rdns=raw.get("client_rdns", ""),
            tls=bool(raw.get("tls", False)),
            authenticated=bool(raw.get("authenticated", False)),
        )


@dataclass(frozen=True)
class SpoolEntry:
    queue_id: str
    envelope: Envelope
    data: bytes
    state: MessageState | None  # None: accepted but not planned yet
    deferred: bool = False


@dataclass(frozen=True)
class Share:
    """Which queue ids one of `count` relay processes owns: worker `index`."""

    index: int = 0
    count: int = 1

    def owns(self, queue_id: str) -> bool:
        # The last four characters are 20 random bits (new_queue_id).
        if self.count == 1:
            return True
        value = 0
        for char in queue_id[-4:]:
            digit = _BASE32.find(char)
            if digit < 0:
                return self.index == 0  # not a queue id: the first process looks after it
            value = value * 32 + digit
        return value % self.count == self.index


WHOLE = Share()  # a single relay process owns the whole spool


def new_queue_id(now: float | None = None) -> str:
    """19 characters: 11 of microseconds since the epoch, 8 of randomness.
    Time-sortable (oldest first), unique without coordination between nodes."""
    micros = int((time.time() if now is None else now) * 1_000_000)
    value = (micros << 40) | secrets.randbits(40)
    chars = []
    for _ in range(19):
        chars.append(_BASE32[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def queue_id_time(queue_id: str) -> float:
    """When the message was accepted (seconds since the epoch), read from its id."""
    value = 0
    for char in queue_id:
        value = value * 32 + _BASE32.index(char)
    return (value >> 40) / 1_000_000


class Spool:
    """Blocking file operations (fsync). Callers in the event loop use
    `await spool.run(spool.put, ...)`: the spool's own threads, so disk waits
    never block the loop and cannot be starved by other users of the loop's
    default executor (a client library blocking in to_thread, say)."""

    def __init__(self, root: Path, io_threads: int = 8, share: Share = WHOLE) -> None:
        self.root = root
        self.share = share
        self._executor = ThreadPoolExecutor(io_threads, thread_name_prefix="sigrelay-spool")
        self.tmp = root / "tmp"
        self.state_dir = root / "state"
        self.corrupt = root / "corrupt"
        self.poison_dir = root / POISON
        for directory in (
            self.tmp,
            self.state_dir,
            self.corrupt,
            self.poison_dir,
            *self._queue_dirs(),
        ):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def _queue_dirs(self) -> list[Path]:
        return [self.root / name for name in QUEUE_DIRS]

    # --- accepting ----------------------------------------------------------

    def put(self, envelope: Envelope, data: bytes) -> str:
        """Store a message durably and return its queue id. Raises
        SpoolWriteError on any OS error (disk full, quota, I/O): then nothing
        is in incoming/ and the client must get a 4xx, never a 250."""
        queue_id = new_queue_id(envelope.received_at.timestamp())
        while not self.share.owns(queue_id):  # `count` tries on average
            queue_id = new_queue_id(envelope.received_at.timestamp())
        tmp_path = self.tmp / f"{queue_id}.queue"
        header = json.dumps(envelope.to_json(), separators=(",", ":")).encode() + b"\n"
        try:
            write_durably(self.root / "incoming" / queue_id, [header, data], tmp_path=tmp_path)
        except OSError as exc:
            raise SpoolWriteError(f"cannot spool message {queue_id}: {exc}") from exc
        return queue_id

    # --- reading ------------------------------------------------------------

    def list(self) -> list[str]:
        """Queue ids of every message still in the spool, oldest first."""
        # Messages move from incoming/ to deferred/ only, and incoming/ is read
        # first: one moving meanwhile is seen in both (hence the set), never in neither.
        ids = {p.name for d in self._queue_dirs() for p in d.iterdir() if p.is_file()}
        return sorted(ids)

    def poisoned(self) -> list[str]:
        """Queue ids set aside in poison/, oldest first (not delivered until retried)."""
        return sorted(p.name for p in self.poison_dir.iterdir() if "." not in p.name)

    def poison_reason(self, queue_id: str) -> str:
        try:
            return (self.poison_dir / f"{queue_id}.reason").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _queue_file(self, queue_id: str, *, poisoned: bool = False) -> Path:
        """`poisoned`: look in poison/ too (loading, dropping; never delivering)."""
        if len(queue_id) != 19 or any(c not in _BASE32 for c in queue_id):
            raise SpoolError(f"not a queue id: {queue_id!r}; `sigrelay spool list` shows them")
        directories = [*self._queue_dirs(), self.poison_dir] if poisoned else self._queue_dirs()
        for directory in directories:
            path = directory / queue_id
            if path.exists():
                return path
        raise SpoolError(
            f"queue id {queue_id} is not in the spool (delivered or dropped meanwhile?); "
            "`sigrelay spool list` shows what is"
        )

    def load(self, queue_id: str, *, poisoned: bool = False) -> SpoolEntry:
        path = self._queue_file(queue_id, poisoned=poisoned)
        raw = path.read_bytes()
        header, newline, data = raw.partition(b"\n")
        try:
            if not newline:
                raise ValueError("no envelope line")
            envelope = Envelope.from_json(json.loads(header))
        except (ValueError, KeyError, TypeError) as exc:
            os.rename(path, self.corrupt / queue_id)
            reason = f"queue file {queue_id} is corrupt ({exc}); moved to corrupt/"
            raise SpoolError(reason) from exc
        return SpoolEntry(
            queue_id,
            envelope,
            data,
            self.load_state(queue_id),
            deferred=path.parent.name == "deferred",
        )

    def load_state(self, queue_id: str) -> MessageState | None:
        try:
            raw = (self.state_dir / f"{queue_id}.json").read_bytes()
        except FileNotFoundError:
            return None
        return MessageState.from_json(json.loads(raw))

    # --- changing -----------------------------------------------------------

    def save_state(self, queue_id: str, state: MessageState) -> None:
        """Replace the state file atomically (write tmp, fsync, rename, fsync dir)."""
        tmp_path = self.tmp / f"{queue_id}.state.{secrets.token_hex(4)}"
        body = json.dumps(state.to_json(), separators=(",", ":")).encode()
        write_durably(self.state_dir / f"{queue_id}.json", body, tmp_path=tmp_path)

    def defer(self, queue_id: str) -> None:
        """Move a queue file to deferred/ (a rename: the file itself never changes)."""
        path = self._queue_file(queue_id)
        if path.parent.name != "deferred":
            move_durably(path, self.root / "deferred" / queue_id)

    def remove(self, queue_id: str, state: MessageState) -> None:
        """Delete a message whose every copy is done; see remove_all()."""
        if self.remove_all([(queue_id, state)]):
            raise SpoolError(f"queue id {queue_id} could not be removed (see the log)")

    def remove_all(self, done: list[tuple[str, MessageState]]) -> set[str]:
        """Delete messages whose every copy is done (each with its final state,
        which need not have been written). Queue files go first, and their
        removal is synced (one sync per directory for all): from then on a
        restart cannot deliver them again. A crash before a state file is gone
        leaves it without its queue file, which clean_up() deletes. Returns the
        queue ids that could not be removed (logged); raises SpoolError for a
        message with a copy still pending (a bug, not a disk)."""
        for queue_id, state in done:
            if not state.done:
                raise SpoolError(f"queue id {queue_id} still has copies to deliver")
        failed: set[str] = set()
        removed: list[str] = []
        directories: set[Path] = set()
        for queue_id, _ in done:
            paths = [d / queue_id for d in self._queue_dirs()]
            try:
                for path in paths:
                    path.unlink(missing_ok=True)  # gone already: a removal tried again
            except OSError as exc:
                log.error("cannot remove queue_id=%s from the spool: %s", queue_id, exc)
                failed.add(queue_id)
                continue
            removed.append(queue_id)
            directories.update(path.parent for path in paths)
        try:
            for directory in directories:
                fsync_dir(directory)
        except OSError as exc:
            log.error("cannot sync the spool after removing %d messages: %s", len(removed), exc)
            return failed | set(removed)  # removed, but maybe not for good: tried again
        for queue_id in removed:
            (self.state_dir / f"{queue_id}.json").unlink(missing_ok=True)
        return failed

    def set_aside(self, queue_id: str, reason: str) -> None:
        """Move a message whose delivery crashed into poison/ (a rename, like
        defer), with one line saying why; nothing delivers it until release()."""
        path = self._queue_file(queue_id)
        line = (reason.replace("\n", " ")[:500] + "\n").encode("utf-8", "replace")
        reason_path = self.poison_dir / f"{queue_id}.reason"
        write_durably(reason_path, line, tmp_path=self.tmp / f"{queue_id}.reason")
        move_durably(path, self.poison_dir / queue_id)
        fsync_dir(path.parent)

    def release(self, queue_id: str) -> None:
        """Back from poison/ to incoming/ (the admin fixed the cause)."""
        move_durably(self.poison_dir / queue_id, self.root / "incoming" / queue_id)
        (self.poison_dir / f"{queue_id}.reason").unlink(missing_ok=True)
        fsync_dir(self.poison_dir)

    def make_due(self, queue_id: str) -> None:
        """Every pending copy of this message is due now, a poisoned message is
        released with its held copies; the running relay notices through
        request_flush()."""
        if (self.poison_dir / queue_id).exists():
            self.release(queue_id)
        self._queue_file(queue_id)  # an unknown id is an error, not a silent no-op
        state = self.load_state(queue_id)
        if state is not None:
            self.save_state(queue_id, state.made_due())

    def make_all_due(
        self, progress: Callable[[list[str]], Iterable[str]] = lambda ids: ids
    ) -> list[str]:
        """make_due() for every message in the spool; the queue ids made due.
        A message that leaves the spool meanwhile (a running relay delivered
        it after list() named it) is skipped: nothing of it is left to retry.
        `progress` wraps the ids gone through (a progress bar at a terminal)."""
        due = []
        for queue_id in progress(self.list()):
            try:
                self.make_due(queue_id)
            except SpoolError:
                if any((d / queue_id).exists() for d in self._queue_dirs()):
                    raise
                continue
            due.append(queue_id)
        return due

    def request_flush(self) -> None:
        """Ask the running relay processes to re-read every state file now
        (Postfix's `postqueue -f` pokes qmgr the same way: through a file in the
        queue). Each process notices the trigger's new content by itself."""
        (self.root / FLUSH_TRIGGER).write_text(secrets.token_hex(8))

    def flush_request(self) -> str:
        """What the last request_flush() wrote ("" if none was made)."""
        try:
            return (self.root / FLUSH_TRIGGER).read_text()
        except FileNotFoundError:
            return ""

    def drop(self, queue_id: str) -> None:
        """Delete a message whatever its state, poisoned too (`sigrelay spool drop`)."""
        path = self._queue_file(queue_id, poisoned=True)
        path.unlink()
        fsync_dir(path.parent)
        (self.poison_dir / f"{queue_id}.reason").unlink(missing_ok=True)
        (self.state_dir / f"{queue_id}.json").unlink(missing_ok=True)

    def clean_up(self) -> list[str]:
        """On start: delete half-written tmp files and state files whose queue
        file is gone, of the queue ids this process owns (the other processes
        are writing theirs). Returns the names deleted, for the log."""
        deleted = []
        for path in self.tmp.iterdir():
            queue_id = path.name.split(".", 1)[0]
            if len(queue_id) == 19 and not self.share.owns(queue_id):
                continue
            path.unlink(missing_ok=True)
            deleted.append(f"tmp/{path.name}")
        present = set(self.list()) | set(self.poisoned())  # a poisoned message keeps its state
        for path in self.state_dir.glob("*.json"):
            if self.share.owns(path.stem) and path.stem not in present:
                path.unlink(missing_ok=True)
                deleted.append(f"state/{path.name}")
        return deleted
