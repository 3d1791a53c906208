"""The dashboard's pages: login, campaigns, one campaign, opt-outs, events, privacy."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from datetime import timedelta

from aiohttp import web

from config.logfields import quoted
from tracker.dashboard import reads, timeline
from tracker.dashboard.abpanel import variant_rows
from tracker.dashboard.auth import SESSION_COOKIE, SESSION_SECONDS, Session
from tracker.dashboard.pages import (
    admin_page,
    current_session,
    from_our_pages,
    refused_origin,
    render,
    see_other,
    settings,
)
from tracker.dashboard.settings import DashboardSettings
from tracker.dashboard.svg import sparkline
from tracker.dashboard.timeline import Timeline
from tracker.forms import read_form
from tracker.store.abtest import ab_result
from tracker.store.optout import list_optouts
from tracker.store.reasons import reason_counts, reason_table
from tracker.store.retention import forget
from tracker.store.throttle import revoke_session

log = logging.getLogger("sigrelay.tracker.dashboard")

SPARKLINE_DAYS = 30
BREAKDOWNS = ("variant", "group", "domain", "day")


async def login_form(request: web.Request) -> web.StreamResponse:
    if await current_session(request) is not None:
        return see_other("/admin/campaigns")
    return render(
        request, "login.html", {"error": None, "configured": bool(settings(request).admins)}
    )


def _client(request: web.Request) -> str:
    config = settings(request)
    address = config.addresses.client(request.remote, request.headers.get("X-Forwarded-For"))
    return str(address) if address is not None else "unknown"


async def login(request: web.Request) -> web.StreamResponse:
    if not from_our_pages(request):
        return refused_origin()
    form = await read_form(request)
    if form is None:
        return web.Response(status=400, text="The form could not be read.\n")
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    config = settings(request)
    client = _client(request)
    throttle = config.login_throttle
    async with throttle.one_at_a_time(client):  # parallel guesses are checked in turn
        wait = math.ceil(await throttle.refused_for(client, name))
        accepted = False
        if wait == 0:
            accepted = bool(name and password and await config.admins.verify(name, password))
            if not accepted:
                await throttle.failed(client, name)
    if wait > 0:
        # Refused without checking the password: guessing gets no answer at all.
        log.warning(
            "dashboard login refused client=%s reason=throttled retry_after=%d", client, wait
        )
        context = {
            "error": f"Too many failed logins. Try again in {wait} seconds.",
            "configured": bool(config.admins),
        }
        response = render(request, "login.html", context, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    if not accepted:
        # Never the name or password: they may be swapped.
        log.warning("dashboard login failed client=%s", client)
        context = {"error": "Wrong name or password.", "configured": bool(config.admins)}
        return render(request, "login.html", context, status=401)
    await config.login_throttle.succeeded(client, name)
    _, cookie = config.sessions.issue(name)
    response = see_other("/admin/campaigns")
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=config.secure_cookies,
    )
    log.info("dashboard login admin=%s client=%s", quoted(name), client)
    return response


@admin_page
async def logout(request: web.Request, session: Session) -> web.StreamResponse:
    # Ended in the store, not only in this browser: a copy of the cookie dies too.
    await revoke_session(
        settings(request).store, session.nonce, session.issued + SESSION_SECONDS, time.time()
    )
    log.info("dashboard logout admin=%s", quoted(session.admin))
    response = see_other("/admin/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def home(request: web.Request) -> web.StreamResponse:
    return see_other("/admin/campaigns")


def _last_days(rows: list[dict], key: str, days: int, today) -> list[float]:
    by_day = {row["day"]: row[key] for row in rows}
    start = today - timedelta(days=days - 1)
    return [float(by_day.get((start + timedelta(days=i)).isoformat(), 0)) for i in range(days)]


@admin_page
async def campaigns(request: web.Request, session: Session) -> web.StreamResponse:
    config = settings(request)
    result = await config.store.stats(by="campaign")
    seen = {row["campaign"]: row for row in result["rows"]}
    today = config.clock().date()
    listed = []
    # Copies without a campaign count in the totals only.
    for campaign_id in sorted((set(seen) - {None}) | set(config.campaign_names)):
        daily = await config.store.stats(by="day", campaign=campaign_id)
        clicks = _last_days(daily["rows"], "unique_clicks", SPARKLINE_DAYS, today)
        listed.append(
            {
                "id": campaign_id,
                "name": config.campaign_names.get(campaign_id, campaign_id),
                "figures": seen.get(campaign_id) or daily["totals"],
                "sparkline": sparkline(clicks),
            }
        )
    context = {"campaigns": listed, "totals": result["totals"]}
    return render(request, "campaigns.html", context, session)


async def _timeline(config: DashboardSettings, campaign_id: str, daily: list[dict]) -> Timeline:
    """Hours in the campaign's first 48 hours, days after that."""
    now = config.clock()
    start = await reads.campaign_start(config.store, campaign_id)
    if start is None or not timeline.hours_shown(start, now):
        return timeline.daily(daily)
    until = start + timeline.HOURLY_FOR
    per_hour = await reads.events_per_hour(config.store, campaign_id, start, until)
    return timeline.hourly(start, now, per_hour)


