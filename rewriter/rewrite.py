"""rewrite(message, plan) -> Rewritten: the pipeline of small named steps.

Like Mailman's handler pipelines, the list of steps is data: each step takes
the draft, may edit it, and may stop the message with `RewriteSkipped`.
Any exception fails open: the original bytes go out unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from rewriter import mime
from rewriter.draft import Draft, RewriteSkipped
from rewriter.plan import Outcome, Plan, Rewritten
from rewriter.quoted_tags import neutralise_quoted_tags
from rewriter.splice import encode
from rewriter.steps_add import insert_banner, insert_pixel, insert_signature, tag_links
from rewriter.steps_locate import detect_skip, find_newest_text, locate_body_parts

log = logging.getLogger("sigrelay.rewriter")


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    run: Callable[[Draft], None]


PIPELINE: tuple[Step, ...] = (
    Step(
        "detect-skip",
        "leave signed, encrypted, calendar, machine and marked mail alone",
        detect_skip,
    ),
    Step(
        "locate-body-parts",
        "find and decode the parts a reader sees as the text",
        locate_body_parts,
    ),
    Step(
        "find-newest-text",
        "mark where the newest text ends, above the quoted thread",
        find_newest_text,
    ),
    Step(
        "neutralise-quoted-tags",
        "make our tags of earlier copies in the thread inert",
        neutralise_quoted_tags,
    ),
    Step(
        "insert-signature",
        "signature under the newest text or in the placeholder",
        insert_signature,
    ),
    Step("insert-banner", "campaign banner below the signature (HTML)", insert_banner),
    Step("tag-links", "route links through the tracker per the link mode", tag_links),
    Step("insert-pixel", "open-tracking pixel at the end of the HTML", insert_pixel),
    Step("encode", "encode changed parts and splice them into the message", encode),
)


def rewrite(message: bytes, plan: Plan) -> Rewritten:
    """The copy of `message` that `plan` describes. Never raises."""
    try:
        normalised = mime.to_crlf(message)
        draft = Draft(plan, message, normalised, mime.parse(normalised))
        for step in PIPELINE:
            step.run(draft)
    except RewriteSkipped as skipped:
        return Rewritten(message, Outcome.SKIPPED, skipped.reason)
    except Exception as error:  # fail open: mail is never lost because of us
        log.warning("rewrite failed, passing the original: %s: %s", type(error).__name__, error)
        return Rewritten(message, Outcome.FAILED, f"{type(error).__name__}: {error}")
    assert draft.output is not None
    return Rewritten(draft.output, Outcome.REWRITTEN)
