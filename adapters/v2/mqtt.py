"""`mqtt/publish`, `mqtt/subscribe`, `mqtt/unsubscribe` (reference §1.4; seed 002 for the defaults).

The seed makes only `topic` required for publish (payload defaults to "", qos 0, retain false,
client_id "http"); failures are 102 with 2.3's messages, which quote the request.
"""

from __future__ import annotations

from gateway.http.routes import Call, Param, Routes
from schemas.errors import InvalidArgument, NotFound, Unavailable
from schemas.records import API_PUBLISHERS, PublishRequest, SubscribeRequest

from .envelope import ok
from .params import body_schema

DEFAULT_CLIENT_ID = API_PUBLISHERS["v2"]
QOS = (0, 1, 2)

PUBLISH = body_schema(
    Param(name="topic", type="string", required=True),
    Param(name="payload", type="string", default=""),
    Param(name="qos", type="integer", default=0, enum=QOS),
    Param(name="retain", type="boolean", default=False),
    Param(name="client_id", type="string", default=DEFAULT_CLIENT_ID),
)
SUBSCRIBE = body_schema(
    Param(name="client_id", type="string", required=True),
    Param(name="topic", type="string", required=True),
    Param(name="qos", type="integer", default=0, enum=QOS),
)
UNSUBSCRIBE = body_schema(
    Param(name="client_id", type="string", required=True),
    Param(name="topic", type="string", required=True),
)
BAD_TOPIC = (102, "validate topic: {topic} fail")
NO_CLIENT = (102, "Clientid: {client_id} not found")

routes = Routes(tags=("mqtt",))


@routes.post(
    "/mqtt/publish",
    body=PUBLISH,
    summary="Publish a message",
    errors={InvalidArgument: BAD_TOPIC, Unavailable: (102, "broker stopped")},
)
async def publish(call: Call):
    b = call.body
    await call.control.publish(
        PublishRequest(
            topic=b["topic"], payload=b["payload"].encode(), qos=b["qos"], retain=b["retain"], clientid=b["client_id"]
        )
    )
    return ok()


@routes.post(
    "/mqtt/subscribe",
    body=SUBSCRIBE,
    summary="Subscribe a client with a session",
    errors={NotFound: NO_CLIENT, InvalidArgument: BAD_TOPIC},
)
async def subscribe(call: Call):
    b = call.body
    await call.control.subscribe(b["client_id"], [SubscribeRequest(topic=b["topic"], qos=b["qos"])])
    return ok()


@routes.post("/mqtt/unsubscribe", body=UNSUBSCRIBE, summary="Unsubscribe a client", errors={NotFound: NO_CLIENT})
async def unsubscribe(call: Call):
    await call.control.unsubscribe(call.body["client_id"], [call.body["topic"]])
    return ok()
