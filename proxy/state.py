"""The delivery state of one spooled message: its copies and how each one went.

Frozen values; every change makes a new value that the spool writes as a
whole new state file. Copy ids are fixed when the message is first planned,
so a restart re-uses them: no second "sent" fact, the same tokens in a retry.
Each copy keeps its recipients' outcomes, so a partly accepted copy is retried
only for the recipients that are still pending (never delivered twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from config.schema import PrivacyMode


class CopyStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # permanently, for at least one recipient; the rest delivered
    HELD = "held"  # its delivery crashed (a bug, a poison message): set aside for the admin


@dataclass(frozen=True)
class CopyState:
    copy_id: str
    recipients: tuple[str, ...]
    tracked: bool
    privacy: PrivacyMode  # OFF for an untracked copy
    recipient: str | None = None  # personal mode only
    domain: str | None = None  # personal and domain modes only
    campaign: str | None = None
    variant: str | None = None
    language: str | None = None  # its templates' and opt-out line's; None: the group's
    delivered: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()  # (recipient, the upstream's reply)
    attempts: int = 0
    next_attempt: datetime | None = None
    last_error: str = ""
    held: str = ""  # why the copy is held ("" when it is not); `spool retry` releases it

    @property
    def remaining(self) -> tuple[str, ...]:
        finished = set(self.delivered) | {rcpt for rcpt, _ in self.failed}
        return tuple(r for r in self.recipients if r not in finished)

    @property
    def status(self) -> CopyStatus:
        if self.remaining:
            return CopyStatus.HELD if self.held else CopyStatus.PENDING
        return CopyStatus.FAILED if self.failed else CopyStatus.DELIVERED

    def to_json(self) -> dict:
        return {
            "copy_id": self.copy_id,
            "recipients": list(self.recipients),
            "tracked": self.tracked,
            "privacy": self.privacy,
            "recipient": self.recipient,
            "domain": self.domain,
            "campaign": self.campaign,
            "variant": self.variant,
            "language": self.language,
            "status": self.status.value,  # for people reading the file; derived on load
            "delivered": list(self.delivered),
            "failed": [list(pair) for pair in self.failed],
            "attempts": self.attempts,
            "next_attempt": self.next_attempt.isoformat() if self.next_attempt else None,
            "last_error": self.last_error,
            "held": self.held,
        }

    @classmethod
    def from_json(cls, raw: dict) -> CopyState:
        next_attempt = raw.get("next_attempt")
        return cls(
            copy_id=raw["copy_id"],
            recipients=tuple(raw["recipients"]),
            tracked=bool(raw["tracked"]),
            privacy=PrivacyMode(raw["privacy"]),
            recipient=raw.get("recipient"),
            domain=raw.get("domain"),
            campaign=raw.get("campaign"),
            variant=raw.get("variant"),
            language=raw.get("language"),
            delivered=tuple(raw.get("delivered", ())),
            failed=tuple((r, reason) for r, reason in raw.get("failed", ())),
            attempts=int(raw.get("attempts", 0)),
            next_attempt=datetime.fromisoformat(next_attempt) if next_attempt else None,
            last_error=raw.get("last_error", ""),
            held=raw.get("held", ""),
        )


@dataclass(frozen=True)
class MessageState:
    sender: str
    group: str
    copies: tuple[CopyState, ...] = field(default_factory=tuple)
    # Failed recipients the sender was already told about in a DSN, so each
    # failure is reported once even though the message is looked at many times.
    bounced: tuple[str, ...] = ()

    @property
    def failures(self) -> tuple[tuple[str, str], ...]:
        """(recipient, upstream reply) of every recipient that failed for good."""
        return tuple(pair for c in self.copies for pair in c.failed)

    @property
    def unreported_failures(self) -> tuple[tuple[str, str], ...]:
        reported = set(self.bounced)
        return tuple(pair for pair in self.failures if pair[0] not in reported)

    def made_due(self) -> MessageState:
        """Every pending copy due now, and every held one released (the
        admin's `sigrelay spool retry`, after fixing what made it crash)."""
        waiting = (CopyStatus.PENDING, CopyStatus.HELD)
        copies = tuple(
            replace(c, next_attempt=None, held="") if c.status in waiting else c
            for c in self.copies
        )
        return replace(self, copies=copies)

    @property
    def done(self) -> bool:
        return all(c.status in (CopyStatus.DELIVERED, CopyStatus.FAILED) for c in self.copies)

    @property
    def stuck(self) -> bool:
        """Nothing pending, but a copy held: the message goes to the spool's poison/."""
        statuses = {c.status for c in self.copies}
        return CopyStatus.HELD in statuses and CopyStatus.PENDING not in statuses

    @property
    def next_attempt(self) -> datetime | None:
        """When the earliest pending copy is due (None: due now or nothing pending)."""
        pending = [c for c in self.copies if c.status is CopyStatus.PENDING]
        if not pending or any(c.next_attempt is None for c in pending):
            return None
        return min(c.next_attempt for c in pending if c.next_attempt is not None)

    def with_copy(self, copy: CopyState) -> MessageState:
        copies = tuple(copy if c.copy_id == copy.copy_id else c for c in self.copies)
        return replace(self, copies=copies)

    def to_json(self) -> dict:
        return {
            "sender": self.sender,
            "group": self.group,
            "copies": [c.to_json() for c in self.copies],
            "bounced": list(self.bounced),
        }

    @classmethod
    def from_json(cls, raw: dict) -> MessageState:
        return cls(
            sender=raw["sender"],
            group=raw["group"],
            copies=tuple(CopyState.from_json(c) for c in raw["copies"]),
            bounced=tuple(raw.get("bounced", ())),
        )
