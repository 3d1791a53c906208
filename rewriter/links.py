"""Which links may be tracked, and rewriting hrefs in place.

A tracked link must lead to exactly the original target: the href's entities
are decoded before `tag_link` sees the URL and the result is escaped again
when written back, in the attribute's own quote style.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from rewriter.html_scan import Tag, named_tags
from rewriter.plan import Plan

TEXT_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_EDGE_WHITESPACE = " \t\n\r\f"  # stripped from URLs by HTML's URL parsing


def is_trackable(url: str, plan: Plan) -> bool:
    """Only http(s) links to other sites; never mailto:, tel:, #anchors, data:,
    our own tracker URLs, or the admin's excluded domains (and their subdomains)."""
    if plan.tracker_prefix and url.startswith(plan.tracker_prefix):
        return False
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    return not any(host == domain or host.endswith("." + domain) for domain in _domains(plan))


def _domains(plan: Plan) -> list[str]:
    return [domain.strip(".").lower() for domain in plan.excluded_domains]


def _write_back(url: str, quote: str) -> str:
    escaped = html.escape(url, quote=True)
    return escaped if quote else f'"{escaped}"'


def href_edits(
    document: str, start: int, end: int, rewrite_url, names=("a", "area")
) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for every href in [start, end) that rewrite_url changes.

    `rewrite_url(url) -> str | None` gets the decoded URL; None leaves the href.
    """
    edits: list[tuple[int, int, str]] = []
    for tag in named_tags(document, names, start, end):
        edit = _href_edit(document, tag, rewrite_url)
        if edit is not None:
            edits.append(edit)
    return edits


def _href_edit(document: str, tag: Tag, rewrite_url) -> tuple[int, int, str] | None:
    span = tag.attribute_span("href")
    if span is None:
        return None
    value_start, value_end, quote = span
    url = html.unescape(document[value_start:value_end]).strip(_EDGE_WHITESPACE)
    new_url = rewrite_url(url)
    if new_url is None or new_url == url:
        return None
    if not quote:  # unquoted value: write it back quoted
        return (value_start, value_end, _write_back(new_url, quote))
    return (value_start, value_end, html.escape(new_url, quote=True))


def tracked_image_spans(
    document: str, start: int, end: int, pixel_prefix: str
) -> list[tuple[int, int]]:
    """Spans of <img> tags whose src is one of our tracking pixels."""
    spans = []
    for tag in named_tags(document, ("img",), start, end):
        source = tag.attributes().get("src", "").strip(_EDGE_WHITESPACE)
        if source.startswith(pixel_prefix):
            spans.append((tag.start, tag.end))
    return spans


def text_url_edits(text: str, start: int, end: int, rewrite_url) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for bare URLs in plain text that rewrite_url changes."""
    edits = []
    for match in TEXT_URL.finditer(text, start, end):
        new_url = rewrite_url(match.group(0))
        if new_url is not None and new_url != match.group(0):
            edits.append((match.start(), match.end(), new_url))
    return edits
