"""/admin/preview: any employee's signature, banner and tracking as the relay would send them.

The admin picks an employee, recipients and a sample (new mail or reply); the
copies come from the `PreviewSource` the service handed in (the relay's own
preview, proxy/preview.py), whose tokens no tracker accepts.

Mail content is shown, never run: each copy's HTML sits in an
`<iframe sandbox="" srcdoc="…">`. The empty sandbox gives the frame an opaque
origin with scripts, forms, popups and top navigation all off, and a srcdoc
frame inherits this page's Content-Security-Policy, whose `default-src 'none'`
allows no script either. That policy is the dashboard's, widened for this page
only by what mail needs to look like mail: inline styles and images from
anywhere (a signature's logo sits on the company's web server).
"""

from __future__ import annotations

import logging
import re

from aiohttp import web

from config.logfields import quoted
from tracker.dashboard.auth import Session
from tracker.dashboard.pages import CSP, admin_page, render, settings
from tracker.dashboard.preview_source import KINDS, NEW, PreviewSource, RenderedPreview

log = logging.getLogger("sigrelay.tracker.dashboard")

MAX_RECIPIENTS = 20
DEFAULT_RECIPIENTS = "max.kunde@customer.example, eva@partner.example"
# Mail looks like mail: inline styles and remote images; still no script at all.
PREVIEW_CSP = CSP.replace("img-src 'self' data:", "img-src * data:").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
_SPLIT = re.compile(r"[\s,;]+")


def _form(source: PreviewSource | None, sender: str, recipients: str, kind: str) -> dict:
    employees = list(source.employees()) if source is not None else []
    return {
        "available": source is not None,
        "employees": employees,
        "sender": sender or (employees[0][0] if employees else ""),
        "recipients": recipients,
        "kind": kind,
        "kinds": KINDS,
        "error": None,
        "preview": None,
    }


def _page(request: web.Request, session: Session, context: dict, status: int = 200) -> web.Response:
    response = render(request, "preview.html", context, session, status=status)
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@admin_page
async def preview_form(request: web.Request, session: Session) -> web.StreamResponse:
    context = _form(settings(request).preview, "", DEFAULT_RECIPIENTS, NEW)
    return _page(request, session, context)


def _problem(sender: str, rcpts: list[str], kind: str, employees: set[str]) -> str | None:
    if sender.lower() not in employees:
        return "Choose an employee from the directory."
    if not rcpts or any("@" not in r or r.startswith("@") or r.endswith("@") for r in rcpts):
        return "Enter one or more recipient addresses, separated by commas."
    if len(rcpts) > MAX_RECIPIENTS:
        return f"At most {MAX_RECIPIENTS} recipients."
    if kind not in KINDS:
        return "Choose a new mail or a reply."
    return None


@admin_page
async def preview_render(request: web.Request, session: Session) -> web.StreamResponse:
    source = settings(request).preview
    form = await request.post()  # read and checked by admin_page (CSRF)
    sender = str(form.get("sender", "")).strip()
    recipients = str(form.get("recipients", "")).strip()
    kind = str(form.get("kind", NEW))
    context = _form(source, sender, recipients, kind)
    if source is None:
        return _page(request, session, context, status=404)
    rcpts = [r for r in _SPLIT.split(recipients) if r]
    employees = {address.lower() for address, _ in context["employees"]}
    problem = _problem(sender, rcpts, kind, employees)
    if problem is not None:
        context["error"] = problem
        return _page(request, session, context, status=400)
    result: RenderedPreview = await source.render(sender, tuple(rcpts), kind)
    log.info(
        "dashboard preview admin=%s sender=%s copies=%d",
        quoted(session.admin),
        quoted(sender),
        len(result.copies),
    )
    context["preview"] = result
    return _page(request, session, context)


def add_preview_routes(app: web.Application) -> None:
    app.router.add_get("/admin/preview", preview_form)
    app.router.add_post("/admin/preview", preview_render)
