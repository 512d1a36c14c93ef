"""EMQX 4's subscriptions made for a client: `/mqtt/subscribe`, `/mqtt/unsubscribe` and their batches.

A single call answers 107/108 for a bad clientid, 115 for no topic or a bad one, 116 for a bad QoS, 112
`channel_not_found` for a client that is not there; a batch answers each item's code.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.http.routes import Call, Routes
from schemas.errors import InvalidArgument, NotFound, NotSupported
from schemas.records import SubscribeRequest

from . import codes, emqx4_http
from .errors import result_code

emqx4 = Routes(**emqx4_http.ROUTES)

BODY = {
    "type": "object",
    "required": ["clientid"],
    "properties": {
        "clientid": {"type": "string"},
        "topic": {"type": "string"},
        "topics": {"type": "string", "description": "comma-separated topics"},
        "qos": {"type": "integer", "enum": [0, 1, 2], "description": "subscribe only"},
    },
}
BATCH = {"type": "array", "items": BODY}
ERRORS = {
    NotFound: (codes.CLIENT_IS_OFFLINE, "channel_not_found"),
    InvalidArgument: (codes.EMQX4_BAD_TOPIC, "bad_topic"),
    # A filter the broker does not take (wildcards or shared subscriptions switched off) is a bad topic
    # here too; the message says which switch.
    NotSupported: (codes.EMQX4_BAD_TOPIC, None),
}


def _target(item: Any) -> tuple[str, list[str]]:
    """The clientid and the topics (`topic`, or `topics` comma-separated) an item names."""
    if not isinstance(item, dict):
        raise emqx4_http.fail(codes.REQ_PARAM_ERROR, "bad_params")
    clientid = item.get("clientid")
    if not isinstance(clientid, str):
        code = codes.MISSING_KEY_REQUEST_PARAMS if clientid is None else codes.REQ_PARAM_ERROR
        raise emqx4_http.fail(code, "bad clientid")
    if isinstance(item.get("topic"), str):
        topics = [item["topic"]]
    elif isinstance(item.get("topics"), str):
        topics = [t.strip() for t in item["topics"].split(",") if t.strip()]
    else:
        topics = []
    if not topics:
        raise emqx4_http.fail(codes.EMQX4_BAD_TOPIC, "bad_topic")
    return clientid, topics


async def _subscribe(call: Call, item: Any) -> None:
    clientid, topics = _target(item)
    qos = item.get("qos", 0)
    if not isinstance(qos, int) or isinstance(qos, bool) or qos not in (0, 1, 2):
        raise emqx4_http.fail(codes.EMQX4_BAD_QOS, "bad_qos")
    await call.control.subscribe(clientid, [SubscribeRequest(topic=t, qos=qos) for t in topics])


async def _unsubscribe(call: Call, item: Any) -> None:
    clientid, topics = _target(item)
    await call.control.unsubscribe(clientid, topics)


async def _batch(call: Call, each) -> web.StreamResponse:
    out = []
    for item in call.body:
        code = await result_code(each(call, item), call.endpoint, emqx4_http.control_error)
        row = {k: item.get(k) for k in ("clientid", "topic")} if isinstance(item, dict) else {}
        out.append({**row, "code": code})
    return emqx4_http.ok(out)


@emqx4.post("/mqtt/subscribe", name="mqtt_subscribe", summary="Subscribe a topic", body=BODY, errors=ERRORS)
async def subscribe(call: Call) -> web.StreamResponse:
    await _subscribe(call, call.body)
    return emqx4_http.ok()


@emqx4.post("/mqtt/unsubscribe", name="mqtt_unsubscribe", summary="Unsubscribe a topic", body=BODY, errors=ERRORS)
async def unsubscribe(call: Call) -> web.StreamResponse:
    await _unsubscribe(call, call.body)
    return emqx4_http.ok()


@emqx4.post(
    "/mqtt/subscribe_batch", name="mqtt_subscribe_batch", summary="Batch subscribes topics", body=BATCH, errors=ERRORS
)
async def subscribe_batch(call: Call) -> web.StreamResponse:
    return await _batch(call, _subscribe)


@emqx4.post(
    "/mqtt/unsubscribe_batch",
    name="mqtt_unsubscribe_batch",
    summary="Batch unsubscribes topics",
    body=BATCH,
    errors=ERRORS,
)
async def unsubscribe_batch(call: Call) -> web.StreamResponse:
    return await _batch(call, _unsubscribe)
