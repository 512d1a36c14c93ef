"""Alarms (emqx_mgmt_api_alarms): the current ones or the history, paged; clear the history; force
one off. Times are RFC 3339 with milliseconds, `duration` in milliseconds; `deactivate_at` only in the
history, as EMQX 5 renders them.
"""

from __future__ import annotations

import time

from aiohttp import web

from adapters.common.fields import ALARM, project
from adapters.common.timefmt import rfc3339_ms
from gateway.http.dialect import ApiError
from gateway.http.routes import Call, Routes
from schemas.errors import NotFound
from schemas.records import Alarm

from .paging import PAGING, envelope_schema, page_request, paged
from .validation import q

FORMATTERS = {"time": rfc3339_ms, "until": rfc3339_ms}


def alarm_doc(a: Alarm, now: float) -> dict:
    doc = project(a, ALARM, "v5", FORMATTERS)
    if a.activated:
        del doc["deactivate_at"]  # shown in the history only
    doc["duration"] = int(((a.deactivate_at or now) - a.activate_at) * 1000)
    return doc


ALARM_SCHEMA = {
    "type": "object",
    "properties": {
        "node": {"type": "string"},
        "name": {"type": "string"},
        "message": {"type": "string"},
        "details": {"type": "object"},
        "duration": {"type": "integer", "description": "milliseconds"},
        "activate_at": {"type": "string", "format": "date-time"},
        "deactivate_at": {"type": "string", "format": "date-time", "description": "history only"},
    },
}

routes = Routes(tags=("Alarms",))


@routes.get(
    "/alarms",
    summary="Current alarms, or the history",
    params=(*PAGING, q("activated", "boolean", "true: current alarms; false: the history", default=True)),
    responses={200: {"schema": envelope_schema(ALARM_SCHEMA)}},
)
async def list_alarms(call: Call) -> web.Response:
    args = call.args
    rows = await call.control.list_alarms(activated=args["activated"])
    pr = page_request(args)
    now = time.time()
    page = [alarm_doc(a, now) for a in rows[pr.offset : pr.offset + pr.limit]]
    return paged(args, page, len(rows), pr.offset + pr.limit < len(rows))


@routes.delete("/alarms", summary="Delete the deactivated alarms", responses={204: {"description": "history cleared"}})
async def clear_history(call: Call) -> web.Response:
    await call.control.clear_alarm_history()
    return web.Response(status=204)


@routes.post(
    "/alarms/force_deactivate",
    summary="Deactivate an alarm now",
    body={"type": "object", "properties": {"name": {"type": "string"}}},
    responses={204: {"description": "deactivated"}, 400: {"description": "INVALID_PARAMETER (no name) / NOT_FOUND"}},
    errors={NotFound: (400, "NOT_FOUND", "Alarm not found or already deactivated")},
)
async def force_deactivate(call: Call) -> web.Response:
    name = call.body.get("name")
    if not name:
        raise ApiError(400, "INVALID_PARAMETER", "name is required")
    await call.control.deactivate_alarm(name)
    return web.Response(status=204)
