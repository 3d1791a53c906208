"""Who fetched a tracker URL: a person, or a machine acting around them.

A first, simple verdict from the request alone (method and user agent). The
network lists (Apple Private Relay egress ranges for Mail Privacy Protection,
scanner networks) and timing rules (clicks seconds after delivery, all links
at once) come later, as a data file admins can extend (issue 6).
Only the verdict is kept; the request itself (IP, agent) never reaches the store.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Verdict(StrEnum):
    HUMAN = "human"
    PROXY = "proxy"  # a mail provider's image proxy: fetches on a real open (cached)
    PREFETCH = "prefetch"  # fetched for the recipient whether they look or not (Apple MPP)
    SCANNER = "scanner"  # security scanners and link checkers: nobody opened or clicked


# Gmail (since 2013) and Yahoo Mail load images through their own proxies, on open.
PROXY_AGENTS = ("googleimageproxy", "yahoomailproxy")

# Agents that announce themselves as link checkers, previewers and security
# gateways. Most mail scanners (Safe Links, Proofpoint) send browser agents
# instead; those are caught by network and timing later, not here.
SCANNER_AGENTS = (
    "barracuda",
    "mimecast",
    "proofpoint",
    "forcepoint",
    "trendmicro",
    "symantec",
    "bingpreview",
    "microsoft office existence discovery",
    "ms-office-linkcheck",
    "skypeuripreview",
    "slackbot",
    "facebookexternalhit",
    "twitterbot",
    "linkedinbot",
    "discordbot",
    "whatsapp",
    "telegrambot",
    "googlebot",
    "bingbot",
    "urlscan",
    "virustotal",
    "crawler",
    "spider",
    "headlesschrome",
)


# One search per list instead of one per marker: this runs on every pixel and click.
_PROXY = re.compile("|".join(map(re.escape, PROXY_AGENTS)), re.IGNORECASE)
_SCANNER = re.compile("|".join(map(re.escape, SCANNER_AGENTS)), re.IGNORECASE)


def classify(method: str, user_agent: str | None) -> Verdict:
    """The verdict for one request. Pure: the same facts give the same verdict."""
    agent = user_agent or ""
    if _PROXY.search(agent):
        return Verdict.PROXY
    # A HEAD asks whether the URL exists without looking at it: link checkers do, people don't.
    if method.upper() == "HEAD" or _SCANNER.search(agent):
        return Verdict.SCANNER
    return Verdict.HUMAN
