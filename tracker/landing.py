"""Landing pages: a signed visit id on clicks to company sites, /t.js and /t/e.

A click whose target is on one of the company's landing domains is redirected
with `sr_vid=<visit id>` appended (the rest of the URL stays exactly as it
was). The visit id names the copy, signed with the token keyring, so it can
be neither forged nor pointed at someone else's copy. The landing page
includes `<script src="https://tracker/t.js" async></script>`; the script
posts the page view, link clicks and document downloads to `/t/e` with
sendBeacon. Events attach to the copy, exactly like a click: whatever the
copy's privacy mode keeps (a personal copy's recipient, a domain, or nothing
for an anonymous copy) is what the visit is known by.

Who may post to /t/e (issue 14, finding 8: anyone holding a visit id could
inject events):
- CORS: only the landing domains' https origins; anything else is 403
  (`tracker.landing_allow_http = true` admits http:// origins, for a
  development site);
- the reported URL must be on a landing domain too (and https), else 400:
  a visit id copied from a landing page cannot report visits elsewhere;
- at most EVENTS_PER_VISIT events per visit id in VISIT_WINDOW seconds (a
  person reads a page and clicks a few links), counted per tracker node;
  beyond that 429, and nothing is recorded.

Global Privacy Control: a browser that sends `Sec-GPC: 1` (or `DNT: 1`) has
said "do not sell or share" (a valid objection under GDPR Art. 21(5), binding
under the CCPA): its events count without the copy's identity, against the
campaign's stand-in copy (tracker/store/withdrawal.py), or not at all, as
`privacy.gpc` says. Only the header's meaning is used, never kept.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from config.schema import PrivacyMode
from tracker.events import EventSink
from tracker.store import EventRecord
from tracker.store.withdrawal import standin_for
from tracker.tokens import VISIT_PARAMETER, Keyring

log = logging.getLogger("sigrelay.tracker.landing")

PARAMETER = VISIT_PARAMETER
SCRIPT = Path(__file__).resolve().parent / "static" / "t.js"
EVENT_TYPES = {"view": "visit", "link": "link", "download": "download"}
MAX_BODY = 4096
_VID = re.compile(r"^([a-z0-9]{1,4})\.([0-9a-f]{16})\.([A-Za-z0-9_-]{16})$")
_TAG_BYTES = 12
EVENTS_PER_VISIT = 30
VISIT_WINDOW = 600.0
# Visit ids remembered for the rate limit: memory stays bounded under a flood of
# (valid, since they are signed) visit ids; the oldest are forgotten first.
MAX_VISITS_TRACKED = 100_000


def _tag(secret: bytes, key_id: str, copy_id: str) -> str:
    digest = hmac.digest(secret, f"sr_vid.{key_id}.{copy_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest[:_TAG_BYTES]).decode().rstrip("=")


def visit_id(copy_id: str, keyring: Keyring) -> str:
    """`<key id>.<copy id>.<tag>`: 34 to 37 URL-safe characters."""
    key_id = keyring.current
    return f"{key_id}.{copy_id}.{_tag(keyring.keys[key_id], key_id, copy_id)}"


def copy_of_visit(vid: str, keyring: Keyring) -> str | None:
    """The copy id a visit id names, or None if it is forged, altered or of an unknown key."""
    match = _VID.fullmatch(vid)
    if match is None or match.group(1) not in keyring.keys:
        return None
    key_id, copy_id, tag = match.groups()
    expected = _tag(keyring.keys[key_id], key_id, copy_id)
    return copy_id if hmac.compare_digest(expected, tag) else None


def with_visit_id(location: str, vid: str) -> str:
    """The URL with `sr_vid=` added to its query, before any #fragment; nothing else changes."""
    base, hash_sign, fragment = location.partition("#")
    if "?" not in base:
        separator = "?"
    elif base.endswith(("?", "&")):
        separator = ""
    else:
        separator = "&"
    return f"{base}{separator}{PARAMETER}={vid}{hash_sign}{fragment}"


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


# A campaign's few links are clicked by many recipients (the click handler asks
# for every click); the URLs come from tokens we signed, so nobody else fills it.
# By the domains too: a reloaded config's take effect at once.
@functools.lru_cache(maxsize=4096)
def _on_domains(url: str, domains: tuple[str, ...]) -> bool:
    host = _host(url)
    return bool(host) and any(host == d or host.endswith("." + d) for d in domains)


def _never() -> bool:
    return False


def _anonymous() -> str:
    return PrivacyMode.ANONYMOUS


@dataclass(frozen=True)
class LandingSettings:
    """`domains()`, `allow_http()` and `gpc()` are called per request, so a
    reloaded config takes effect at once."""

    domains: Callable[[], tuple[str, ...]]
    allow_http: Callable[[], bool] = field(default=_never)
    gpc: Callable[[], str] = field(default=_anonymous)  # privacy.gpc: anonymous | off

    def is_landing(self, url: str) -> bool:
        domains = self.domains()
        return bool(domains) and _on_domains(url, tuple(domains))

    def may_report(self, url: str) -> bool:
        """An origin or page URL that may report events: https (or http when
        allowed for development) on a landing domain."""
        schemes = ("https://", "http://") if self.allow_http() else ("https://",)
        return url.lower().startswith(schemes) and self.is_landing(url)


