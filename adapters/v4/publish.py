"""`/mqtt/publish` and `/mqtt/publish_batch` in each product's answers (bodies: ``publish_body.py``).

NanoMQ answers a publish it refuses with HTTP 200 and its code (`{"code":108}`); EMQX 4 with its
business error (`{"code":115,"message":"bad_topic"}`). A batch answers each item's code, the one the
same publish alone would have failed with.
"""

from __future__ import annotations

from aiohttp import web

from gateway.http.routes import Call, Routes
from schemas.errors import InvalidArgument, Unavailable
from schemas.records import PublishRequest

from . import codes, emqx4_http, nanomq_http, publish_body
from .errors import result_code

nanomq = Routes(**nanomq_http.ROUTES)
emqx4 = Routes(**emqx4_http.ROUTES)

_COMMON = {
    "topic": {"type": "string"},
    "topics": {"type": "string", "description": "comma-separated topics"},
    "qos": {"type": "integer", "enum": [0, 1, 2]},
    "retain": {"type": "boolean"},
    "clientid": {"type": "string"},
    "encoding": {"type": "string", "enum": ["plain", "base64"]},
    "properties": {"type": "object", "description": "MQTT 5 PUBLISH properties"},
}
NANOMQ_BODY = {
    "type": "object",
    "required": ["payload"],
    "properties": {
        **_COMMON,
        "payload": {"type": "string"},
        "decoding": {"type": "string", "enum": ["plain", "base64"]},
    },
}
EMQX4_BODY = {
    "type": "object",
    "required": ["payload"],
    "properties": {
        **_COMMON,
        "payload": {"description": "text, or a JSON object published as its JSON text"},
        "user_properties": {"type": "object"},
        "return": {"description": "any value: answer the message ids"},
    },
}

NANOMQ_ERRORS = {InvalidArgument: (200, codes.REQ_PARAM_ERROR), Unavailable: (200, codes.UNKNOWN_MISTAKE)}
EMQX4_ERRORS = {InvalidArgument: (codes.EMQX4_BAD_TOPIC, "bad_topic")}


async def _publish(call: Call, requests: list[PublishRequest]) -> list[str]:
    """The message ids, one per topic; the first refusal ends it."""
    return [(await call.control.publish(r)).id for r in requests]


async def _nanomq_publish(call: Call, body) -> None:
    try:
        requests = publish_body.parse(body, "nanomq")
    except publish_body.PublishError as e:
        raise nanomq_http.fail(200, e.code) from None
    await _publish(call, requests)


async def _emqx4_publish(call: Call, body) -> list[str]:
    try:
        requests = publish_body.parse(body, "emqx4")
    except publish_body.PublishError as e:
        raise emqx4_http.fail(e.code, str(e)) from None
    return await _publish(call, requests)


@nanomq.post(
    "/mqtt/publish", name="mqtt_publish", summary="Publish a MQTT message", body=NANOMQ_BODY, errors=NANOMQ_ERRORS
)
async def nanomq_publish(call: Call) -> web.StreamResponse:
    await _nanomq_publish(call, call.body)
    return nanomq_http.ok()


@nanomq.post(
    "/mqtt/publish_batch",
    name="mqtt_publish_batch",
    summary="Batch publish MQTT messages",
    body={"type": "array", "items": NANOMQ_BODY},
    errors=NANOMQ_ERRORS,
)
async def nanomq_publish_batch(call: Call) -> web.StreamResponse:
    out = []
    for item in call.body:
        code = await result_code(_nanomq_publish(call, item), call.endpoint, nanomq_http.control_error)
        # NanoMQ names the topic only when the item has one.
        row = {"topic": item["topic"]} if isinstance(item, dict) and isinstance(item.get("topic"), str) else {}
        out.append({**row, "code": code})
    return nanomq_http.ok(out)


@emqx4.post(
    "/mqtt/publish", name="mqtt_publish", summary="Publish a MQTT message", body=EMQX4_BODY, errors=EMQX4_ERRORS
)
async def emqx4_publish(call: Call) -> web.StreamResponse:
    ids = await _emqx4_publish(call, call.body)
    if "return" in call.body:
        return emqx4_http.ok({"msgid": ids[0]} if len(ids) == 1 else {"msgids": ids})
    return emqx4_http.ok()


@emqx4.post(
    "/mqtt/publish_batch",
    name="mqtt_publish_batch",
    summary="Batch publish MQTT messages",
    body={"type": "array", "items": EMQX4_BODY},
    errors=EMQX4_ERRORS,
)
async def emqx4_publish_batch(call: Call) -> web.StreamResponse:
    out = []
    for item in call.body:
        code = await result_code(_emqx4_publish(call, item), call.endpoint, emqx4_http.control_error)
        out.append({"topic": item.get("topic") if isinstance(item, dict) else None, "code": code})
    return emqx4_http.ok(out)
