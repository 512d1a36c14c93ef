"""`POST /mqtt/publish` bodies of both flavors, parsed into PublishRequests (the routes: ``publish.py``).

The two products read the same keys with two differences: NanoMQ's ``encoding: base64`` base64-*encodes*
the payload before publishing and ``decoding: base64`` decodes the given text, while EMQX 4's
``encoding: base64`` means "the payload is base64" (decode it); EMQX 4 also takes a JSON object as the
payload (published as its JSON text). Bad input is PublishError with the flavor's result code.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from schemas.records import API_PUBLISHERS, PublishRequest

from . import codes

NANOMQ_DEFAULT_CLIENTID = API_PUBLISHERS["nanomq"]
EMQX4_DEFAULT_CLIENTID = API_PUBLISHERS["emqx4"]

# MQTT 5 PUBLISH properties the body may carry: name -> accepted JSON type.
PROPERTY_TYPES = {
    "payload_format_indicator": int,
    "message_expiry_interval": int,
    "response_topic": str,
    "correlation_data": str,
    "content_type": str,
    "subscription_identifier": int,
    "user_properties": dict,
}


class PublishError(ValueError):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def _properties(raw: Any, bad: int) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PublishError(bad, "properties must be an object")
    out: dict = {}
    for key, value in raw.items():
        kind = PROPERTY_TYPES.get(key)
        if kind is None or not isinstance(value, kind) or isinstance(value, bool):
            raise PublishError(bad, f"bad property {key!r}")
        if key == "user_properties":
            out["user_property"] = [(str(k), str(v)) for k, v in value.items()]
        elif key == "correlation_data":
            out[key] = value.encode()
        elif key == "subscription_identifier":
            continue  # per-hop: the broker assigns each subscriber's own [MQTT-3.3.4-3]
        else:
            out[key] = value
    return out


def _topics(body: dict) -> list[str]:
    if isinstance(body.get("topic"), str) and body["topic"]:
        return [body["topic"]]
    if isinstance(body.get("topics"), str):
        return [t.strip() for t in body["topics"].split(",") if t.strip()]
    return []


def parse(body: Any, flavor: str) -> list[PublishRequest]:
    """One request per topic; ``flavor`` is "nanomq" or "emqx4"."""
    nano = flavor == "nanomq"
    bad = codes.REQ_PARAM_ERROR
    if not isinstance(body, dict):
        raise PublishError(codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL, "body must be a JSON object")
    topics = _topics(body)
    payload = body.get("payload")
    if not topics:
        raise PublishError(bad if nano else codes.EMQX4_BAD_TOPIC, "bad_topic" if not nano else "missing topic")
    if payload is None or (nano and not isinstance(payload, str)):
        raise PublishError(bad, "bad_params")
    if isinstance(payload, (dict, list)):
        data = orjson.dumps(payload)
    elif isinstance(payload, str):
        data = payload.encode()
    else:
        raise PublishError(bad, "bad_params")
    try:
        if nano:
            if body.get("decoding") == "base64":
                data = base64.b64decode(data, validate=True)
            if body.get("encoding") == "base64":
                data = base64.b64encode(data)
        elif body.get("encoding") == "base64":
            data = base64.b64decode(data, validate=True)
    except binascii.Error:
        raise PublishError(bad, "bad base64 payload") from None
    qos = body.get("qos", 0)
    if not isinstance(qos, int) or isinstance(qos, bool) or qos not in (0, 1, 2):
        raise PublishError(bad if nano else codes.EMQX4_BAD_QOS, "bad qos")
    retain = body.get("retain", False)
    if not isinstance(retain, bool):
        raise PublishError(bad, "bad retain")
    clientid = body.get("clientid", NANOMQ_DEFAULT_CLIENTID if nano else EMQX4_DEFAULT_CLIENTID)
    if not isinstance(clientid, str):
        raise PublishError(bad, "clientid must be a string")
    props = _properties(body.get("properties"), bad)
    if not nano and isinstance(body.get("user_properties"), dict):
        props.setdefault("user_property", [(str(k), str(v)) for k, v in body["user_properties"].items()])
    return [
        PublishRequest(topic=t, payload=data, qos=qos, retain=retain, clientid=clientid, properties=props)
        for t in topics
    ]
