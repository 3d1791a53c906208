"""The JSON API under /api/v1 (bearer tokens) and the CSV export (admins).

Stats answers have the shape of `sigrelay stats --json` (docs/internals.md),
so scripts can move between the two. The events page never carries IPs.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from tracker.dashboard import reads
from tracker.dashboard.auth import Session
from tracker.dashboard.openapi import openapi_document
from tracker.dashboard.pages import SECURITY_HEADERS, admin_page, render, settings
from tracker.store import StoreError
from tracker.store.optout import list_optouts
from tracker.store.reasons import reason_counts, reason_table
from tracker.store.stats import figures

API = "/api/v1"
JsonHandler = Callable[[web.Request], Awaitable[web.Response]]

# A cell starting with one of these is a formula to Excel and LibreOffice; a
# recipient address or link target could carry one (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers=SECURITY_HEADERS)


def _problem(status: int, detail: str) -> web.Response:
    return _json({"error": detail}, status=status)


def api_route(handler: JsonHandler) -> JsonHandler:
    """Only with a configured bearer token (RFC 6750)."""

    async def guarded(request: web.Request) -> web.Response:
        if settings(request).api_tokens.name_of(request.headers.get("Authorization")) is None:
            response = _problem(401, "a valid bearer token is required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="sigrelay"'
            return response
        return await handler(request)

    return guarded


def _int(request: web.Request, name: str) -> int | None:
    value = request.query.get(name, "")
    return int(value) if value.isdigit() else None


@api_route
async def list_campaigns(request: web.Request) -> web.Response:
    config = settings(request)
    result = await config.store.stats(by="campaign")
    seen = {
        row["campaign"]: {k: v for k, v in row.items() if k != "campaign"}
        for row in result["rows"]
        if row["campaign"] is not None
    }
    ids = sorted(set(seen) | set(config.campaign_names))
    return _json(
        {
            "campaigns": [
                {
                    "id": cid,
                    "name": config.campaign_names.get(cid, cid),
                    "totals": seen.get(cid) or figures(0, None),
                }
                for cid in ids
            ]
        }
    )


async def _stats(request: web.Request, campaign: str | None) -> web.Response:
    store = settings(request).store
    try:
        result = await store.stats(by=request.query.get("by"), campaign=campaign)
    except StoreError as exc:
        return _problem(400, str(exc))
    # Why events counted or not: human first, the machines apart (issue 16).
    result["reasons"] = reason_table(await reason_counts(store, campaign))
    return _json(result)


@api_route
async def campaign_stats(request: web.Request) -> web.Response:
    return await _stats(request, request.match_info["campaign"])


@api_route
async def stats(request: web.Request) -> web.Response:
    return await _stats(request, request.query.get("campaign"))


@api_route
async def events(request: web.Request) -> web.Response:
    page = await reads.events_page(
        settings(request).store,
        before=_int(request, "before"),
        limit=_int(request, "limit") or 100,
        campaign=request.query.get("campaign"),
    )
    return _json({"events": [e.as_json() for e in page.events], "next_before": page.next_before})


@api_route
async def optouts(request: web.Request) -> web.Response:
    listed = await list_optouts(settings(request).store)
    return _json({"optouts": len(listed), "by_choice": dict(Counter(o.choice for o in listed))})


async def openapi(request: web.Request) -> web.Response:
    return _json(openapi_document(settings(request).public_url))


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@admin_page
async def export_index(request: web.Request, session: Session) -> web.StreamResponse:
    return render(request, "export.html", {"tables": sorted(reads.exportable_tables())}, session)


@admin_page
async def export_table(request: web.Request, session: Session) -> web.StreamResponse:
    table = reads.exportable_tables().get(request.match_info["table"])
    if table is None:
        return render(request, "not_found.html", {"what": "table"}, session, status=404)
    response = web.StreamResponse(
        headers={
            **SECURITY_HEADERS,
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{table.name}.csv"',
        }
    )
    await response.prepare(request)
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow([column.name for column in table.columns])
    async for row in reads.table_rows(settings(request).store, table):
        out.writerow([_cell(v) for v in row])
        if buffer.tell() > 64 * 1024:
            await response.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    await response.write(buffer.getvalue().encode("utf-8"))
    await response.write_eof()
    return response


def add_api_routes(app: web.Application) -> None:
    app.router.add_get(f"{API}/openapi.json", openapi)
    app.router.add_get(f"{API}/campaigns", list_campaigns)
    app.router.add_get(f"{API}/campaigns/{{campaign}}/stats", campaign_stats)
    app.router.add_get(f"{API}/stats", stats)
    app.router.add_get(f"{API}/events", events)
    app.router.add_get(f"{API}/optouts", optouts)
    app.router.add_get("/admin/export", export_index)
    app.router.add_get("/admin/export/{table}.csv", export_table)
