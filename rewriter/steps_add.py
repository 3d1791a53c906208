"""Pipeline steps that add our content: signature, banner, tracked links, pixel."""

from __future__ import annotations

import html

from rewriter.body import BodyPart, Kind
from rewriter.draft import Draft
from rewriter.line_ends import merged as _merged  # disjoint ranges: no link tagged twice
from rewriter.links import href_edits, is_trackable, text_url_edits
from rewriter.plan import Plan, Signature

SIGNATURE_CLASS = "sigrelay-signature"
BANNER_CLASS = "sigrelay-banner"
BANNER_IMAGE_STYLE = "display:block;border:0;max-width:100%;height:auto"
BANNER_BLOCK_STYLE = "margin:12px 0 16px 0"
TEXT_DELIMITER = "-- "  # RFC 3676 4.3: the signature separator line


def _signature_for(draft: Draft) -> Signature | None:
    plan = draft.plan
    if draft.is_reply and plan.reply_signature is not None:
        return plan.reply_signature
    return plan.signature


def insert_signature(draft: Draft) -> None:
    """The signature under the newest text (or in place of the sender's placeholder)."""
    signature = _signature_for(draft)
    if signature is None:
        return
    for body in draft.bodies:
        if body.kind is Kind.HTML:
            block = f'<div class="{SIGNATURE_CLASS}">{signature.html}</div>'
        else:
            block = _text_signature(signature.text)
        if _replace_placeholder(draft.plan, body, block):
            continue
        anchor = body.mark(BodyPart.ANCHOR)
        assert anchor is not None
        if body.kind is Kind.TEXT:
            block = _text_lead(body.content.text, anchor) + block
            if body.mark(BodyPart.QUOTE_START) is not None:
                block += "\r\n"  # a blank line between signature and quoted thread
        body.content.insert(anchor, block)
        body.signed = body.changed = True


def _text_signature(text: str) -> str:
    # Trailing spaces would make format=flowed readers join our lines (RFC 3676 4.2).
    lines = [line.rstrip(" ") for line in text.replace("\r\n", "\n").strip("\n").split("\n")]
    return "\r\n".join([TEXT_DELIMITER, *lines]) + "\r\n"


def _text_lead(text: str, anchor: int) -> str:
    """Line breaks so the delimiter starts its own line after a blank line."""
    before = text[:anchor]
    if not before:
        return ""
    if before.endswith("\r\n\r\n"):
        return ""
    if before.endswith("\r\n"):
        return "\r\n"
    return "\r\n\r\n"


def _replace_placeholder(plan: Plan, body: BodyPart, block: str) -> bool:
    placeholder = plan.placeholder
    if not placeholder:
        return False
    text = body.content.text
    start = body.mark(BodyPart.BODY_START) or 0
    end = body.mark(BodyPart.ANCHOR)
    candidates = [placeholder]
    if body.kind is Kind.HTML:
        candidates.insert(0, html.escape(placeholder, quote=False))
    for candidate in candidates:
        found = text.find(candidate, start, end)
        if found >= 0:
            body.content.replace(found, found + len(candidate), "")
            body.content.marks[BodyPart.ANCHOR] = found
            body.content.insert(found, block)
            body.signed = body.changed = True
            return True
    return False


def insert_banner(draft: Draft) -> None:
    """The campaign banner (hosted image, optional link) below the signature, HTML only."""
    banner = draft.plan.banner
    if banner is None:
        return
    size = "".join(
        f' {name}="{value}"'
        for name, value in (("width", banner.width), ("height", banner.height))
        if value is not None
    )
    # width/height attributes for Outlook (Word ignores CSS sizes); max-width and
    # height:auto let phones scale it down to the screen without distortion.
    image = (
        f'<img src="{html.escape(banner.image_url)}" alt="{html.escape(banner.alt)}"{size}'
        f' border="0" style="{BANNER_IMAGE_STYLE}">'
    )
    if banner.link_url:
        image = f'<a href="{html.escape(banner.link_url)}">{image}</a>'
    # Margins keep the opt-out line above and the quoted thread below off the banner.
    block = f'<div class="{BANNER_CLASS}" style="{BANNER_BLOCK_STYLE}">{image}</div>'
    for body in draft.bodies:
        if body.kind is Kind.HTML:
            body.content.insert(body.mark(BodyPart.ANCHOR), block)
            body.changed = True


def tag_links(draft: Draft) -> None:
    """Route links through the tracker per the plan's link mode (signature/banner or all)."""
    plan = draft.plan
    if plan.tag_link is None or plan.link_mode == "none":
        return
    tag_link = plan.tag_link

    def tracked(url: str) -> str | None:
        if not is_trackable(url, plan):
            return None
        try:
            return tag_link(url)
        except ValueError:
            # A link the plan cannot tag (too long for a token, bytes that are not
            # UTF-8) stays as it is; before, it cost the whole copy its signature
            # (found by tests/hardening/fuzz/fuzz_rewriter.py).
            return None

    for body in draft.bodies:
        if body.kind is Kind.TEXT and not plan.track_text_links:
            continue  # plain text shows the URL itself: it stays the one written
        content = body.content
        edits = []
        for start, end in _link_ranges(body, plan):
            if body.kind is Kind.HTML:
                edits += href_edits(content.text, start, end, tracked)
            else:
                edits += text_url_edits(content.text, start, end, tracked)
        if edits:
            content.replace_all(edits)
            body.changed = True


def _link_ranges(body: BodyPart, plan: Plan) -> list[tuple[int, int]]:
    """Our additions; in mode `all` also the sender's newest text (never the quoted thread)."""
    ranges = list(body.content.added)
    if plan.link_mode == "all":
        start = body.mark(BodyPart.BODY_START) or 0
        first_added = min((s for s, _ in ranges), default=body.mark(BodyPart.BODY_END))
        quote = body.mark(BodyPart.QUOTE_START)
        newest_end = min(first_added, quote) if quote is not None else first_added
        ranges.append((start, newest_end))
    return _merged(ranges)


def insert_pixel(draft: Draft) -> None:
    """The open-tracking pixel at the very end of the HTML body."""
    pixel_url = draft.plan.pixel_url
    if not pixel_url or draft.plan.tag_link is None:
        return  # untracked copy: no pixel
    image = (
        f'<img src="{html.escape(pixel_url)}" width="1" height="1" alt=""'
        ' style="display:block;border:0">'
    )
    for body in draft.bodies:
        if body.kind is Kind.HTML:
            body.content.insert(body.mark(BodyPart.BODY_END), image)
            body.changed = True
