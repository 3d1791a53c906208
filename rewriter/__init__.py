"""Pure rewriting of message bytes: signature, banner, tracking tags.

Public surface: `rewrite(message, plan) -> Rewritten` and the plan types.
No I/O, no clock, no randomness: everything comes in through the Plan.
"""

from rewriter.plan import (
    MARKER_HEADER,
    SKIP_HEADER,
    Banner,
    InlineImage,
    LinkMode,
    Outcome,
    Plan,
    Rewritten,
    Signature,
)

__all__ = [
    "MARKER_HEADER",
    "SKIP_HEADER",
    "Banner",
    "InlineImage",
    "LinkMode",
    "Outcome",
    "Plan",
    "Rewritten",
    "Signature",
]
