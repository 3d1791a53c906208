"""The OpenAPI 3.1 document of /api/v1, written by hand (it is small), served at
/api/v1/openapi.json. tests/dashboard/test_api.py checks that every API route
is described here and every described path is routed."""

from __future__ import annotations

from typing import Any

from tracker.store.queries import GROUPINGS, LANDING_COUNTERS
from tracker.store.records import EVENT_KINDS
from tracker.store.stats import EVENT_COUNTS

_SPLIT = {
    "type": "object",
    "properties": {"opens": {"type": "integer"}, "clicks": {"type": "integer"}},
    "required": ["opens", "clicks"],
}
_COUNTS = ("sent", *EVENT_COUNTS)
FIGURES = {
    "type": "object",
    "description": (
        "Counts of one row or of the totals; ctr = unique clicks / unique impressions; "
        "visits, link_clicks and downloads are what landing pages reported (/t.js); "
        "unique counts count copies."
    ),
    "properties": {
        **{name: {"type": "integer"} for name in _COUNTS},
        "ctr": {"type": "number"},
        "human": _SPLIT,
        "machine": _SPLIT,
    },
    "required": [*_COUNTS, "ctr", "human", "machine"],
}
STATS = {
    "type": "object",
    "description": "The shape of `sigrelay stats --json`.",
    "properties": {
        "totals": {"$ref": "#/components/schemas/Figures"},
        "rows": {
            "type": "array",
            "description": "Figures plus the key they are grouped by (`by`).",
            "items": {"$ref": "#/components/schemas/Figures"},
        },
        "reasons": {
            "type": "array",
            "description": "Impressions, opens and clicks per reason (the rule behind the "
            "verdict), people first; `counted`: whether they count as a person's.",
            "items": {
                "type": "object",
                "properties": {
                    "reason": {"type": "string"},
                    "verdict": {"type": "string"},
                    "counted": {"type": "boolean"},
                    "impression": {"type": "integer"},
                    "open": {"type": "integer"},
                    "click": {"type": "integer"},
                },
            },
        },
    },
    "required": ["totals", "rows", "reasons"],
}
EVENT = {
    "type": "object",
    "description": "One event; never an IP address.",
    "properties": {
        "id": {"type": "integer"},
        "at": {"type": "string", "format": "date-time"},
        "kind": {"type": "string", "enum": [*EVENT_KINDS, *LANDING_COUNTERS]},
        "verdict": {"type": "string", "enum": ["human", "proxy", "prefetch", "scanner"]},
        "reason": {
            "type": "string",
            "description": "the rule behind the verdict: human, proxy:gmail, prefetch:apple, "
            "scanner:agent, scanner:network, scanner:head, scanner:early, scanner:burst ...",
        },
        "target": {"type": ["string", "null"]},
        "campaign": {"type": ["string", "null"]},
        "variant": {"type": ["string", "null"]},
        "domain": {"type": ["string", "null"]},
        "recipient": {"type": ["string", "null"], "description": "personal mode only"},
    },
}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}  # fmt: skip


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "401": {"description": "no valid bearer token"},
    }


_BY = _query("by", "group rows by this key", {"type": "string", "enum": list(GROUPINGS)})
_STATS_REF = {"$ref": "#/components/schemas/Stats"}

PATHS: dict[str, Any] = {
    "/campaigns": {
        "get": {
            "summary": "Campaigns (configured or seen in the store) with their totals",
            "responses": _ok(
                "the campaigns",
                {
                    "type": "object",
                    "properties": {
                        "campaigns": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "name": {"type": "string"},
                                    "totals": {"$ref": "#/components/schemas/Figures"},
                                },
                            },
                        }
                    },
                },
            ),
        }
    },
    "/campaigns/{campaign}/stats": {
        "get": {
            "summary": "Stats of one campaign",
            "parameters": [
                {"name": "campaign", "in": "path", "required": True, "schema": {"type": "string"}},
                _BY,
            ],
            "responses": _ok("totals and rows", _STATS_REF),
        }
    },
    "/stats": {
        "get": {
            "summary": "Stats of all mail, optionally of one campaign, by a key",
            "parameters": [_BY, _query("campaign", "only this campaign", {"type": "string"})],
            "responses": _ok("totals and rows", _STATS_REF),
        }
    },
    "/events": {
        "get": {
            "summary": "Events, newest first, 100 (at most 500) per page",
            "parameters": [
                _query("before", "events older than this id (next_before)", {"type": "integer"}),
                _query("limit", "page size, 1..500", {"type": "integer"}),
                _query("campaign", "only this campaign", {"type": "string"}),
            ],
            "responses": _ok(
                "a page of events",
                {
                    "type": "object",
                    "properties": {
                        "events": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Event"},
                        },
                        "next_before": {"type": ["integer", "null"]},
                    },
                },
            ),
        }
    },
    "/optouts": {
        "get": {
            "summary": "How many recipients opted out, in total and per choice (never who)",
            "responses": _ok(
                "opt-out counts",
                {
                    "type": "object",
                    "properties": {
                        "optouts": {"type": "integer"},
                        "by_choice": {
                            "type": "object",
                            "properties": {
                                "anonymous": {"type": "integer"},
                                "untracked": {"type": "integer"},
                            },
                        },
                    },
                },
            ),
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1 document"}},
        }
    },
}


def openapi_document(public_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "sigrelay tracker API", "version": "1"},
        "servers": [{"url": f"{public_url}/api/v1"}],
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Figures": FIGURES, "Stats": STATS, "Event": EVENT},
        },
    }
