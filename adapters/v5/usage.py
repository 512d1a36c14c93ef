"""The migration tools over EMQX 5's API (gateway-specific paths, not EMQX's):

`GET /gateway/usage`: the usage report — which endpoint of which dialect is still called, by which
credentials, how often and when last, with the EMQX 5 call that replaces it (from the crosswalk).
`GET /gateway/usage/hourly`: calls per dialect in each recent hour (the home page's migration progress).
`POST /gateway/translate`: `emqgw translate` for the home page's translator box.
Both authenticate like every other v5 endpoint (API key or Bearer token).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from adapters.common.timefmt import rfc3339_s
from adapters.common.translate import TranslateError, equivalent, translate
from gateway.http.dialect import Dialect
from gateway.http.routes import Call, Routes
from gateway.http.usage import HOURS_KEPT, UsageLog

from .errors import bad_request
from .validation import q

# The dialects the hourly counts are kept for.
DIALECTS = ("v2", "v4", "v5")


def usage_rows(log: UsageLog, dialect: str | None = None, legacy_only: bool = False) -> list[dict]:
    """The report as JSON rows (blocking: reads the usage file)."""
    out = []
    for u in log.report(dialect, legacy_only):
        found = equivalent(u.dialect, u.method, u.route)
        v5 = None
        if found is not None and u.dialect != "v5":
            op, call = found
            v5 = {
                "operation": op.name,
                "call": f"{call.method} /api/v5{call.path}" if call else None,
                "instead": op.instead("v5") if call is None else "",
            }
        out.append(
            {
                "dialect": u.dialect,
                "method": u.method,
                "route": u.route,
                "principal": u.principal,
                "count": u.count,
                "first_seen": rfc3339_s(u.first_seen),
                "last_seen": rfc3339_s(u.last_seen),
                "last_status": u.last_status,
                "legacy": u.legacy,
                "v5_equivalent": v5,
            }
        )
    return out


ROW = {
    "type": "object",
    "properties": {
        "dialect": {"type": "string"},
        "method": {"type": "string"},
        "route": {"type": "string"},
        "principal": {"type": "string"},
        "count": {"type": "integer"},
        "first_seen": {"type": "string"},
        "last_seen": {"type": "string"},
        "last_status": {"type": "integer"},
        "legacy": {"type": "boolean"},
        "v5_equivalent": {"type": ["object", "null"]},
    },
}

routes = Routes(tags=("Gateway",))


@routes.get(
    "/gateway/usage",
    summary="Requests per dialect, endpoint and credentials (the legacy API switch-off checklist)",
    params=(
        q("dialect", description="only this dialect", enum=DIALECTS),
        q("legacy", "boolean", "only the legacy dialects (v2, v4)"),
    ),
    responses={
        200: {"type": "object", "properties": {"data": {"type": "array", "items": ROW}, "meta": {"type": "object"}}}
    },
)
async def get_usage(call: Call) -> web.Response:
    dialect = call.args.get("dialect")
    legacy = call.args.get("legacy", False)
    rows = await asyncio.to_thread(usage_rows, call.ctx.usage, dialect, legacy)
    return Dialect.json({"data": rows, "meta": {"count": len(rows)}})


HOUR_ROW = {
    "type": "object",
    "properties": {
        "time": {"type": "string", "description": "start of the hour"},
        **{dl: {"type": "integer"} for dl in DIALECTS},
    },
}


@routes.get(
    "/gateway/usage/hourly",
    summary="Calls per dialect in each of the last hours, the current hour last",
    params=(q("hours", "integer", "how many clock hours", default=24, minimum=1, maximum=HOURS_KEPT),),
    responses={
        200: {
            "type": "object",
            "properties": {"data": {"type": "array", "items": HOUR_ROW}, "meta": {"type": "object"}},
        }
    },
)
async def get_usage_hourly(call: Call) -> web.Response:
    hours = await asyncio.to_thread(call.ctx.usage.calls_per_hour, call.args["hours"])
    rows = [{"time": rfc3339_s(start), **{dl: counts.get(dl, 0) for dl in DIALECTS}} for start, counts in hours]
    return Dialect.json({"data": rows, "meta": {"count": len(rows)}})


@routes.post(
    "/gateway/translate",
    summary="Rewrite a management request for the other dialects (emqgw translate)",
    body={
        "type": "object",
        "required": ["request"],
        "properties": {"request": {"type": "string", "minLength": 1}, "node": {"type": "string"}},
    },
    responses={200: {"type": "object"}},
)
async def post_translate(call: Call) -> web.Response:
    body = call.body
    try:
        tr = translate(body["request"], node=body.get("node") or call.control.node_name)
    except TranslateError as e:
        raise bad_request(str(e)) from None
    return Dialect.json(tr.as_dict())
