"""Forms aiohttp cannot parse must get a 4xx, never a 500 with a traceback.

Found by tests/hardening/fuzz/fuzz_optout.py on the opt-out page (fixed there,
tracker/optout.py); every form handler reads through tracker/forms.py."""

from __future__ import annotations

import pytest
from dashboardsite import Dashboard

BROKEN = [
    # A urlencoded body not in its charset: UnicodeDecodeError in aiohttp.
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"name=\x87\x92&password=x"),
    # A Content-Type parameter name ending in "*": IndexError in Python's email.
    ({"Content-Type": "application/x-www-form-u;rlencoded*"}, b"name=a&password=x"),
]


@pytest.mark.parametrize(("headers", "body"), BROKEN, ids=["charset", "content-type"])
async def test_login_with_a_form_aiohttp_cannot_parse_is_a_4xx(dashboard: Dashboard, headers, body):
    headers = {**headers, "Origin": dashboard.url}
    async with dashboard.http.post(
        f"{dashboard.url}/admin/login", data=body, headers=headers
    ) as response:
        assert response.status == 400
