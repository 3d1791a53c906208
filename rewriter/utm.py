"""UTM parameters on tracked links, so the company's web analytics can tell
which mail campaign brought a visitor (utm_source, utm_medium, utm_campaign…).

A link that already carries any utm_* parameter is left exactly as it is: the
sender (or a marketing tool) chose its attribution, and mixing two would
split one visit across two campaigns. Only http(s) links get them; the
original query string is kept byte for byte and the parameters are appended,
before the fragment.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit


def with_utm(url: str, params: Mapping[str, str]) -> str:
    if not params:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    present = parse_qsl(parts.query, keep_blank_values=True)
    if any(name.lower().startswith("utm_") for name, _ in present):
        return url
    base, hash_mark, fragment = url.partition("#")
    joiner = "&" if parts.query else ("" if base.endswith("?") else "?")
    return f"{base}{joiner}{urlencode(dict(params))}{hash_mark}{fragment}"
