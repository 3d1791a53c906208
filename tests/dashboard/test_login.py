"""Admin login, sessions, logout, CSRF and the security headers of every page."""

from __future__ import annotations

from dashboardsite import ADMIN, Dashboard

from tracker.dashboard.auth import SESSION_COOKIE, Sessions
from tracker.dashboard.pages import CSP


async def test_pages_need_a_login(dashboard: Dashboard):
    response, _ = await dashboard.page("/admin/campaigns")
    assert response.status == 303
    assert response.headers["Location"] == "/admin/login"


async def test_right_password_logs_in_with_a_strict_http_only_cookie(dashboard: Dashboard):
    response = await dashboard.login()
    cookie = response.history[0].cookies[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert not cookie["secure"], "the test tracker is plain http"
    page, html = await dashboard.page("/admin/campaigns")
    assert page.status == 200 and ADMIN in html


async def test_wrong_password_is_refused(dashboard: Dashboard):
    response = await dashboard.login(password="wrong")
    assert response.status == 401
    page, _ = await dashboard.page("/admin/campaigns")
    assert page.status == 303


async def test_unknown_admin_is_refused(dashboard: Dashboard):
    response = await dashboard.login(name="mallory")
    assert response.status == 401


async def test_logout_ends_the_session(dashboard: Dashboard):
    await dashboard.login()
    token = await dashboard.csrf("/admin/campaigns")
    response, _ = await dashboard.post("/admin/logout", {"csrf": token})
    assert response.status == 303
    page, _ = await dashboard.page("/admin/campaigns")
    assert page.status == 303


async def test_post_without_the_sessions_csrf_token_is_refused(dashboard: Dashboard):
    await dashboard.login()
    response, _ = await dashboard.post("/admin/logout", {"csrf": "forged"})
    assert response.status == 403
    missing, _ = await dashboard.post("/admin/logout", {})
    assert missing.status == 403


def test_csrf_token_of_another_session_does_not_fit():
    sessions = Sessions(b"k" * 32)
    mine, _ = sessions.issue(ADMIN)
    theirs, _ = sessions.issue(ADMIN)
    assert sessions.csrf_ok(mine, sessions.csrf_token(mine))
    assert not sessions.csrf_ok(mine, sessions.csrf_token(theirs))


def test_altered_or_expired_session_cookie_is_no_session():
    sessions = Sessions(b"k" * 32, lifetime=60)
    _, cookie = sessions.issue(ADMIN, now=1000)
    assert sessions.check(cookie, now=1030) is not None
    assert sessions.check(cookie, now=1061) is None
    name, issued, nonce, mac = cookie.split(".")
    assert sessions.check(f"{name}.{int(issued) + 1}.{nonce}.{mac}", now=1030) is None
    assert Sessions(b"x" * 32).check(cookie, now=1030) is None


async def test_every_dashboard_page_carries_the_strict_security_headers(dashboard: Dashboard):
    for path in ("/admin/login", "/admin/campaigns"):
        response, _ = await dashboard.page(path)
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        # Not no-referrer: under it browsers send `Origin: null` with our own forms.
        assert response.headers["Referrer-Policy"] == "same-origin"
    assert "script-src" not in CSP and "default-src 'none'" in CSP