class VisitLimiter:
    """At most `limit` events per visit id in `window` seconds (a fixed window
    that starts with the visit's first event)."""

    def __init__(self, limit: int = EVENTS_PER_VISIT, window: float = VISIT_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._visits: OrderedDict[str, tuple[float, int]] = OrderedDict()  # vid -> (start, n)

    def allow(self, vid: str, now: float) -> bool:
        start, count = self._visits.pop(vid, (now, 0))
        if now - start >= self.window:
            start, count = now, 0
        self._visits[vid] = (start, count + 1)  # the newest at the end
        while len(self._visits) > MAX_VISITS_TRACKED:
            self._visits.popitem(last=False)
        return count < self.limit


def landing_location(
    location: str, copy_id: str, keyring: Keyring, domains: tuple[str, ...]
) -> str | None:
    """For the click handler: the redirect location of a copy's click with the
    copy's visit id, or None if the location is not on one of `domains`."""
    if not domains or not _on_domains(location, tuple(domains)):
        return None
    return with_visit_id(location, visit_id(copy_id, keyring))


class _LandingHandlers:
    def __init__(
        self,
        settings: LandingSettings,
        keyring: Keyring,
        events: EventSink,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.events = events
        self.clock = clock
        self.script = SCRIPT.read_bytes()
        self.limiter = VisitLimiter()

    def _cors(self, request: web.Request) -> dict[str, str] | None:
        """CORS headers for an allowed origin; None for any other origin."""
        origin = request.headers.get("Origin")
        if origin is None or not self.settings.may_report(origin):
            return None
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    async def script_js(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=self.script,
            content_type="application/javascript",
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    async def preflight(self, request: web.Request) -> web.Response:
        cors = self._cors(request)
        if cors is None:
            return web.Response(status=403)
        allow = {"Access-Control-Allow-Methods": "POST", "Access-Control-Max-Age": "86400"}
        allow["Access-Control-Allow-Headers"] = "Content-Type"
        return web.Response(status=204, headers={**cors, **allow})

    async def event(self, request: web.Request) -> web.Response:
        cors = self._cors(request)
        if cors is None:
            return web.Response(status=403, text="origin not allowed\n")
        if (request.content_length or 0) > MAX_BODY:
            return web.Response(status=413, headers=cors)
        try:
            body = json.loads(await request.content.read(MAX_BODY + 1))
            vid, kind, url = body["vid"], EVENT_TYPES[body["type"]], body["url"]
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text="bad event\n", headers=cors)
        if not isinstance(url, str) or not self.settings.may_report(url):
            return web.Response(status=400, text="url not on a landing domain\n", headers=cors)
        copy_id = copy_of_visit(vid, self.keyring) if isinstance(vid, str) else None
        target = url[:2048]
        if copy_id is None:
            return web.Response(status=204, headers=cors)  # forged: record nothing, say nothing
        if not self.limiter.allow(vid, self.clock().timestamp()):
            return web.Response(status=429, headers=cors)
        if _asks_not_to_be_tracked(request):
            copy_id = await self._without_identity(copy_id)
            if copy_id is None:
                return web.Response(status=204, headers=cors)
        self.events.submit(EventRecord(copy_id, kind, self.clock(), "human", target))
        return web.Response(status=204, headers=cors)

    async def _without_identity(self, copy_id: str) -> str | None:
        """What a GPC or DNT visit is recorded against: the stand-in copy, or
        None (`privacy.gpc = "off"`, an unknown copy, or the store unreachable:
        then nothing is recorded rather than the copy's identity)."""
        if self.settings.gpc() == PrivacyMode.OFF:
            return None
        try:
            return await standin_for(self.events.store, copy_id)
        except Exception as exc:
            log.warning("landing: GPC visit not recorded: store unreachable: %s", exc)
            return None


def _asks_not_to_be_tracked(request: web.Request) -> bool:
    # Sec-GPC: "1" (GPC spec section 3.1); DNT: "1" (W3C Tracking Preference Expression).
    headers = request.headers
    return headers.get("Sec-GPC", "").strip() == "1" or headers.get("DNT", "").strip() == "1"


def add_routes(
    app: web.Application,
    settings: LandingSettings,
    *,
    keyring: Keyring,
    events: EventSink,
    clock: Callable[[], datetime],
) -> None:
    handlers = _LandingHandlers(settings, keyring, events, clock)
    app.router.add_get("/t.js", handlers.script_js)
    app.router.add_post("/t/e", handlers.event)
    app.router.add_route("OPTIONS", "/t/e", handlers.preflight)
