"""`mqtt/publish`, `mqtt/subscribe`, `mqtt/unsubscribe` (reference §1.4; seed 002 for the defaults).

The seed makes only `topic` required for publish (payload defaults to "", qos 0, retain false,
client_id "http"); failures are 102 with 2.3's messages.
"""
from __future__ import annotations

from gateway.http.routes import Param
from schemas.errors import InvalidArgument, NotFound, Unavailable
from schemas.records import PublishRequest, SubscribeRequest

from . import params
from .envelope import PARAMS_TYPE_ERROR, fail, ok
from .routing import add

TAGS = ("mqtt",)
DEFAULT_CLIENT_ID = "http"
QOS = (0, 1, 2)

PUBLISH = (
    Param(name="topic", type="string", required=True),
    Param(name="payload", type="string", default=""),
    Param(name="qos", type="integer", default=0, enum=QOS),
    Param(name="retain", type="boolean", default=False),
    Param(name="client_id", type="string", default=DEFAULT_CLIENT_ID),
)
SUBSCRIBE = (
    Param(name="client_id", type="string", required=True),
    Param(name="topic", type="string", required=True),
    Param(name="qos", type="integer", default=0, enum=QOS),
)
UNSUBSCRIBE = (
    Param(name="client_id", type="string", required=True),
    Param(name="topic", type="string", required=True),
)


def _bad_topic(topic: str):
    return fail(102, f"validate topic: {topic} fail")


def _qos(value: int) -> int:
    if value not in QOS:
        raise fail(108, PARAMS_TYPE_ERROR)
    return value


async def publish(ctx, request):
    p = await params.body_params(request, PUBLISH)
    req = PublishRequest(topic=p["topic"], payload=p["payload"].encode(), qos=_qos(p["qos"]), retain=p["retain"],
                         clientid=p["client_id"])
    try:
        await ctx.control.publish(req)
    except InvalidArgument:
        raise _bad_topic(p["topic"]) from None
    except Unavailable:
        raise fail(102, "broker stopped") from None
    return ok()


async def subscribe(ctx, request):
    p = await params.body_params(request, SUBSCRIBE)
    try:
        await ctx.control.subscribe(p["client_id"], [SubscribeRequest(topic=p["topic"], qos=_qos(p["qos"]))])
    except NotFound:
        raise fail(102, f"Clientid: {p['client_id']} not found") from None
    except InvalidArgument:
        raise _bad_topic(p["topic"]) from None
    return ok()


async def unsubscribe(ctx, request):
    p = await params.body_params(request, UNSUBSCRIBE)
    try:
        await ctx.control.unsubscribe(p["client_id"], [p["topic"]])
    except NotFound:
        raise fail(102, f"Clientid: {p['client_id']} not found") from None
    return ok()


def register(dl) -> None:
    add(dl, "POST", "/mqtt/publish", publish, body=PUBLISH, summary="Publish a message", tags=TAGS)
    add(dl, "POST", "/mqtt/subscribe", subscribe, body=SUBSCRIBE, summary="Subscribe a client with a session",
        tags=TAGS)
    add(dl, "POST", "/mqtt/unsubscribe", unsubscribe, body=UNSUBSCRIBE, summary="Unsubscribe a client", tags=TAGS)
