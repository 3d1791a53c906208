"""Issue 14, finding 5: the dashboard login is throttled per client IP and per
admin name, argon2's memory is bounded, POSTs from other sites are refused,
and logout ends the session on the server. Time is an injected clock."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from dashboardsite import ADMIN, PASSWORD, Dashboard, dashboard_settings, serve_dashboard

from tracker.clientip import ClientAddresses
from tracker.dashboard.auth import SESSION_COOKIE, Admins, LoginThrottle, hash_password
from tracker.store import Store
from tracker.store.throttle import Throttle

MIB = 1024 * 1024


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def site(tmp_path: Path, store: Store, clock: Clock) -> AsyncIterator[Dashboard]:
    """The dashboard behind a trusted proxy on loopback, so a test can log in
    "from" any address with X-Forwarded-For."""
    settings = dashboard_settings(
        store,
        login_throttle=LoginThrottle(Throttle(store, clock)),
        addresses=ClientAddresses([ipaddress.ip_network("127.0.0.1/32")]),
    )
    async for served in serve_dashboard(tmp_path, settings):
        yield served


async def _login_from(site: Dashboard, ip: str, password: str, name: str = ADMIN):
    form = {"name": name, "password": password}
    headers = {"X-Forwarded-For": ip}
    url = f"{site.url}/admin/login"
    async with site.http.post(url, data=form, headers=headers, allow_redirects=False) as response:
        await response.read()
        return response


async def test_wrong_passwords_then_the_right_one_is_refused_429_until_retry_after(
    site: Dashboard, clock: Clock
):
    # The report: 12 wrong passwords, then the right one was accepted.
    wrong = [(await _login_from(site, "192.0.2.1", f"guess{n}")).status for n in range(5)]
    right = await _login_from(site, "192.0.2.1", PASSWORD)
    assert wrong == [401] * 5
    assert right.status == 429
    assert right.headers["Retry-After"] == "60"
    clock.now += 60  # slowed down, not locked out
    assert (await _login_from(site, "192.0.2.1", PASSWORD)).status == 303


async def test_each_further_failure_doubles_the_wait(site: Dashboard, clock: Clock):
    for n in range(5):
        await _login_from(site, "192.0.2.1", f"guess{n}")
    clock.now += 60
    assert (await _login_from(site, "192.0.2.1", "guess6")).status == 401
    assert (await _login_from(site, "192.0.2.1", PASSWORD)).headers["Retry-After"] == "120"


async def test_one_name_guessed_from_many_addresses_is_throttled(site: Dashboard):
    statuses = [(await _login_from(site, f"198.51.100.{n}", "guess")).status for n in range(10)]
    from_elsewhere = await _login_from(site, "203.0.113.7", PASSWORD)
    assert statuses == [401] * 10
    assert from_elsewhere.status == 429


async def test_another_address_is_not_slowed_by_one_guessers_failures(site: Dashboard):
    for n in range(5):
        await _login_from(site, "192.0.2.1", f"guess{n}", name="mallory")
    assert (await _login_from(site, "203.0.113.7", PASSWORD)).status == 303


@pytest.mark.parametrize("origin", ["https://evil.test", "null"])
async def test_login_posted_from_another_site_is_refused(dashboard: Dashboard, origin: str):
    form = {"name": ADMIN, "password": PASSWORD}
    headers = {"Origin": origin}
    async with dashboard.http.post(
        f"{dashboard.url}/admin/login", data=form, headers=headers, allow_redirects=False
    ) as response:
        assert response.status == 403
    assert SESSION_COOKIE not in {c.key for c in dashboard.http.cookie_jar}


async def test_login_posted_from_our_own_page_is_accepted(dashboard: Dashboard):
    form = {"name": ADMIN, "password": PASSWORD}
    headers = {"Origin": dashboard.url}
    async with dashboard.http.post(
        f"{dashboard.url}/admin/login", data=form, headers=headers, allow_redirects=False
    ) as response:
        assert response.status == 303


async def test_admin_form_posted_from_another_site_is_refused_even_with_the_token(
    dashboard: Dashboard,
):
    await dashboard.login()
    token = await dashboard.csrf("/admin/campaigns")
    async with dashboard.http.post(
        f"{dashboard.url}/admin/logout",
        data={"csrf": token},
        headers={"Origin": "https://evil.test"},
        allow_redirects=False,
    ) as response:
        assert response.status == 403
    page, _ = await dashboard.page("/admin/campaigns")
    assert page.status == 200  # still logged in: the forged logout did nothing


async def test_a_saved_cookie_no_longer_works_after_logout(dashboard: Dashboard):
    # The report: logout deleted the cookie in the browser; a copy stayed valid for 12 h.
    await dashboard.login()
    saved = next(c.value for c in dashboard.http.cookie_jar if c.key == SESSION_COOKIE)
    token = await dashboard.csrf("/admin/campaigns")
    response, _ = await dashboard.post("/admin/logout", {"csrf": token})
    assert response.status == 303
    url = f"{dashboard.url}/admin/campaigns"
    async with (
        aiohttp.ClientSession(cookies={SESSION_COOKIE: saved}) as replay,
        replay.get(url, allow_redirects=False) as page,
    ):
        assert page.status == 303
        assert page.headers["Location"] == "/admin/login"


def _peak_rss_since_reset() -> tuple[int, int]:
    """(current RSS, peak RSS since the last reset) of this process, in bytes."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


async def forty_parallel_logins_peak_growth(admins: Admins) -> int:
    """Bytes the process's peak RSS grew by while 40 logins were verified at once."""
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux >= 4.0)
    before, _ = _peak_rss_since_reset()
    results = await asyncio.gather(*(admins.verify(ADMIN, PASSWORD) for _ in range(40)))
    assert all(results)
    _, peak = _peak_rss_since_reset()
    return peak - before


async def test_forty_parallel_logins_stay_within_two_argon2_verifications_of_memory():
    # The report: 40 parallel logins took the tracker from 100 to 490 MB.
    admins = Admins({ADMIN: hash_password(PASSWORD)}, concurrency=2)
    growth = await forty_parallel_logins_peak_growth(admins)
    print(f"peak RSS growth, 40 parallel logins, concurrency 2: {growth / MIB:.0f} MiB")
    assert growth < 3 * 64 * MIB  # argon2id's default costs 64 MiB a verification


async def test_parallel_guesses_from_one_address_are_checked_in_turn(site: Dashboard):
    # All of them used to pass the check before the first failure was counted.
    guesses = [_login_from(site, "192.0.2.9", f"guess{n}") for n in range(12)]
    statuses = sorted(response.status for response in await asyncio.gather(*guesses))
    assert statuses == [401] * 5 + [429] * 7
