"""The JSON API (/api/v1, bearer tokens), its OpenAPI document, and the CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from dashboardsite import NOW, XSS_RECIPIENT, Dashboard, copy, event

from tracker.store import Store
from tracker.store.models import metadata
from tracker.store.optout import opt_out


@pytest.fixture
async def api(dashboard: Dashboard, seeded: Store) -> Dashboard:
    return dashboard


async def test_api_needs_a_valid_bearer_token(api: Dashboard):
    for token in (None, "srt_wrong"):
        status, body = await api.api("/stats", token=token)
        assert status == 401 and "bearer token" in body["error"]


async def test_stats_have_the_shape_and_figures_of_the_store(api: Dashboard):
    status, body = await api.api("/stats?by=variant&campaign=spring")
    assert status == 200
    body.pop("reasons")  # beside the store's figures (test_stats_carry_events_per_reason)
    assert body == await api.store.stats(by="variant", campaign="spring")


async def test_stats_carry_the_landing_page_figures(api: Dashboard):
    _, body = await api.api("/campaigns/spring/stats?by=variant")
    b = next(row for row in body["rows"] if row["variant"] == "b")
    landing = ("visits", "unique_visits", "link_clicks", "downloads", "unique_downloads")
    assert [b[name] for name in landing] == [3, 2, 1, 1, 1]
    _, document = await api.api("/openapi.json")
    described = document["components"]["schemas"]["Figures"]["required"]
    assert set(landing) <= set(described)


async def test_campaign_stats_are_that_campaigns_stats(api: Dashboard):
    _, body = await api.api("/campaigns/spring/stats?by=day")
    body.pop("reasons")
    assert body == await api.store.stats(by="day", campaign="spring")


async def test_stats_carry_events_per_reason_people_first(api: Dashboard):
    await api.store.record_events(
        [
            event(4, "open", verdict="scanner", reason="scanner:agent"),
            event(5, "open", verdict="proxy", reason="proxy:gmail"),
            event(99, "open", verdict="prefetch", reason="prefetch:apple"),  # autumn's
        ]
    )
    _, body = await api.api("/campaigns/spring/stats")
    reasons = [(r["reason"], r["counted"], r["open"]) for r in body["reasons"]]
    assert reasons == [("human", True, 3), ("proxy:gmail", True, 1), ("scanner:agent", False, 1)]
    _, page = await api.api("/events?limit=3")
    assert [e["reason"] for e in page["events"]] == [
        "prefetch:apple",
        "proxy:gmail",
        "scanner:agent",
    ]
    await api.login()
    _, text = await api.page("/admin/export/events.csv")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert {"scanner:agent", "proxy:gmail", "prefetch:apple"} <= {r["reason"] for r in exported}


async def test_unknown_grouping_is_a_400_naming_the_choices(api: Dashboard):
    status, body = await api.api("/stats?by=colour")
    assert status == 400 and "variant" in body["error"]


async def test_campaigns_lists_configured_and_recorded_campaigns_with_totals(api: Dashboard):
    _, body = await api.api("/campaigns")
    by_id = {c["id"]: c for c in body["campaigns"]}
    assert set(by_id) == {"spring", "autumn"}
    spring = await api.store.stats(campaign="spring")
    assert by_id["spring"]["totals"] == spring["totals"]
    assert by_id["spring"]["name"] == "Spring sale"


async def test_events_are_paged_newest_first_without_ip(api: Dashboard):
    _, first = await api.api("/events?limit=5")
    assert len(first["events"]) == 5
    assert all("ip" not in e for e in first["events"])
    ids = [e["id"] for e in first["events"]]
    assert ids == sorted(ids, reverse=True)
    seen = list(ids)
    before = first["next_before"]
    while before is not None:
        _, page = await api.api(f"/events?limit=5&before={before}")
        seen += [e["id"] for e in page["events"]]
        before = page["next_before"]
    _, everything = await api.api("/events?limit=500")
    assert seen == [e["id"] for e in everything["events"]] and len(set(seen)) == len(seen)


async def test_optouts_counts_recipients_per_choice(api: Dashboard):
    await opt_out(api.store, "k" * 32, "anonymous", NOW)
    await opt_out(api.store, "j" * 32, "untracked", NOW)
    _, body = await api.api("/optouts")
    assert body == {"optouts": 2, "by_choice": {"anonymous": 1, "untracked": 1}}


async def test_openapi_describes_every_api_route_and_nothing_else(api: Dashboard):
    async with api.http.get(f"{api.url}/api/v1/openapi.json") as response:
        document = await response.json()
    assert document["openapi"].startswith("3.")
    routed = {
        resource.canonical.removeprefix("/api/v1")
        for resource in api.app.router.resources()
        if resource.canonical.startswith("/api/v1/")
    }
    assert routed == set(document["paths"])


async def test_export_of_every_table_needs_an_admin(api: Dashboard):
    response, _ = await api.page("/admin/export/copies.csv")
    assert response.status == 303


async def test_every_table_exports_as_csv_with_all_its_rows(api: Dashboard):
    await api.login()
    for table in metadata.sorted_tables:
        response, text = await api.page(f"/admin/export/{table.name}.csv")
        assert response.status == 200 and response.content_type == "text/csv"
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == [c.name for c in table.columns]
        async with api.store.engine.connect() as conn:
            count = len((await conn.execute(table.select())).all())
        assert len(rows) - 1 == count


async def test_export_defuses_spreadsheet_formulas(api: Dashboard):
    await api.store.record_copies([copy(500, recipient='=HYPERLINK("http://evil.test")@x.test')])
    await api.login()
    _, text = await api.page("/admin/export/copies.csv")
    recipients = [row["recipient"] for row in csv.DictReader(io.StringIO(text))]
    assert '\'=HYPERLINK("http://evil.test")@x.test' in recipients
    assert XSS_RECIPIENT in recipients, "other values stay as they are"
