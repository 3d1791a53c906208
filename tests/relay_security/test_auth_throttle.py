"""The AUTH throttle's keys and delays (proxy/throttle.py); time is an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from proxy.auth.users import UsersFile, add_user
from proxy.throttle import AuthLimits, AuthThrottle
from tracker.store import Store
from tracker.store.throttle import Throttle

LIMITS = AuthLimits(max_failures=3, max_failures_per_ip=5, block_seconds=60, base_delay=1)


class Clock:
    now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def throttle(tmp_path: Path) -> AsyncIterator[AuthThrottle]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    yield AuthThrottle(Throttle(store, Clock()), LIMITS)
    await store.close()


async def test_each_failure_of_the_pair_doubles_the_delay_before_535(throttle):
    delays = [await throttle.failed("192.0.2.1", "anna@example.com") for _ in range(3)]
    assert delays == [1, 2, 4]


async def test_an_office_ips_other_failures_do_not_lengthen_a_users_delay(throttle):
    for n in range(4):
        await throttle.failed("192.0.2.1", f"user{n}@example.com")
    assert await throttle.failed("192.0.2.1", "anna@example.com") == 1


async def test_an_ipv6_client_counts_per_64_not_per_address(throttle):
    for n in range(3):
        await throttle.failed(f"2001:db8:1:2::{n + 1}", "anna@example.com")
    assert await throttle.refused_for("2001:db8:1:2:ffff::9", "anna@example.com") == 60
    assert await throttle.refused_for("2001:db8:1:3::1", "anna@example.com") == 0


async def test_user_names_differing_in_case_are_one_user(throttle):
    for login in ("Anna@Example.com", "anna@example.com", "ANNA@EXAMPLE.COM"):
        await throttle.failed("192.0.2.1", login)
    assert await throttle.refused_for("192.0.2.1", "anna@example.com") == 60


async def test_a_success_clears_the_pair(throttle):
    for _ in range(2):
        await throttle.failed("192.0.2.1", "anna@example.com")
    await throttle.succeeded("192.0.2.1", "anna@example.com")
    assert await throttle.failed("192.0.2.1", "anna@example.com") == 1


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


async def test_forty_parallel_auths_check_two_passwords_at_a_time(tmp_path: Path):
    # Like the dashboard's logins (issue 14, finding 5): argon2 takes 64 MiB a check.
    users = tmp_path / "users"
    add_user(users, "anna@example.com", "correct horse battery staple")
    backend = UsersFile(users, concurrency=2)
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM)
    before = _status_kib("VmRSS")
    checks = [backend.verify("anna@example.com", "correct horse battery staple") for _ in range(40)]
    assert all(await asyncio.gather(*checks))
    growth_mib = (_status_kib("VmHWM") - before) / 1024
    assert growth_mib < 3 * 64, f"peak grew {growth_mib:.0f} MiB"
