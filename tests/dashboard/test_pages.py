"""The dashboard's pages over real HTTP: campaigns, one campaign, opt-outs, forgetting."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from dashboardsite import NOW, PSEUDONYM_KEY, XSS_RECIPIENT, XSS_TARGET, Dashboard, event
from sqlalchemy import select

from tracker.pseudonym import pseudonym
from tracker.store import Store
from tracker.store.models import audit_log, copies
from tracker.store.optout import opt_out


@pytest.fixture
async def logged_in(dashboard: Dashboard, seeded: Store) -> Dashboard:
    await dashboard.login()
    return dashboard


async def test_campaign_list_shows_each_campaign_with_totals_and_a_sparkline(logged_in):
    response, html = await logged_in.page("/admin/campaigns")
    assert response.status == 200
    assert "Spring sale" in html and "Autumn fair" in html, "configured campaigns are listed"
    stats = await logged_in.store.stats(by="campaign")
    spring = next(r for r in stats["rows"] if r["campaign"] == "spring")
    assert f'<td class="n">{spring["sent"]}</td>' in html
    assert html.count('class="sparkline"') == 2


async def test_campaign_page_has_a_chart_breakdowns_and_the_ab_verdict(logged_in):
    response, html = await logged_in.page("/admin/campaigns/spring")
    assert response.status == 200
    assert '<svg class="chart"' in html and "<polyline" in html
    for by in ("variant", "group", "domain", "day"):
        assert f"<h2>By {by}</h2>" in html
    # a: 1 of 10 clicked, b: 6 of 10 clicked; p ~ 0.019.
    assert "b beats a, 95% confidence" in html


async def test_campaign_page_shows_landing_page_visits_link_clicks_and_downloads(logged_in):
    _, html = await logged_in.page("/admin/campaigns/spring")
    page = BeautifulSoup(html, "html.parser")
    titles = [th.get_text() for th in page.select("table.figures thead th")]
    assert {"Visits (unique)", "Link clicks (unique)", "Downloads (unique)"} <= set(titles)
    totals = page.select_one("table.figures tbody tr")
    cells = [totals.select_one(f"td.{name}").get_text() for name in ("visits", "link-clicks")]
    assert cells == ["3 (2)", "1 (1)"], "copy 10 visited twice, copy 11 once"
    by_variant = next(h2 for h2 in page.select("h2") if h2.get_text() == "By variant")
    rows = by_variant.find_next("table").select("tbody tr")
    variant_b = next(tr for tr in rows if tr.td.get_text() == "b")
    assert variant_b.select_one("td.downloads").get_text() == "1 (1)"


async def test_campaign_page_breaks_events_down_by_reason_people_first(logged_in):
    await logged_in.store.record_events(
        [
            event(
                4,
                "click",
                verdict="scanner",
                target="https://example.com/a",
                reason="scanner:burst",
            ),
            event(5, "open", verdict="proxy", reason="proxy:gmail"),
        ]
    )
    _, html = await logged_in.page("/admin/campaigns/spring")
    section = BeautifulSoup(html, "html.parser").select_one("section.reasons")
    people = [tr.td.get_text() for tr in section.select("tbody.people tr")]
    machines = [tr.td.get_text() for tr in section.select("tbody.machines tr") if tr.td]
    assert people == ["human", "proxy:gmail"]
    assert machines == ["scanner:burst"]


async def test_unknown_campaign_is_404(logged_in):
    response, _ = await logged_in.page("/admin/campaigns/nope")
    assert response.status == 404


async def test_recipient_address_and_link_target_show_as_text(logged_in):
    for path in ("/admin/campaigns/autumn", "/admin/events"):
        _, html = await logged_in.page(path)
        assert "<script>window.__xss" not in html and "<img src=x" not in html
        page = BeautifulSoup(html, "html.parser")
        assert XSS_RECIPIENT in [td.get_text() for td in page.select("td.recipient")]
        assert XSS_TARGET in [td.get_text() for td in page.select("td.target")]


async def test_optout_list_counts_per_domain_and_names_no_address(logged_in):
    _, html = await logged_in.page("/admin/optouts")
    assert "customer.test" in html and "evil.test" in html
    assert "@" not in html.split("<main>")[1]


async def test_forget_asks_for_confirmation_before_changing_anything(logged_in):
    token = await logged_in.csrf()
    response, html = await logged_in.post(
        "/admin/privacy/forget/confirm", {"csrf": token, "address": "r1@customer.test"}
    )
    assert response.status == 200 and "cannot be undone" in html
    async with logged_in.store.engine.connect() as conn:
        names = (await conn.execute(select(copies.c.recipient))).scalars().all()
    assert "r1@customer.test" in names


async def test_confirmed_forget_pseudonymises_the_recipient_and_is_audited(logged_in):
    token = await logged_in.csrf()
    response, html = await logged_in.post(
        "/admin/privacy/forget", {"csrf": token, "address": "R1@customer.test"}
    )
    subject = pseudonym("r1@customer.test", PSEUDONYM_KEY)
    assert response.status == 200 and subject in html
    async with logged_in.store.engine.connect() as conn:
        names = (await conn.execute(select(copies.c.recipient))).scalars().all()
        audit = (await conn.execute(select(audit_log))).mappings().all()
    assert "r1@customer.test" not in names and subject in names
    assert [(a["action"], a["subject"]) for a in audit] == [("forget", subject)]


async def test_forget_without_csrf_token_changes_nothing(logged_in):
    response, _ = await logged_in.post("/admin/privacy/forget", {"address": "r1@customer.test"})
    assert response.status == 403
    async with logged_in.store.engine.connect() as conn:
        names = (await conn.execute(select(copies.c.recipient))).scalars().all()
    assert "r1@customer.test" in names


async def test_stylesheet_is_served_locally(logged_in):
    response, css = await logged_in.page("/admin/static/dashboard.css")
    assert response.status == 200 and "body" in css


async def test_optout_list_shows_recipient_hashes_and_choices(logged_in):
    await opt_out(logged_in.store, "a" * 32, "untracked", NOW)
    _, html = await logged_in.page("/admin/optouts")
    page = BeautifulSoup(html, "html.parser")
    assert [td.get_text() for td in page.select("table.optouts td code")] == ["a" * 32]
    assert "1 not tracked at all" in " ".join(page.get_text().split())
