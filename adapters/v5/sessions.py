"""Sessions (emqx_mgmt_api_clients): `GET /sessions_count` and the messages a session holds,
`GET /clients/{clientid}/mqueue_messages` and `/inflight_messages`, paged by position as EMQX does
(auth-config-apis.md §5): a page is what follows the `position` passed back; `meta.start` is the
queue's first message, `meta.position` the page's last (past the end: the position asked, echoed).
"""

from __future__ import annotations

import base64

from aiohttp import web

from adapters.common import units
from gateway.http.dialect import Dialect
from gateway.http.routes import Call, Routes
from schemas.errors import InvalidArgument, NotSupported

from .errors import bad_request, validation_error
from .validation import LIMIT, path, q

NONE = "none"  # EMQX's position for "no message": the start of an empty queue, or of the queue
END = "end_of_data"  # a position past every message
PAYLOAD_FORMATS = ("base64", "plain", "none")

MESSAGE = {
    "type": "object",
    "properties": {
        "msgid": {"type": "string"},
        "topic": {"type": "string"},
        "qos": {"type": "integer", "minimum": 0, "maximum": 2},
        "publish_at": {"type": "integer", "description": "epoch milliseconds"},
        "from_clientid": {"type": "string"},
        "from_username": {"type": "string"},
        "payload": {"type": "string"},
        "mqueue_priority": {"type": "integer", "description": "mqueue only; priorities are off: always 0"},
    },
}
PAGE = {
    "type": "object",
    "properties": {
        "data": {"type": "array", "items": MESSAGE},
        "meta": {"type": "object", "properties": {"start": {"type": "string"}, "position": {"type": "string"}}},
    },
}
PARAMS = (
    path("clientid"),
    q("payload", enum=PAYLOAD_FORMATS, default="base64"),
    q("max_payload_bytes", description='e.g. "1MB": payload bytes per page (the first message always)', default="1MB"),
    q("position", description='where the last page ended; "none" or left out: from the first message'),
    LIMIT,
)

routes = Routes(tags=("Clients",))


@routes.get(
    "/sessions_count",
    summary="Sessions, with those ended since `since` (within broker.session_history_retain)",
    params=(q("since", "integer", "epoch seconds", default=0, minimum=0),),
    responses={200: {"schema": {"type": "integer"}}},
)
async def sessions_count(call: Call) -> web.Response:
    return Dialect.json(await call.control.sessions_count(call.args["since"]))


def _payload(data: bytes, form: str) -> str:
    if form == "base64":
        return base64.b64encode(data).decode()
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise bad_request("Some message payloads are not JSON serializable", "INVALID_PARAMETER") from None


async def _messages(call: Call, queue: str) -> web.Response:
    args = call.args
    try:
        budget = units.size_bytes(args["max_payload_bytes"])
    except units.UnitError:
        raise validation_error("max_payload_bytes", "bad_size", args["max_payload_bytes"]) from None
    if budget < 1:
        raise validation_error("max_payload_bytes", "must be greater than 0", args["max_payload_bytes"])
    asked = args.get("position", NONE)
    form = args["payload"]
    if asked == END:
        page = await call.control.session_messages(args["clientid"], queue, after=None, limit=1)
        items = []
    else:
        after = None if asked == NONE else asked
        page = await call.control.session_messages(args["clientid"], queue, after=after, limit=args["limit"])
        items = page.items
    rows, spent = [], 0
    for m in items:
        row = {
            "msgid": m.msgid,
            "topic": m.topic,
            "qos": m.qos,
            "publish_at": int(m.publish_at * 1000),
            "from_clientid": m.from_clientid,
            "from_username": m.from_username or "",
        }
        if form != "none":
            row["payload"] = _payload(m.payload, form)
            spent += len(row["payload"])
        if queue == "mqueue":
            row["mqueue_priority"] = 0
        if rows and spent > budget:
            break
        rows.append(row)
    position = items[len(rows) - 1].position if rows else asked
    return Dialect.json({"data": rows, "meta": {"start": page.start or NONE, "position": position}})


# The two endpoints differ only in which queue they read.
_ERRORS = {InvalidArgument: (400, "INVALID_PARAMETER")}
_RESPONSES = {
    200: {"schema": PAGE},
    400: {"description": "INVALID_PARAMETER"},
    404: {"description": "CLIENTID_NOT_FOUND"},
}


@routes.get(
    "/clients/{clientid}/mqueue_messages",
    summary="Messages queued for a client",
    params=PARAMS,
    responses=_RESPONSES,
    errors=_ERRORS,
)
async def mqueue_messages(call: Call) -> web.Response:
    return await _messages(call, "mqueue")


@routes.get(
    "/clients/{clientid}/inflight_messages",
    summary="Messages sent to a client and not yet acknowledged",
    params=PARAMS,
    responses=_RESPONSES,
    errors=_ERRORS,
)
async def inflight_messages(call: Call) -> web.Response:
    return await _messages(call, "inflight")


telemetry = Routes(tags=("Telemetry",))
TELEMETRY = {"type": "object", "properties": {"enable": {"type": "boolean"}}}


# EMQX 5's dashboard asks right after login. This gateway sends nobody anything: telemetry is off,
# and cannot be switched on.
@telemetry.get("/telemetry/status", summary="Whether telemetry is sent (never)", responses={200: {"schema": TELEMETRY}})
async def telemetry_status(call: Call) -> web.Response:
    return Dialect.json({"enable": False})


@telemetry.put(
    "/telemetry/status",
    summary="Switch telemetry (it stays off)",
    body={**TELEMETRY, "required": ["enable"], "additionalProperties": False},
    responses={200: {"schema": TELEMETRY}, 400: {"description": "NOT_SUPPORTED"}},
)
async def set_telemetry(call: Call) -> web.Response:
    if call.body["enable"]:
        raise NotSupported("this gateway sends no telemetry")
    return Dialect.json({"enable": False})
