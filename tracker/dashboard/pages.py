"""Rendering pages and guarding them: templates, security headers, login checks.

Every dashboard and API response carries a strict Content-Security-Policy: no
script runs at all (charts are server-side SVG), styles only from our own
static file, forms only post back to us, and no site may frame us. With
autoescaping in the templates that is two independent walls against a
recipient address or link target that carries markup.

Every POST (the login, and each form of a logged-in admin) must come from
one of our own pages: a browser names the page's origin in `Origin` on every
POST, so one from another site (or `null`, a sandboxed or privacy-stripped
one) is refused 403 (OWASP CSRF cheat sheet, "Verifying origin with standard
headers"). The pages send `Referrer-Policy: same-origin`, since under
`no-referrer` browsers send `Origin: null` even to us. Admin forms carry the
session's CSRF token as well.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from tracker.dashboard.auth import SESSION_COOKIE, Session
from tracker.dashboard.figures import COLUMNS, TITLES, figure_cells
from tracker.dashboard.settings import DashboardSettings
from tracker.forms import read_form
from tracker.store.throttle import session_revoked

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

SETTINGS_KEY = web.AppKey("dashboard_settings", DashboardSettings)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AdminHandler = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every template, whatever its name
    undefined=jinja2.StrictUndefined,
)
_env.filters["percent"] = lambda value: f"{float(value or 0):.1%}"
_env.filters["figure_cells"] = figure_cells
_env.globals["figure_titles"] = TITLES
_env.globals["figure_columns"] = len(COLUMNS)


_REQUEST_SETTINGS = web.RequestKey("dashboard_settings", DashboardSettings)


def settings(request: web.Request) -> DashboardSettings:
    """The settings of this request: read from the running config at its first
    use, then the same for the whole request (config/running.py)."""
    found = request.get(_REQUEST_SETTINGS)
    if found is None:
        found = request[_REQUEST_SETTINGS] = request.app[SETTINGS_KEY].for_request()
    return found


def secured(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.update(SECURITY_HEADERS)
    return response


def see_other(location: str) -> web.Response:
    """303: after a POST the browser GETs the next page (no resubmission on reload)."""
    return secured(web.Response(status=303, headers={"Location": location}))


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any],
    session: Session | None = None,
    status: int = 200,
) -> web.Response:
    if session is not None:
        context = {
            "admin": session.admin,
            "csrf": settings(request).sessions.csrf_token(session),
            **context,
        }
    context.setdefault("admin", None)
    html = _env.get_template(template).render(**context)
    return secured(web.Response(text=html, content_type="text/html", status=status))


async def current_session(request: web.Request) -> Session | None:
    """The session of the request's cookie, unless it expired or was logged out."""
    config = settings(request)
    session = config.sessions.check(request.cookies.get(SESSION_COOKIE))
    if session is None or await session_revoked(config.store, session.nonce):
        return None
    return session


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def from_our_pages(request: web.Request) -> bool:
    """False for a POST a browser sent from another site's page."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser (every browser sends Origin on POST): no CSRF
    ours = {f"{request.scheme}://{request.host}".lower()}
    if settings(request).public_url:
        ours.add(_origin(settings(request).public_url))
    return origin.lower() in ours


def refused_origin() -> web.Response:
    return secured(web.Response(status=403, text="The form did not come from our pages.\n"))


def admin_page(handler: AdminHandler) -> Handler:
    """Only for a logged-in admin; a POST must come from our pages and carry the
    session's CSRF token."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        session = await current_session(request)
        if session is None:
            return see_other("/admin/login")
        if request.method == "POST":
            if not from_our_pages(request):
                return refused_origin()
            form = await read_form(request)
            if form is None:
                return secured(web.Response(status=400, text="The form could not be read.\n"))
            token = form.get("csrf")
            if not settings(request).sessions.csrf_ok(
                session, token if isinstance(token, str) else None
            ):
                return secured(
                    web.Response(status=403, text="The form expired or did not come from us.\n")
                )
        return await handler(request, session)

    return guarded