@admin_page
async def campaign(request: web.Request, session: Session) -> web.StreamResponse:
    config = settings(request)
    campaign_id = request.match_info["campaign"]
    daily = await config.store.stats(by="day", campaign=campaign_id)
    if not daily["rows"] and campaign_id not in config.campaign_names:
        return render(request, "not_found.html", {"what": "campaign"}, session, status=404)
    breakdowns = {"day": daily["rows"]}
    for by in BREAKDOWNS:
        if by != "day":
            breakdowns[by] = (await config.store.stats(by=by, campaign=campaign_id))["rows"]
    ab = ab_result(campaign_id, breakdowns["variant"])
    assigned = await reads.copies_per_variant(config.store, campaign_id)
    weights = config.campaign_variants.get(campaign_id, {})
    recent = await reads.events_page(config.store, campaign=campaign_id, limit=50)
    context = {
        "campaign_id": campaign_id,
        "name": config.campaign_names.get(campaign_id, campaign_id),
        "totals": daily["totals"],
        "timeline": await _timeline(config, campaign_id, daily["rows"]),
        "breakdowns": breakdowns,
        "ab": ab,
        "variants": variant_rows(weights, assigned, ab),
        "events": recent.events,
        "reasons": reason_table(await reason_counts(config.store, campaign_id)),
    }
    return render(request, "campaign.html", context, session)


@admin_page
async def events(request: web.Request, session: Session) -> web.StreamResponse:
    before = request.query.get("before", "")
    page = await reads.events_page(
        settings(request).store, before=int(before) if before.isdigit() else None
    )
    return render(request, "events.html", {"page": page}, session)


@admin_page
async def optouts(request: web.Request, session: Session) -> web.StreamResponse:
    store = settings(request).store
    listed = await list_optouts(store)
    context = {
        "optouts": listed,
        "choices": Counter(o.choice for o in listed),
        "rows": await reads.optouts_by_domain(store),
    }
    return render(request, "optouts.html", context, session)


@admin_page
async def privacy(request: web.Request, session: Session) -> web.StreamResponse:
    enabled = settings(request).pseudonym_key is not None
    return render(request, "privacy.html", {"enabled": enabled, "error": None}, session)


@admin_page
async def forget_confirm(request: web.Request, session: Session) -> web.StreamResponse:
    """Step one: show what will happen; nothing changes until the admin confirms."""
    address = str((await request.post()).get("address", "")).strip()
    if "@" not in address:
        context = {"enabled": True, "error": "Enter the recipient's e-mail address."}
        return render(request, "privacy.html", context, session, status=400)
    return render(request, "forget_confirm.html", {"address": address}, session)


@admin_page
async def forget_now(request: web.Request, session: Session) -> web.StreamResponse:
    config = settings(request)
    address = str((await request.post()).get("address", "")).strip()
    if config.pseudonym_key is None or "@" not in address:
        return see_other("/admin/privacy")
    result = await forget(config.store, address, config.pseudonym_key, config.clock())
    log.info(
        "dashboard forget admin=%s subject=%s rows=%d", session.admin, result.subject, result.rows
    )
    return render(request, "forgotten.html", {"result": result}, session)


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/admin", home)
    app.router.add_get("/admin/", home)
    app.router.add_get("/admin/login", login_form)
    app.router.add_post("/admin/login", login)
    app.router.add_post("/admin/logout", logout)
    app.router.add_get("/admin/campaigns", campaigns)
    app.router.add_get("/admin/campaigns/{campaign}", campaign)
    app.router.add_get("/admin/events", events)
    app.router.add_get("/admin/optouts", optouts)
    app.router.add_get("/admin/privacy", privacy)
    app.router.add_post("/admin/privacy/forget/confirm", forget_confirm)
    app.router.add_post("/admin/privacy/forget", forget_now)
