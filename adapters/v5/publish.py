"""`POST /publish` and `/publish/bulk` (emqx_mgmt_api_publish): reason-code bodies, 200/202/400/503."""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from gateway.http.dialect import ApiError, Dialect
from gateway.http.routes import Call, Routes
from schemas.errors import ControlError, InvalidArgument, Unavailable
from schemas.records import PublishRequest, PublishResult
from schemas.topics import topic_name_problem

# MQTT 5 reason codes EMQX answers with [MQTT 5 2.4, Table 2-6].
RC_NO_MATCHING_SUBSCRIBERS = 16
RC_IMPLEMENTATION_SPECIFIC = 131
RC_TOPIC_NAME_INVALID = 144
RC_QUOTA_EXCEEDED = 151

PROPERTIES = {
    "type": "object",
    "properties": {
        "payload_format_indicator": {"type": "integer", "minimum": 0, "maximum": 1},
        "message_expiry_interval": {"type": "integer", "minimum": 0, "maximum": 4294967295},
        "response_topic": {"type": "string"},
        "correlation_data": {"type": "string"},
        "user_properties": {"type": "object", "additionalProperties": {"type": "string"}},
        "content_type": {"type": "string"},
    },
}
MESSAGE = {
    "type": "object",
    "properties": {
        "topic": {"type": "string"},
        "payload": {"type": "string"},
        "payload_encoding": {"type": "string", "enum": ["plain", "base64"], "default": "plain"},
        "qos": {"type": "integer", "enum": [0, 1, 2], "default": 0},
        "retain": {"type": "boolean", "default": False},
        "properties": PROPERTIES,
        "clientid": {"type": "string", "description": "deprecated since 5.0.14; ignored"},
    },
    "required": ["topic", "payload"],
}
RESULT = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "reason_code": {"type": "integer"}, "message": {"type": "string"}},
}


class Rejected(Exception):
    def __init__(self, status: int, reason_code: int, message: str):
        super().__init__(message)
        self.status, self.body = status, {"reason_code": reason_code, "message": message}


def _properties(props: dict) -> dict:
    out = {}
    for k in ("payload_format_indicator", "message_expiry_interval", "response_topic", "content_type"):
        if k in props:
            out[k] = props[k]
    if "correlation_data" in props:
        out["correlation_data"] = props["correlation_data"].encode()
    if "user_properties" in props:
        out["user_property"] = list(props["user_properties"].items())
    return out


def _estimated_size(topic: str, payload: bytes, qos: int, props: dict) -> int:
    """PUBLISH size without the fixed header: topic, packet id, properties, payload [MQTT 5 3.3]."""
    size = 2 + len(topic.encode()) + (2 if qos else 0) + len(payload)
    for k, v in props.items():
        if k == "user_property":
            size += sum(5 + len(a.encode()) + len(b.encode()) for a, b in v)
        else:
            size += 1 + (len(v) + 2 if isinstance(v, (str, bytes)) else 4)
    return size


def prepare(msg: dict, max_packet_size: int) -> PublishRequest:
    """Check one message as EMQX does before anything is published; Rejected(400, ...) if bad."""
    topic = msg["topic"]
    if topic_name_problem(topic) is not None:
        raise Rejected(400, RC_TOPIC_NAME_INVALID, "topic_name_invalid")
    if msg["payload_encoding"] == "base64":
        try:
            payload = base64.b64decode(msg["payload"], validate=True)
        except (binascii.Error, ValueError):
            raise Rejected(
                400, RC_IMPLEMENTATION_SPECIFIC, f'{{decode_base64_payload_failed,<<"{msg["payload"]}">>}}'
            ) from None
    else:
        payload = msg["payload"].encode()
    props = _properties(msg.get("properties", {}))
    if _estimated_size(topic, payload, msg["qos"], props) > max_packet_size:
        raise Rejected(400, RC_QUOTA_EXCEEDED, "packet_too_large")
    return PublishRequest(topic=topic, payload=payload, qos=msg["qos"], retain=msg["retain"], properties=props)


def outcome(result: PublishResult | ControlError) -> tuple[int, dict]:
    """One message's outcome as EMQX reports it, a reason code in the body: a batch lists them. An error
    of another kind (the publisher refused, say) is the dialect's error answer."""
    if isinstance(result, InvalidArgument):
        return 400, {"reason_code": RC_TOPIC_NAME_INVALID, "message": "topic_name_invalid"}
    if isinstance(result, Unavailable):
        return 503, {"reason_code": RC_IMPLEMENTATION_SPECIFIC, "message": "failed_to_dispatch"}
    if isinstance(result, ControlError):
        raise result
    if result.matched == 0:
        return 202, {"reason_code": RC_NO_MATCHING_SUBSCRIBERS, "message": "no_matching_subscribers"}
    return 200, {"id": result.id}


async def _max_packet_size(call: Call) -> int:
    return (await call.control.get_config()).max_packet_size


RESPONSES = {
    200: {"schema": RESULT},
    202: {"description": "no_matching_subscribers", "schema": RESULT},
    400: {"description": "bad message", "schema": RESULT},
    503: {"description": "failed_to_dispatch", "schema": RESULT},
}

routes = Routes(tags=("Publish",))


@routes.post("/publish", summary="Publish a message", body=MESSAGE, responses=RESPONSES)
async def publish(call: Call) -> web.Response:
    try:
        req = prepare(call.body, await _max_packet_size(call))
    except Rejected as e:
        return Dialect.json(e.body, status=e.status)
    result: PublishResult | ControlError
    try:
        result = await call.control.publish(req)
    except (InvalidArgument, Unavailable) as e:  # answered in the body, as in a batch
        result = e
    status, body = outcome(result)
    return Dialect.json(body, status=status)


# A batch answers a list of per-message results (the status is the batch's), except a rejected batch:
# one message's error, or a schema error, as a single object.
@routes.post(
    "/publish/bulk",
    summary="Publish messages",
    body={"type": "array", "items": MESSAGE},
    responses={
        **{status: {**spec, "schema": {"type": "array", "items": RESULT}} for status, spec in RESPONSES.items()},
        400: {"description": "bad message or batch", "schema": {"type": "object"}},
    },
)
async def publish_bulk(call: Call) -> web.Response:
    if not call.body:
        # emqx_mgmt_api_publish crashes on `[]` ({error, empty_batch}, a 500); an empty batch is the
        # caller's mistake, so it is answered as one.
        raise ApiError(400, "BAD_REQUEST", "empty_batch")
    limit = await _max_packet_size(call)
    try:
        requests = [prepare(m, limit) for m in call.body]
    except Rejected as e:
        return Dialect.json(e.body, status=e.status)  # one bad message rejects the whole batch
    results = [outcome(r) for r in await call.control.publish_bulk(requests)]
    statuses = {s for s, _ in results}
    status = 503 if 503 in statuses else 202 if 202 in statuses else 200
    return Dialect.json([b for _, b in results], status=status)
