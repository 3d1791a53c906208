"""The admin dashboard (/admin/…), the JSON API (/api/v1/…) and the CSV export.

Public: `add_routes(app, settings)`, `DashboardSettings`, `settings_from_config`.
"""

from __future__ import annotations

from aiohttp import web

from tracker.dashboard.api import add_api_routes
from tracker.dashboard.pages import SETTINGS_KEY, STATIC
from tracker.dashboard.preview_page import add_preview_routes
from tracker.dashboard.settings import DashboardSettings, settings_from_config
from tracker.dashboard.views import add_page_routes

__all__ = ["DashboardSettings", "add_routes", "settings_from_config"]


def add_routes(app: web.Application, settings: DashboardSettings) -> None:
    app[SETTINGS_KEY] = settings
    add_page_routes(app)
    add_preview_routes(app)
    add_api_routes(app)
    app.router.add_static("/admin/static", STATIC, append_version=False)
