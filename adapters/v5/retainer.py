"""Retained messages (emqx_retainer_api), under `/mqtt/retainer`, and the retainer's configuration
(`GET/PUT /mqtt/retainer`, the document ``config_roots.RETAINER``: `enable` switches the retainer).
"""

from __future__ import annotations

import base64

from aiohttp import web

from adapters.common.timefmt import rfc3339_ms
from gateway.http.dialect import Dialect
from gateway.http.routes import Call, Routes

from .config_roots import RETAINER
from .configs import document_endpoints
from .paging import PAGING, envelope_schema, page_request, paged
from .validation import path, q

MAX_SHOWN_PAYLOAD = 1024 * 1024  # detail omits larger payloads (emqx_retainer_api ?MAX_PAYLOAD_SIZE)


def summary_doc(m) -> dict:
    return {
        "msgid": m.msgid,
        "topic": m.topic,
        "qos": m.qos,
        "publish_at": rfc3339_ms(m.publish_at),
        "from_clientid": m.from_clientid,
        "from_username": m.from_username or "",
    }


SUMMARY = {
    "type": "object",
    "properties": {
        "msgid": {"type": "string"},
        "topic": {"type": "string"},
        "qos": {"type": "integer"},
        "publish_at": {"type": "string", "format": "date-time"},
        "from_clientid": {"type": "string"},
        "from_username": {"type": "string"},
    },
}
DETAIL = {"type": "object", "properties": {**SUMMARY["properties"], "payload": {"type": "string", "format": "byte"}}}
TOPIC = path("topic", "URL-encoded topic")

routes = Routes(tags=("Retainer",))

document_endpoints(
    routes,
    "/mqtt/retainer",
    RETAINER,
    names=("get_retainer_config", "update_retainer_config"),
    what="the retainer's configuration",
)


@routes.get(
    "/mqtt/retainer/messages",
    summary="List retained messages",
    params=(*PAGING, q("topic", description="Topic filter; wildcards allowed")),
    responses={200: {"schema": envelope_schema(SUMMARY)}},
)
async def list_messages(call: Call) -> web.Response:
    args = call.args
    pr = page_request(args)
    page = await call.control.list_retained(topic=args.get("topic"), offset=pr.offset, limit=pr.limit)
    # EMQX's quirk: `hasnext` is true whenever the page is full, whether or not anything follows.
    return paged(args, [summary_doc(m) for m in page.items], page.total, len(page.items) == pr.limit)


@routes.delete(
    "/mqtt/retainer/messages", summary="Clear retained messages", responses={204: {"description": "cleared"}}
)
async def clear_messages(call: Call) -> web.Response:
    await call.control.clear_retained()
    return web.Response(status=204)


@routes.get(
    "/mqtt/retainer/message/{topic:.+}",
    summary="One retained message",
    params=(TOPIC,),
    responses={200: {"schema": DETAIL}, 404: {"description": "NOT_FOUND"}},
)
async def get_message(call: Call) -> web.Response:
    m = await call.control.get_retained(call.args["topic"])
    doc = summary_doc(m)
    if len(m.payload) <= MAX_SHOWN_PAYLOAD:
        doc["payload"] = base64.b64encode(m.payload).decode()
    return Dialect.json(doc)


@routes.delete(
    "/mqtt/retainer/message/{topic:.+}",
    summary="Delete one retained message",
    params=(TOPIC,),
    responses={204: {"description": "deleted"}, 404: {"description": "NOT_FOUND"}},
)
async def delete_message(call: Call) -> web.Response:
    await call.control.delete_retained(call.args["topic"])
    return web.Response(status=204)
