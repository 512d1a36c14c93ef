"""`/mqtt/publish` and `/mqtt/publish_batch` in each product's answers (bodies: ``publish_body.py``).

NanoMQ answers a publish it refuses with HTTP 200 and its code (`{"code":108}`); EMQX 4 with its
business error (`{"code":115,"message":"bad_topic"}`). A batch answers each item's code, the one the
same publish alone would have failed with.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from gateway.http.routes import Call, Routes
from schemas.errors import InvalidArgument, Unavailable

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


# How each product refuses a body it cannot publish (see the module's docstring).
_REFUSE: dict[str, Callable[[publish_body.PublishError], Exception]] = {
    "nanomq": lambda e: nanomq_http.fail(200, e.code),
    "emqx4": lambda e: emqx4_http.fail(e.code, str(e)),
}


async def _publish(call: Call, body, flavor: str) -> list[str]:
    """The message ids, one per topic; the first refusal ends it."""
    try:
        requests = publish_body.parse(body, flavor)
    except publish_body.PublishError as e:
        raise _REFUSE[flavor](e) from None
    return [(await call.control.publish(r)).id for r in requests]


@nanomq.post(
    "/mqtt/publish", name="mqtt_publish", summary="Publish a MQTT message", body=NANOMQ_BODY, errors=NANOMQ_ERRORS
)
async def nanomq_publish(call: Call) -> web.StreamResponse:
    await _publish(call, call.body, "nanomq")
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
        code = await result_code(_publish(call, item, "nanomq"), call.endpoint, nanomq_http.control_error)
        # NanoMQ names the topic only when the item has one.
        row = {"topic": item["topic"]} if isinstance(item, dict) and isinstance(item.get("topic"), str) else {}
        out.append({**row, "code": code})
    return nanomq_http.ok(out)


@emqx4.post(
    "/mqtt/publish", name="mqtt_publish", summary="Publish a MQTT message", body=EMQX4_BODY, errors=EMQX4_ERRORS
)
async def emqx4_publish(call: Call) -> web.StreamResponse:
    ids = await _publish(call, call.body, "emqx4")
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
        code = await result_code(_publish(call, item, "emqx4"), call.endpoint, emqx4_http.control_error)
        out.append({"topic": item.get("topic") if isinstance(item, dict) else None, "code": code})
    return emqx4_http.ok(out)
