"""Making our tags of earlier copies, quoted in this message, inert.

When Anna forwards her thread with Bob to Paul, the quote carries the tags of
Bob's copy. Left live, Paul's opens and clicks would count as Bob's, and one
POST to Bob's opt-out link would opt Bob out (DESIGN.md: "a forwarded thread
never speaks for its first recipient"). So, in the original message, before
anything of ours is added:

- our pixel (`/o/`) is removed;
- our click links (`/c/`) lead to their targets again (Plan.untag_link);
- our banner (`/b/`) becomes the same image at a URL that counts nothing
  (Plan.untag_banner), or is removed;
- our opt-out link (`/u/`) is removed: its <a> element in HTML, its line in text;
- a landing-page visit id (Plan.visit_parameter) is stripped from every link.

A token that cannot be read (forged, altered, an unknown key) is left where
it is when it is a link: the tracker counts nothing for it and never
redirects with it. Pixels, banners and opt-out links are handled by their
path alone, so an unreadable token there goes too.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from rewriter.body import EditableText, Kind
from rewriter.draft import Draft
from rewriter.html_scan import named_tags
from rewriter.links import TEXT_URL, href_edits
from rewriter.plan import Plan

# The tracker's paths (DESIGN.md, "Contract"): pixel, banner, click, opt-out.
PIXEL_PATH, BANNER_PATH, CLICK_PATH, OPTOUT_PATH = "/o/", "/b/", "/c/", "/u/"
_EDGE_WHITESPACE = " \t\n\r\f"

Edit = tuple[int, int, str]


def neutralise_quoted_tags(draft: Draft) -> None:
    """Earlier copies in the thread must not count again nor speak for their recipient."""
    plan = draft.plan
    if not plan.tracker_prefix and not plan.visit_parameter:
        return
    needles = [n for n in (plan.tracker_prefix, _visit_needle(plan)) if n]
    for body in draft.bodies:
        content = body.content
        if not any(needle in content.text for needle in needles):
            continue  # nothing of ours in it (the common case): no scan
        make_edits = _html_edits if body.kind is Kind.HTML else _text_edits
        edits = make_edits(content, plan)
        if edits:
            content.replace_all(edits)
            body.changed = True


def _visit_needle(plan: Plan) -> str:
    return f"{plan.visit_parameter}=" if plan.visit_parameter else ""


def without_parameter(url: str, name: str) -> str:
    """The URL without the query parameter `name` (every occurrence); the rest,
    the other parameters' order and spelling included, stays exactly as it was."""
    if not name or f"{name}=" not in url:
        return url
    base, hash_sign, fragment = url.partition("#")
    path, question, query = base.partition("?")
    if not question:
        return url
    kept = [pair for pair in query.split("&") if pair.split("=", 1)[0] != name]
    query = "&".join(kept)
    return f"{path}{'?' if query else ''}{query}{hash_sign}{fragment}"


def _link_restorer(plan: Plan) -> Callable[[str], str | None]:
    """A quoted link's new URL (None: leave it): click links restored, visit ids gone."""
    prefix = plan.tracker_prefix
    click_prefix = prefix + CLICK_PATH if prefix else None
    untag, parameter = plan.untag_link, plan.visit_parameter

    def restore(url: str) -> str | None:
        if click_prefix and url.startswith(click_prefix):
            target = untag(url) if untag is not None else None
            if target is None:
                return None  # unreadable: the tracker counts nothing for it anyway
            url = target
        return without_parameter(url, parameter)

    return restore


def _html_edits(content: EditableText, plan: Plan) -> list[Edit]:
    text = content.text
    removed = _optout_anchor_spans(text, plan) if plan.tracker_prefix else []
    edits: list[Edit] = [(start, end, "") for start, end in removed]
    if plan.tracker_prefix:
        edits += _image_edits(text, plan)
    edits += href_edits(text, 0, len(text), _link_restorer(plan))
    return _outside(edits, removed)


def _image_edits(text: str, plan: Plan) -> list[Edit]:
    pixel = plan.tracker_prefix + PIXEL_PATH
    banner = plan.tracker_prefix + BANNER_PATH
    edits: list[Edit] = []
    for tag in named_tags(text, ("img",)):
        source = tag.attributes().get("src", "").strip(_EDGE_WHITESPACE)
        if source.startswith(pixel):
            edits.append((tag.start, tag.end, ""))
        elif source.startswith(banner):
            quiet = plan.untag_banner(source) if plan.untag_banner is not None else None
            span = tag.attribute_span("src")
            if quiet is None or span is None:
                edits.append((tag.start, tag.end, ""))  # no quiet URL for it: the image goes
            else:
                start, end, quote = span
                value = html.escape(quiet, quote=True)
                edits.append((start, end, value if quote else f'"{value}"'))
    return edits


_ANCHOR_END = re.compile(r"</a\s*>", re.I)


def _optout_anchor_spans(text: str, plan: Plan) -> list[tuple[int, int]]:
    """Whole <a> elements (start tag to </a>) whose href is one of our opt-out links."""
    optout = plan.tracker_prefix + OPTOUT_PATH
    if optout not in text:
        return []
    spans: list[tuple[int, int]] = []
    for tag in named_tags(text, ("a",)):
        if spans and tag.start < spans[-1][1]:
            continue  # inside the last one (an <a> never closed): removed with it
        href = tag.attributes().get("href", "").strip(_EDGE_WHITESPACE)
        if href.startswith(optout):
            closing = _ANCHOR_END.search(text, tag.end)  # <a> elements do not nest
            spans.append((tag.start, closing.end() if closing else tag.end))
    return spans


def _text_edits(content: EditableText, plan: Plan) -> list[Edit]:
    text = content.text
    prefix = plan.tracker_prefix
    restore = _link_restorer(plan)
    removed: list[tuple[int, int]] = []
    edits: list[Edit] = []
    for match in TEXT_URL.finditer(text):
        url = match.group(0)
        if prefix and url.startswith(prefix + OPTOUT_PATH):
            removed.append(_optout_line(text, match.start(), match.end()))
        elif prefix and url.startswith(prefix + PIXEL_PATH):
            edits.append((match.start(), match.end(), ""))
        elif prefix and url.startswith(prefix + BANNER_PATH):
            quiet = plan.untag_banner(url) if plan.untag_banner is not None else None
            edits.append((match.start(), match.end(), quiet or ""))
        else:
            new_url = restore(url)
            if new_url is not None and new_url != url:
                edits.append((match.start(), match.end(), new_url))
    edits += [(start, end, "") for start, end in removed]
    return _outside(edits, removed)


def _optout_line(text: str, start: int, end: int) -> tuple[int, int]:
    """Our opt-out footer line ("Tracking options ...: URL", maybe quoted with '>')
    goes whole when the URL ends it and no other link is on it; otherwise only
    the URL goes."""
    newline = text.find("\n", end)  # CRLF or, in some decoded parts, LF alone
    line_end = len(text) if newline < 0 else newline + 1
    line_start = text.rfind("\n", 0, start) + 1
    if text[end:line_end].strip() or "://" in text[line_start:start]:
        return start, end
    return line_start, line_end


def _outside(edits: list[Edit], removed: list[tuple[int, int]]) -> list[Edit]:
    """The edits, minus those inside a removed span (the removal covers them);
    edits never overlap, as EditableText.replace_all requires."""
    if not removed:
        return edits
    spans = set(removed)
    return [
        (s, e, r)
        for s, e, r in edits
        if (s, e) in spans or not any(start <= s and e <= end for start, end in removed)
    ]
