"""`sigrelay milter`: signature, banner and tags added inside an existing MTA.

Postfix (`smtpd_milters`, `non_smtpd_milters`) or Sendmail hand each message to
us through libmilter (pymilter); we answer with edits (proxy/milter_edits.py).
The work is the relay's own: `Planner.plan` and `Planner.render`
(proxy/planning.py → config/plans.py build_plan → rewriter.rewrite), on a
message that lives in memory instead of the spool.

Only mail whose envelope sender is in `company.internal_domains` is touched:
the MTA's milter sees inbound mail too.

What a milter cannot do: split one message into copies. The MTA delivers the
one message it has to every recipient, so the milter makes one copy:
- a group in `personal` or `domain` mode is treated as `anonymous` here (one
  copy, tracked anonymously; logged once per group);
- when the recipients need different copies (an internal colleague who never
  gets tags, a recipient who opted out of tracking), the one copy is untracked:
  signature and banner, no pixel and no tagged links.

Mail is never lost or held back by us: any failure in planning or rewriting
leaves the message as it came (the callbacks answer CONTINUE, never TEMPFAIL
or REJECT for our own trouble), and the MTA's `milter_default_action =
accept` covers a milter that is down or too slow.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from config.logfields import quoted
from config.schema import PrivacyMode
from proxy.copyids import copy_id_for
from proxy.fanout import lower_mode
from proxy.milter_edits import (
    HeaderField,
    MilterEdits,
    edits_between,
    join_message,
    milter_value,
)
from proxy.planning import Planner
from proxy.recipient_choices import Caps
from proxy.spool import Envelope, SpoolEntry
from proxy.state import CopyState, MessageState
from rewriter import Outcome
from tracker.store import CopyRecord

log = logging.getLogger("sigrelay.proxy.milter")

# libmilter's timeout for one read or write to the MTA (seconds). Postfix waits
# `milter_content_timeout` (300 s by default) for our answer at end of message.
MILTER_IO_TIMEOUT = 60


@dataclass(frozen=True)
class MilterMessage:
    """One message as the MTA handed it over."""

    mta_queue_id: str  # the MTA's queue id ("" when the MTA did not say)
    mail_from: str  # "" for the null sender
    rcpts: tuple[str, ...]
    headers: tuple[HeaderField, ...]
    body: bytes


@dataclass(frozen=True)
class MilterResult:
    edits: MilterEdits
    outcome: Outcome
    reason: str
    records: tuple[CopyRecord, ...] = ()  # the "sent" fact of a tracked copy


CapsLookup = Callable[[SpoolEntry], Caps]


class MilterRewriter:
    """The pure part: message in, edits out. The caller does the I/O (the opt-out
    lookup behind `caps`, storing the records)."""

    def __init__(
        self,
        planner: Planner,
        *,
        caps: CapsLookup | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.planner = planner
        self.caps = caps
        self.clock = clock
        self._warned_groups: set[str] = set()
        self._warned_lock = threading.Lock()  # libmilter calls us from one thread per connection

    def process(self, message: MilterMessage) -> MilterResult:
        """Never raises: trouble anywhere gives no edits (the message goes on as it is)."""
        cfg = self.planner.running.current
        if not message.mail_from or not cfg.is_internal(message.mail_from):
            # An MTA's milter sees inbound mail too: only our own senders' mail
            # is signed (bounces, with the null sender, never are).
            return MilterResult(MilterEdits(), Outcome.SKIPPED, "not-our-sender")
        original = join_message(list(message.headers), message.body)
        # Our own id for copy ids and logs: MTA queue ids repeat across hosts.
        queue_id = f"{message.mta_queue_id or 'milter'}.{secrets.token_hex(4)}"
        try:
            entry = SpoolEntry(
                queue_id,
                Envelope(message.mail_from, message.rcpts, self.clock()),
                original,
                None,
            )
            state = self._one_copy(entry)
            copy = state.copies[0]
            rewritten = self.planner.render(entry, copy)
            edits = edits_between(original, rewritten.message)
        except Exception as error:
            log.exception("milter failed queue_id=%s: message passed unchanged", queue_id)
            return MilterResult(MilterEdits(), Outcome.FAILED, type(error).__name__)
        records = ()
        if rewritten.outcome is Outcome.REWRITTEN:
            records = tuple(self.planner.records(entry, replace(state, copies=(copy,))))
        log.info(
            "milter queue_id=%s mta_queue_id=%s outcome=%s reason=%s privacy=%s rcpts=%d",
            queue_id,
            quoted(message.mta_queue_id),
            rewritten.outcome.value,
            quoted(rewritten.reason),
            copy.privacy.value,
            len(message.rcpts),
        )
        return MilterResult(edits, rewritten.outcome, rewritten.reason, records)

    def _one_copy(self, entry: SpoolEntry) -> MessageState:
        cfg = self.planner.running.current
        group = cfg.sender(entry.envelope.mail_from).group
        if group.privacy in (PrivacyMode.PERSONAL, PrivacyMode.DOMAIN):
            self._warn_once(group.name, group.privacy)
        found = self.caps(entry) if self.caps is not None else {}
        # One copy for all: nobody is tracked more than anonymously.
        anonymous = PrivacyMode.ANONYMOUS
        caps = {
            rcpt.lower(): lower_mode(found.get(rcpt.lower(), PrivacyMode.PERSONAL), anonymous)
            for rcpt in entry.envelope.rcpts
        }
        state = self.planner.plan(entry, caps)
        if len(state.copies) == 1:
            return state
        # The recipients need different copies (internal, opted out): one untracked copy.
        rcpts = entry.envelope.rcpts
        copy_id = copy_id_for(self.planner.keyring, entry.queue_id, PrivacyMode.OFF, rcpts)
        untracked = CopyState(copy_id, rcpts, tracked=False, privacy=PrivacyMode.OFF)
        campaigns = [(c.campaign, c.variant) for c in state.copies if c.campaign]
        if campaigns:  # the banner still shows: the one the planner chose first
            untracked = replace(untracked, campaign=campaigns[0][0], variant=campaigns[0][1])
        return replace(state, copies=(untracked,))

    def _warn_once(self, group: str, mode: PrivacyMode) -> None:
        with self._warned_lock:
            if group in self._warned_groups:
                return
            self._warned_groups.add(group)
        log.warning(
            "group %s has privacy %s: a milter cannot make a copy per recipient, "
            "so its mail is tracked anonymously here (one copy for all recipients)",
            quoted(group),
            mode.value,
        )


def milter_class(
    rewriter: MilterRewriter, record: Callable[[tuple[CopyRecord, ...]], None]
) -> type:
    """The pymilter class libmilter instantiates per SMTP connection: a thin shell
    that collects the message and applies `rewriter.process`'s edits. pymilter is
    an optional dependency (`pip install sigrelay[milter]`), imported here only."""
    import Milter

    class SigrelayMilter(Milter.Base):
        def __init__(self) -> None:
            self._reset()

        def _reset(self) -> None:
            self.mail_from = ""
            self.rcpts: list[str] = []
            self.headers: list[HeaderField] = []
            self.chunks: list[bytes] = []

        @_fail_open
        def envfrom(self, mail_from: str, *params: str) -> int:
            self._reset()  # a new message on this connection
            self.mail_from = mail_from.strip().removeprefix("<").removesuffix(">")
            return Milter.CONTINUE

        @_fail_open
        def envrcpt(self, rcpt: str, *params: str) -> int:
            self.rcpts.append(rcpt.strip().removeprefix("<").removesuffix(">"))
            return Milter.CONTINUE

        @_fail_open
        def header(self, name: str, value: str) -> int:
            self.headers.append((name, value))
            return Milter.CONTINUE

        @_fail_open
        def body(self, chunk: bytes) -> int:  # type: ignore[override]
            self.chunks.append(chunk)
            return Milter.CONTINUE

        def eom(self) -> int:
            try:
                message = MilterMessage(
                    self.getsymval("i") or "",
                    self.mail_from,
                    tuple(self.rcpts),
                    tuple(self.headers),
                    b"".join(self.chunks),
                )
                result = rewriter.process(message)
                _apply(self, result.edits)
                if result.records:
                    record(result.records)
            except Exception:
                # Never TEMPFAIL or REJECT for our own trouble: the message goes on
                # (a connection lost while sending edits is the MTA's default action).
                log.exception(
                    "milter end of message failed mta_queue_id=%s: message passed on",
                    quoted(self.getsymval("i") or ""),
                )
            finally:
                self._reset()
            return Milter.CONTINUE

        @_fail_open
        def abort(self) -> int:
            # The MTA gave the message up (client gone, connection dropped): it
            # keeps or refuses the message itself; we changed nothing of it.
            if self.mail_from or self.rcpts or self.chunks:
                log.warning(
                    "milter: the MTA aborted mta_queue_id=%s mid-message; nothing changed",
                    quoted(self.getsymval("i") or ""),
                )
            self._reset()
            return Milter.CONTINUE

    return SigrelayMilter


def _fail_open(callback: Callable[..., int]) -> Callable[..., int]:
    """A callback that raises would make pymilter answer TEMPFAIL ("untrapped
    exception"): the MTA would hold the mail for our bug. Log it and go on."""
    import Milter

    @functools.wraps(callback)
    def guarded(self, *args) -> int:
        try:
            return callback(self, *args)
        except Exception:
            log.exception("milter %s callback failed: message passed on", callback.__name__)
            return Milter.CONTINUE

    return guarded


def _apply(milter, edits: MilterEdits) -> None:
    for name, index, value in edits.changed:
        milter.chgheader(name, index, milter_value(value))
    for name, value in edits.added:
        milter.addheader(name, milter_value(value))
    if edits.body is not None:
        milter.replacebody(edits.body)


def run_milter(milter: type, socket: str, name: str = "sigrelay") -> None:
    """Serve until SIGTERM/SIGINT (libmilter's own signal handling). `socket` as
    libmilter spells it: `inet:PORT@HOST` or `unix:/path`."""
    import Milter

    Milter.factory = milter
    # What we use: change and add header fields, replace the body. Nothing else.
    Milter.set_flags(Milter.CHGHDRS | Milter.ADDHDRS | Milter.CHGBODY)
    Milter.runmilter(name, socket, MILTER_IO_TIMEOUT)
