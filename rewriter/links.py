"""Which links may be tracked, and rewriting hrefs in place.

A tracked link must lead to exactly the original target: the href's entities
are decoded before `tag_link` sees the URL and the result is escaped again
when written back, in the attribute's own quote style.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from rewriter.plan import Plan

TEXT_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_EDGE_WHITESPACE = " \t\n\r\f"  # stripped from URLs by HTML's URL parsing


# The common shape, read without urlsplit (which costs more than the rest of
# tagging one link): scheme, a plain host, an optional port, then a path or nothing.
# Anything else (user info, IPv6, odd characters) goes through urlsplit.
_PLAIN_HTTP_URL = re.compile(r"(?i)https?://([^/?#@:\[\]\s\\]+)(?::[0-9]*)?(?=[/?#]|\Z)")


def is_trackable(url: str, plan: Plan) -> bool:
    """Only http(s) links to other sites; never mailto:, tel:, #anchors, data:,
    our own tracker URLs, or the admin's excluded domains (and their subdomains)."""
    if plan.tracker_prefix and url.startswith(plan.tracker_prefix):
        return False
    plain = _PLAIN_HTTP_URL.match(url)
    if plain is not None:
        host = plain.group(1).rstrip(".").lower()
    else:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").rstrip(".").lower()
        except ValueError:
            return False
        if parts.scheme.lower() not in ("http", "https") or not host:
            return False
    if not host:
        return False
    if not plan.excluded_domains:
        return True
    return not any(host == domain or host.endswith("." + domain) for domain in _domains(plan))


def _domains(plan: Plan) -> list[str]:
    return [domain.strip(".").lower() for domain in plan.excluded_domains]


# The first href of an <a> or <area> tag, found in one regex pass (no Tag objects:
# building one per tag cost more than the search on link-heavy newsletters).
# Whole quoted values are skipped, so an "href=" inside another value is not taken;
# the first of repeated attributes wins, as in HTML; a tag never closed is no link.
_LINK_HREF = re.compile(
    r"""<(?:a|area)(?=[\s/>])(?:[^>"']|"[^"]*"|'[^']*')*?(?:\s|(?<=["'/]))href\s*=\s*"""
    r"""(?:"([^"]*)"|'([^']*)'|([^\s>"'][^\s>]*))(?:[^>"']|"[^"]*"|'[^']*')*>""",
    re.I,
)


def href_edits(document: str, start: int, end: int, rewrite_url) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for every link href in [start, end) that rewrite_url changes.

    `rewrite_url(url) -> str | None` gets the decoded URL; None leaves the href.
    """
    edits: list[tuple[int, int, str]] = []
    for found in _LINK_HREF.finditer(document, start, end):
        group = found.lastindex  # 1 "double", 2 'single' or 3 unquoted
        value_start, value_end = found.span(group)
        url = html.unescape(found.group(group)).strip(_EDGE_WHITESPACE)
        new_url = rewrite_url(url)
        if new_url is None or new_url == url:
            continue
        escaped = html.escape(new_url, quote=True)
        # an unquoted value is written back quoted
        edits.append((value_start, value_end, escaped if group != 3 else f'"{escaped}"'))
    return edits


def text_url_edits(text: str, start: int, end: int, rewrite_url) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for bare URLs in plain text that rewrite_url changes."""
    edits = []
    for match in TEXT_URL.finditer(text, start, end):
        new_url = rewrite_url(match.group(0))
        if new_url is not None and new_url != match.group(0):
            edits.append((match.start(), match.end(), new_url))
    return edits
