"""The root of rewriter/'s exceptions: `except RewriteError` catches every one of them.

None of them leaves `rewrite()`: it fails open (docs/internals.md), turning
any exception into `Outcome.FAILED` and a skip into `Outcome.SKIPPED`. They
are how the pipeline's steps speak to it:

- `rewriter.draft.RewriteSkipped`: a step decided the message passes unchanged
- `rewriter.transfer.Undecodable`: a part's body cannot be decoded losslessly
"""

from __future__ import annotations


class RewriteError(Exception):
    """A message, or a part of it, the rewriter leaves as it is; the text says why."""
