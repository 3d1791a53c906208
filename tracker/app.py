"""The tracker's HTTP face: pixel, hosted banner, click redirect, health.

Handlers are thin: write down the request's facts as a hit and hand it to the
event sink (which never blocks), answer. Reading a hit as an event (the token's
signature, the verdict, the address) is the event pipeline's, done in batches
by the writer's process (tracker/events/). The request's IP address is read to
classify it and is not stored, unless `store_ip="truncated"`: then its /24 or
/48 network is (DESIGN.md).

A click redirects only to a link a token we signed carries (never an open
redirect). The first click on a link checks its token here; the link is then
known, and later clicks on it redirect at once, their tokens checked when the
hit is read. So a forged or altered token that carries a known link leads to
that link (which every recipient of the mail has) and counts nothing; any
other gets the error page. Landing pages are the exception: their location
names the copy (a signed visit id), so every click on one is checked here.

Answers never depend on the store: the pixel is always a GIF, a click on a
valid link always redirects, even while the database is down.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from aiohttp import hdrs, web
from multidict import CIMultiDict

from tracker.dashboard import DashboardSettings
from tracker.dashboard import add_routes as add_dashboard_routes
from tracker.events import EventSink, Hit, Read
from tracker.events.hit import new_tuple
from tracker.images import ImageLookup
from tracker.images import add_routes as add_image_routes
from tracker.landing import LandingSettings, landing_location
from tracker.landing import add_routes as add_landing_routes
from tracker.optout import OptOutSettings
from tracker.optout import add_routes as add_optout_routes
from tracker.tokens import (
    MAX_SHORT_TOKEN_CHARS,
    UNTRACKED_COPY_ID,
    Keyring,
    Kind,
    copy_and_target,
    decode,
    unverified_link,
)

log = logging.getLogger("sigrelay.tracker.app")

# The smallest transparent GIF (1x1, GIF89a with a transparency extension).
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
# Every fetch must reach us to be counted; no cache may answer in our place.
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0", "Pragma": "no-cache"}
_PIXEL_HEADERS = CIMultiDict({"Content-Type": "image/gif", **NO_STORE})  # built once
_REDIRECT_HEADERS = {"Referrer-Policy": "no-referrer", **NO_STORE}
# An untracked banner counts nothing, so mail programs and proxies may cache it.
CACHEABLE = {"Cache-Control": "public, max-age=86400"}
BAD_LINK_PAGE = (
    "This link is not valid. It may have been altered or cut short.\n"
    "Please use the link from the original message.\n"
)
HEALTH_TIMEOUT = 2.0
# Printable ASCII stays as written; anything else in a target is percent-encoded
# (UTF-8), since HTTP header values must be ASCII (RFC 9110 5.5).
_LOCATION_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))

BannerFile = Callable[[str, str], Path | None]
StorePing = Callable[[], Awaitable[None]]
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


# A campaign's few links are clicked by many recipients: their checks are cached
# (targets come only from tokens we signed, so nobody else can fill the cache).
@functools.lru_cache(maxsize=4096)
def redirect_target(target: str) -> str | None:
    """The Location for a click target, or None if we must not redirect there:
    only absolute http(s) URLs (never javascript:, data:, or header injection)."""
    # Control characters could split the Location header; a space is only quoted
    # (to %20), as the recipient's browser would have done with the original href.
    if any(ord(c) < 0x20 or c == "\x7f" for c in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(target, safe=_LOCATION_SAFE)


@functools.lru_cache(maxsize=4096)
def _redirect_headers(target: str) -> dict[str, str] | None:
    """A click's response headers, built once per link (None: no redirect there)."""
    location = redirect_target(target)
    return None if location is None else {"Location": location, **_REDIRECT_HEADERS}


# A hit keeps at most this much of the User-Agent and X-Forwarded-For headers
# (aiohttp takes up to 8 KB each): hits wait in memory, up to the writer's
# bound in number. The agent rules match far shorter texts; the rightmost hops
# of X-Forwarded-For are the ones believed.
MAX_AGENT_CHARS = 1000
MAX_FORWARDED_CHARS = 500
# Links a checked click token led to, remembered by the click handler (the
# oldest is forgotten first): a campaign's or a signature's few links.
MAX_KNOWN_LINKS = 4096


