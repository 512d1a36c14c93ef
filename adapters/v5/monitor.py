"""Dashboard charts (emqx_dashboard_monitor_api): the sampled history and the current values with
per-second rates, of the cluster or of one node, as the control interface keeps them."""

from __future__ import annotations

from aiohttp import web

from gateway.http.dialect import Dialect
from gateway.http.routes import Call, Routes

from .nodes import require_node
from .validation import NODE_PATH, q

SAMPLE_KEYS = (
    "time_stamp",
    "connections",
    "live_connections",
    "subscriptions",
    "topics",
    "disconnected_durable_sessions",
    "subscriptions_durable",
    "received",
    "sent",
    "dropped",
    "validation_succeeded",
    "validation_failed",
    "transformation_succeeded",
    "transformation_failed",
    "persisted",
)
SAMPLE_SCHEMA = {"type": "object", "properties": {k: {"type": "integer"} for k in SAMPLE_KEYS}}
CURRENT_SCHEMA = {"type": "object", "additionalProperties": {"type": "integer"}}
LATEST = q("latest", "integer", "Only the last N seconds", minimum=1)
HISTORY = {200: {"schema": {"type": "array", "items": SAMPLE_SCHEMA}}}
NODE_NOT_FOUND = {404: {"description": "Node not found"}}

routes = Routes(tags=("Metrics",))


@routes.get("/monitor", summary="Sampled history", params=(LATEST,), responses=HISTORY)
async def get_monitor(call: Call) -> web.Response:
    return Dialect.json(await call.control.monitor(latest=call.args.get("latest")))


@routes.delete("/monitor", summary="Clear the sampled history", responses={204: {"description": "cleared"}})
async def delete_monitor(call: Call) -> web.Response:
    await call.control.clear_monitor()
    return web.Response(status=204)


@routes.get(
    "/monitor/nodes/{node}",
    summary="Sampled history of a node",
    params=(NODE_PATH, LATEST),
    responses={**HISTORY, **NODE_NOT_FOUND},
)
async def get_node_monitor(call: Call) -> web.Response:
    node = await require_node(call, call.args["node"])
    return Dialect.json(await call.control.monitor(node=node, latest=call.args.get("latest")))


@routes.get("/monitor_current", summary="Current values and rates", responses={200: {"schema": CURRENT_SCHEMA}})
async def get_current(call: Call) -> web.Response:
    return Dialect.json(await call.control.monitor_current())


@routes.get(
    "/monitor_current/nodes/{node}",
    summary="Current values and rates of a node",
    params=(NODE_PATH,),
    responses={200: {"schema": CURRENT_SCHEMA}, **NODE_NOT_FOUND},
)
async def get_node_current(call: Call) -> web.Response:
    node = await require_node(call, call.args["node"])
    return Dialect.json(await call.control.monitor_current(node=node))
