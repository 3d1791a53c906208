"""The state one message carries through the rewriting pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

from rewriter.body import BodyPart
from rewriter.errors import RewriteError
from rewriter.mime import Part
from rewriter.plan import Plan


class RewriteSkipped(RewriteError):
    """A step decided that the message passes unchanged; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Draft:
    plan: Plan
    original: bytes  # exactly what came in (returned when skipped)
    message: bytes  # CRLF-normalised; offsets in `root` refer to this
    root: Part
    bodies: list[BodyPart] = field(default_factory=list)
    is_reply: bool = False
    output: bytes | None = None  # set by the encode step
