"""The opt-out page: `/u/<token>` (DESIGN.md "Tokens and the tracker").

GET shows the recipient's choices and changes nothing: mail security
scanners and link checkers fetch every link with GET, and must never opt
anyone out. Only a POST of the page's form changes the list. The token is
the capability (signed, bound to one recipient), so a forged POST from
another site could only ever change the choice of the recipient whose link
the forger already holds; still, a POST whose Origin is some other site is
refused. The page loads nothing from outside, and its CSP allows nothing but
its own inline style (by hash) and posting to itself.

A token names its recipient either directly (the keyed hash: domain and
anonymous copies, whose store rows name nobody) or through its copy (personal
copies: the copy row holds the address, or its pseudonym once forgotten).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiDictProxy

from tracker.consent import GIVE, HOW, VERSIONS, WITHDRAW, consent_form, done_text
from tracker.events import EventSink
from tracker.forms import read_form
from tracker.optout_texts import TEXTS, Texts, language_for, named
from tracker.recipients import recipient_key_of_stored
from tracker.store import EventRecord, Store
from tracker.store.optout import (
    OPTOUT_CHOICES,
    OptOutChoice,
    add_consent,
    consents_of,
    opt_in,
    opt_out,
    optouts_of,
    recipient_of_copy,
    remove_consent,
)
from tracker.tokens import Keyring, Kind, Token, decode

log = logging.getLogger("sigrelay.tracker.optout")

OPT_IN = "in"
_STYLE = (
    "body{font-family:sans-serif;max-width:34em;margin:2em auto;padding:0 1em;color:#222}"
    "label{display:block;margin:.6em 0}button{margin-top:1em;padding:.4em 1.2em}"
    ".note{color:#555;font-size:.9em}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
PAGE_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}

Clock = Callable[[], datetime]
Resolved = tuple[Token, str] | web.Response  # (token, recipient key) or the error page


def _page(texts: Texts, title: str, body: str, status: int = 200) -> web.Response:
    html = (
        f'<!DOCTYPE html><html lang="{texts.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS
    )


def _form(texts: Texts, intro: str, current: str | None) -> str:
    options = [(choice, texts.choices[choice]) for choice in OPTOUT_CHOICES]
    if current is not None:
        options.append((OPT_IN, texts.opt_in))
    checked = current if current is not None else OPTOUT_CHOICES[-1]
    radios = "".join(
        f'<label><input type="radio" name="choice" value="{value}"'
        f"{' checked' if value == checked else ''}> {escape(label)}</label>"
        for value, label in options
    )
    status = texts.status[current] if current else texts.status[OPT_IN]
    return (
        f"<p>{escape(intro)}</p><p class=note>{escape(status)}</p>"
        f'<form method="post">{radios}<button type="submit">{escape(texts.confirm)}</button></form>'
    )


class _OptOutHandlers:
    def __init__(
        self,
        keyring: Keyring,
        store: Store,
        pseudonym_key: bytes,
        events: EventSink,
        clock: Clock,
        public_url: str | None,
        company: Callable[[], str],
    ) -> None:
        self.keyring = keyring
        self.company = company  # [company] name, asked per request (reloads apply at once)
        self.store = store
        self.pseudonym_key = pseudonym_key
        self.events = events
        self.clock = clock
        self.public_origin = _origin(public_url) if public_url else None
        self.consent: OptOutSettings | None = None  # asks for consent too, when set

    def _texts(self, request: web.Request) -> Texts:
        # The copy's language rides on the link (?lang=); the form posts to the same URL.
        named = request.query.get("lang")
        return TEXTS[language_for(request.headers.get("Accept-Language"), named)]

    def _error(self, texts: Texts, status: int, message: str) -> web.Response:
        return _page(texts, texts.error_title, f"<p>{escape(message)}</p>", status)

    async def _recipient_key(self, token: Token) -> str | None:
        if token.recipient is not None:
            return token.recipient
        stored = await recipient_of_copy(self.store, token.copy_id)
        return recipient_key_of_stored(stored, self.pseudonym_key) if stored else None

    async def _resolve(self, request: web.Request, texts: Texts) -> Resolved:
        token = decode(request.match_info["token"], self.keyring, Kind.OPTOUT)
        if token is None:
            # Forged, altered or cut short: nothing recorded, nothing said about why.
            return self._error(texts, 400, texts.bad_link)
        try:
            key = await self._recipient_key(token)
        except Exception as exc:
            log.warning("opt-out page: store unreachable: %s", exc)
            return self._error(texts, 503, texts.try_later)
        if key is None:
            return self._error(texts, 404, texts.unknown_copy)
        return token, key

    async def show(self, request: web.Request) -> web.Response:
        texts = self._texts(request)
        resolved = await self._resolve(request, texts)
        if isinstance(resolved, web.Response):
            return resolved
        _, key = resolved
        try:
            current = (await optouts_of(self.store, [key])).get(key)
            consented = self.consent is not None and key in await consents_of(self.store, [key])
        except Exception as exc:
            log.warning("opt-out page: store unreachable: %s", exc)
            return self._error(texts, 503, texts.try_later)
        title, intro = named(texts, self.company())
        body = _form(texts, intro, current)
        if self.consent is not None:
            body = consent_form(texts.lang, consented) + body
        return _page(texts, title, body)

    def _foreign_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        # None: old browsers and other clients. "null": what a browser sends
        # for our own form, since the page's Referrer-Policy is no-referrer.
        if origin is None or origin == "null":
            return False
        own = {_origin(f"{request.scheme}://{request.host}")}
        if self.public_origin:
            own.add(self.public_origin)
        return origin.rstrip("/").lower() not in own

    async def confirm(self, request: web.Request) -> web.Response:
        texts = self._texts(request)
        if self._foreign_origin(request):
            return self._error(texts, 403, texts.bad_link)
        form = await read_form(request)
        if form is None:
            return self._error(texts, 400, texts.no_choice)
        if self.consent is not None and "consent" in form:
            return await self._consent(request, texts, form)
        choice = form.get("choice")
        if choice not in (*OPTOUT_CHOICES, OPT_IN):
            return self._error(texts, 400, texts.no_choice)
        resolved = await self._resolve(request, texts)
        if isinstance(resolved, web.Response):
            return resolved
        token, key = resolved
        try:
            if choice == OPT_IN:
                await opt_in(self.store, key)
            else:
                await opt_out(self.store, key, str(choice), self.clock())
        except Exception as exc:
            log.warning("opt-out not recorded: store unreachable: %s", exc)
            return self._error(texts, 503, texts.try_later)
        if choice != OPT_IN and token.recipient is None:
            # Counted against the copy the link came from; a link that names
            # only the recipient has no copy to count against (stats stay anonymous).
            self.events.submit(EventRecord(token.copy_id, "optout", self.clock()))
        log.info("opt-out choice=%s", choice)  # never the key: it names a person
        title = named(texts, self.company())[0]
        return _page(texts, title, f"<p>{escape(texts.done[str(choice)])}</p>")

    async def _consent(
        self, request: web.Request, texts: Texts, form: MultiDictProxy
    ) -> web.Response:
        """Give or withdraw consent (privacy.require_consent). The receipt keeps
        when, which button, and the version of the statement the form showed."""
        action, version = form.get("consent"), form.get("version")
        if action not in HOW or version not in VERSIONS:
            return self._error(texts, 400, texts.no_choice)
        resolved = await self._resolve(request, texts)
        if isinstance(resolved, web.Response):
            return resolved
        _, key = resolved
        assert self.consent is not None
        # Withdrawn: what a recipient without consent gets holds at once, also for
        # the copies sent before (tracker/store/withdrawal.py; GDPR Art. 7(3)).
        then = OptOutChoice.capped_to(self.consent.without_consent)
        try:
            if action == GIVE:
                await add_consent(self.store, key, self.clock(), HOW[GIVE], str(version))
            else:
                await remove_consent(
                    self.store, key, self.clock(), HOW[WITHDRAW], str(version), then=then
                )
        except Exception as exc:
            log.warning("consent not recorded: store unreachable: %s", exc)
            return self._error(texts, 503, texts.try_later)
        log.info("consent action=%s", action)  # never the key: it names a person
        title = named(texts, self.company())[0]
        return _page(texts, title, f"<p>{escape(done_text(texts.lang, str(action)))}</p>")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(frozen=True)
class OptOutSettings:
    store: Store
    pseudonym_key: bytes = field(repr=False)
    public_url: str | None = None  # its origin may POST besides the request's own host
    # privacy.require_consent: the page also asks for consent (tracker/consent.py).
    require_consent: bool = False
    without_consent: str = "anonymous"  # privacy.without_consent: anonymous | off
    # [company] name, named on the page ("our e-mails" when empty); called per
    # request, so a reloaded name shows at once.
    company: Callable[[], str] = field(default=lambda: "")


def add_routes(
    app: web.Application,
    settings: OptOutSettings,
    *,
    keyring: Keyring,
    events: EventSink,
    clock: Clock,
) -> None:
    """GET and POST `/u/<token>`."""
    handlers = _OptOutHandlers(
        keyring,
        settings.store,
        settings.pseudonym_key,
        events,
        clock,
        settings.public_url,
        settings.company,
    )
    handlers.consent = settings if settings.require_consent else None
    path = f"/{Kind.OPTOUT.value}/{{token}}"
    app.router.add_get(path, handlers.show)
    app.router.add_post(path, handlers.confirm)
