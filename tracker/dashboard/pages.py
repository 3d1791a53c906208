"""Rendering pages and guarding them: templates, security headers, login checks.

Every dashboard and API response carries a strict Content-Security-Policy: no
script runs at all (charts are server-side SVG), styles only from our own
static file, forms only post back to us, and no site may frame us. With
autoescaping in the templates that is two independent walls against a
recipient address or link target that carries markup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from tracker.dashboard.auth import SESSION_COOKIE, Session
from tracker.dashboard.figures import COLUMNS, TITLES, figure_cells
from tracker.dashboard.settings import DashboardSettings

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
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


def settings(request: web.Request) -> DashboardSettings:
    return request.app[SETTINGS_KEY]


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


def current_session(request: web.Request) -> Session | None:
    return settings(request).sessions.check(request.cookies.get(SESSION_COOKIE))


def admin_page(handler: AdminHandler) -> Handler:
    """Only for a logged-in admin; a POST also needs the session's CSRF token."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        session = current_session(request)
        if session is None:
            return see_other("/admin/login")
        if request.method == "POST":
            form = await request.post()
            token = form.get("csrf")
            if not settings(request).sessions.csrf_ok(
                session, token if isinstance(token, str) else None
            ):
                return secured(
                    web.Response(status=403, text="The form expired or did not come from us.\n")
                )
        return await handler(request, session)

    return guarded