def _no_landing_domains() -> tuple[str, ...]:
    return ()


# The count of requests whose token was not ours, for /metrics (tracker/metrics.py).
REFUSED_TOKENS = web.AppKey("refused_tokens", Callable[[], int])


class _Handlers:
    refused = 0  # requests whose token was found not ours here (not by the event pipeline)

    def __init__(
        self,
        keyring: Keyring,
        events: EventSink,
        banner_file: BannerFile,
        store_ping: StorePing | None,
        now: Callable[[], float],
        trusted_proxies: bool,
        landing_domains: Callable[[], tuple[str, ...]],
        config_health: Callable[[], Mapping[str, object] | None],
    ) -> None:
        self.keyring = keyring
        self.config_health = config_health
        self.events = events
        self.hit = events.submit_hit  # looked up once: called on every request
        self.banner_file = banner_file
        self.store_ping = store_ping
        self.now = now
        self.trusted_proxies = trusted_proxies
        self.landing_domains = landing_domains
        # The redirect headers of links whose click tokens were checked, by the
        # link's bytes in a token; judged with these landing domains.
        self._known_links: dict[bytes, dict[str, str]] = {}
        self._known_for: tuple[str, ...] | None = None

    def _record(self, request: web.Request, kind: str, token: str | Read) -> None:
        # Every pixel and click comes through here: only the request's facts are
        # taken, the event is read from them by the pipeline (tracker/events/).
        headers = request.headers
        agent = headers.get(hdrs.USER_AGENT)
        if agent is not None and len(agent) > MAX_AGENT_CHARS:
            agent = agent[:MAX_AGENT_CHARS]
        forwarded = None
        if self.trusted_proxies:
            forwarded = headers.get(hdrs.X_FORWARDED_FOR)
            if forwarded is not None:
                forwarded = forwarded[-MAX_FORWARDED_CHARS:]
        facts = (kind, token, request.method, agent, request.remote, forwarded, self.now())
        self.hit(new_tuple(Hit, facts))

    async def pixel(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        # Whether the token is ours is found when the hit is read: a forged one
        # gets the same GIF (a broken image would tell a prober nothing useful,
        # and a recipient's mail would show a broken image) and counts nothing.
        if len(token) <= MAX_SHORT_TOKEN_CHARS:
            self._record(request, "open", token)
        else:
            self.refused += 1
        return web.Response(body=PIXEL_GIF, headers=_PIXEL_HEADERS)

    async def banner(self, request: web.Request) -> web.StreamResponse:
        token = decode(request.match_info["token"], self.keyring, Kind.BANNER)
        if token is None or token.target is None:
            self.refused += 1
            return web.Response(status=404, text="no such banner\n")
        campaign, _, variant = token.target.partition("/")
        path = self.banner_file(campaign, variant)
        if path is None or not path.is_file():
            return web.Response(status=404, text="no such banner\n")
        if token.copy_id == UNTRACKED_COPY_ID:
            return web.FileResponse(path, headers=CACHEABLE)
        self._record(request, "impression", (token.copy_id, None))
        return web.FileResponse(path, headers=NO_STORE)

    async def click(self, request: web.Request) -> web.Response:
        text = request.match_info["token"]
        domains = self.landing_domains()
        if domains is not self._known_for:  # a reloaded config: landing pages may differ
            self._known_links, self._known_for = {}, domains
        headers = self._known_links.get(unverified_link(text, self.keyring))  # type: ignore[arg-type]
        if headers is None:
            return self._checked_click(request, text, domains)
        # A link a token we signed led to before, not a landing page (whose
        # location names the copy): anyone may be sent there, like anyone who has
        # the mail. Which copy clicked is checked when the hit is read: a forged
        # or altered token counts nothing. The HMAC here, on every click, cost
        # about a tenth of the clicks a core answers (bench/tracker.py).
        self._record(request, "click", text)
        # A returned response, not `raise HTTPFound`: raising halves aiohttp's rate.
        return web.Response(status=302, headers=headers)

    def _checked_click(
        self, request: web.Request, text: str, domains: tuple[str, ...]
    ) -> web.Response:
        fields = copy_and_target(text, self.keyring, Kind.CLICK)
        headers = _redirect_headers(fields[1]) if fields and fields[1] else None
        if fields is None or headers is None:
            # Never an open redirect: a link we did not sign leads nowhere.
            self.refused += 1
            return web.Response(status=400, text=BAD_LINK_PAGE, headers=NO_STORE)
        self._record(request, "click", fields)
        landing = landing_location(headers["Location"], fields[0], self.keyring, domains)
        if landing is not None:
            return web.Response(status=302, headers={**headers, "Location": landing})
        known = self._known_links
        if len(known) >= MAX_KNOWN_LINKS:
            del known[next(iter(known))]
        known[unverified_link(text, self.keyring)] = headers  # type: ignore[index]
        return web.Response(status=302, headers=headers)

    async def healthz(self, request: web.Request) -> web.Response:
        # The store being down degrades, but does not stop, the tracker: events are
        # journaled and links keep working. So it stays 200 and a load balancer keeps
        # sending traffic; monitoring reads "status" and "store".
        store = "unchecked"
        if self.store_ping is not None:
            try:
                async with asyncio.timeout(HEALTH_TIMEOUT):
                    await self.store_ping()
                store = "ok"
            except Exception as exc:
                log.warning("health check: store unreachable: %s", exc)
                store = "unreachable"
        # A rejected configuration change: the running one goes on, but the
        # admin must hear of it (until a good load), not read "ok".
        config = self.config_health()
        config_ok = config is None or config.get("status") == "ok"
        body: dict[str, object] = {
            "status": "ok" if store != "unreachable" and config_ok else "degraded",
            "store": store,
            "pending_events": self.events.pending,
            "journaled_events": self.events.journaled,
        }
        if config is not None:
            body["config"] = dict(config)
        return web.json_response(body, headers=NO_STORE)


def make_app(
    keyring: Keyring,
    events: EventSink,
    banner_file: BannerFile,
    *,
    store_ping: StorePing | None = None,
    clock: Clock = _utc_now,
    optout: OptOutSettings | None = None,
    dashboard: DashboardSettings | None = None,
    landing: LandingSettings | None = None,
    config_health: Callable[[], Mapping[str, object] | None] = lambda: None,
    images: ImageLookup | None = None,
) -> web.Application:
    """The tracker application. Events go to `events` (tracker/events/: how
    hits are read, the classifier, the client's address, is its reader's);
    `banner_file(campaign, variant)` names a variant's image (or None);
    `store_ping` raises when the store is unreachable (default: the ping of
    the events' store); `config_health()`: how the running configuration's
    last reload went, for /healthz (None: not watched); `images(name)`: the
    signature image served at /i/<name> (None: no such route)."""
    reader = events.reader
    handlers = _Handlers(
        keyring,
        events,
        banner_file,
        store_ping if store_ping is not None else events.store.ping,
        time.time if clock is _utc_now else lambda: clock().timestamp(),
        reader is not None and bool(reader.addresses.trusted),
        landing.domains if landing is not None else _no_landing_domains,
        config_health,
    )
    app = web.Application()
    # Those the event pipeline finds (hits it reads) and those found here.
    app[REFUSED_TOKENS] = lambda: handlers.refused + events.refused
    app.router.add_get(f"/{Kind.OPEN.value}/{{token}}", handlers.pixel)
    app.router.add_get(f"/{Kind.BANNER.value}/{{token}}", handlers.banner)
    app.router.add_get(f"/{Kind.CLICK.value}/{{token}}", handlers.click)
    app.router.add_get("/healthz", handlers.healthz)
    if optout is not None:  # /u/<token>: the opt-out page (tracker/optout.py)
        add_optout_routes(app, optout, keyring=keyring, events=events, clock=clock)
    if dashboard is not None:  # /admin/..., /api/v1/... (tracker/dashboard/)
        add_dashboard_routes(app, dashboard)
    if landing is not None:  # /t.js, /t/e and sr_vid on clicks (tracker/landing.py)
        add_landing_routes(app, landing, keyring=keyring, events=events, clock=clock)
    if images is not None:  # /i/<name>: signature images, never counted (tracker/images.py)
        add_image_routes(app, images)
    return app
