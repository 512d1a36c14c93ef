"""Nodes, stats and metrics (emqx_mgmt_api_nodes / _stats / _metrics), of every node of the cluster."""

from __future__ import annotations

from aiohttp import web

from adapters.common.runtime import runtime_release
from adapters.common.timefmt import memory_string
from gateway.http.dialect import Dialect
from gateway.http.routes import Call, Routes

from .errors import node_not_found
from .validation import NODE_PATH, q

EDITION = "Opensource"
ROLE = "core"


async def require_node(call: Call, node: str) -> str:
    """Path `{node}` must name a node of the cluster: 404 NOT_FOUND "Node not found: <node>" otherwise."""
    if node not in await call.control.node_names():
        raise node_not_found(node)
    return node


async def require_listed_node(call: Call) -> str | None:
    """Query `?node=` on list endpoints must name a node of the cluster. EMQX answers 500 NODE_DOWN (its
    RPC to the node failed); the node list says the name is simply not one of them, so: 404 NOT_FOUND."""
    node = call.args.get("node")
    return None if node is None else await require_node(call, node)


def node_info_doc(info) -> dict:
    return {
        "node": info.node,
        "node_status": info.node_status,
        "version": info.version,
        "edition": EDITION,
        "role": ROLE,
        "uptime": int(info.uptime * 1000),
        "connections": info.connections,
        "live_connections": info.live_connections,
        "cluster_sessions": info.connections,
        "load1": round(info.load1, 2),
        "load5": round(info.load5, 2),
        "load15": round(info.load15, 2),
        "max_fds": info.max_fds,
        # EMQX prints "~.2f" with G/M/K, or the plain integer below 1 KiB — always a string.
        "memory_total": str(memory_string(info.memory_total)),
        "memory_used": str(memory_string(info.memory_used)),
        "process_available": info.process_available,
        "process_used": info.process_used,
        "otp_release": runtime_release(info),
    }


COUNTERS = {"type": "object", "additionalProperties": {"type": "integer"}}
# Per-node rows carry the node's name beside the counters.
NODE_COUNTERS = {
    "type": "object",
    "properties": {"node": {"type": "string"}},
    "additionalProperties": {"type": "integer"},
}
NODE_INFO = {
    "type": "object",
    "properties": {
        "node": {"type": "string"},
        "node_status": {"type": "string", "enum": ["running", "stopped"]},
        "version": {"type": "string"},
        "edition": {"type": "string"},
        "role": {"type": "string"},
        "uptime": {"type": "integer", "description": "milliseconds"},
        "connections": {"type": "integer"},
        "live_connections": {"type": "integer"},
        "cluster_sessions": {"type": "integer"},
        "load1": {"type": "number"},
        "load5": {"type": "number"},
        "load15": {"type": "number"},
        "max_fds": {"type": "integer"},
        "memory_total": {"type": "string"},
        "memory_used": {"type": "string"},
        "process_available": {"type": "integer"},
        "process_used": {"type": "integer"},
        "otp_release": {"type": "string", "description": "the runtime under the broker (EMQX: Erlang/OTP)"},
    },
}
NOT_FOUND = {404: {"description": "Node not found"}}
AGGREGATE = q("aggregate", "boolean", "Sum over all nodes into one object", default=False)

routes = Routes()


@routes.get(
    "/nodes", tags=("Nodes",), summary="List nodes", responses={200: {"schema": {"type": "array", "items": NODE_INFO}}}
)
async def list_nodes(call: Call) -> web.Response:
    return Dialect.json([node_info_doc(info) for info in await call.control.nodes()])


@routes.get(
    "/nodes/{node}",
    tags=("Nodes",),
    summary="Get node info",
    params=(NODE_PATH,),
    responses={200: {"schema": NODE_INFO}, **NOT_FOUND},
)
async def get_node(call: Call) -> web.Response:
    node = await require_node(call, call.args["node"])
    return Dialect.json(node_info_doc(await call.control.node_info(node)))


@routes.get(
    "/nodes/{node}/metrics",
    tags=("Nodes",),
    summary="Get node metrics",
    params=(NODE_PATH,),
    responses={200: {"schema": COUNTERS}, **NOT_FOUND},
)
async def node_metrics(call: Call) -> web.Response:
    node = await require_node(call, call.args["node"])
    return Dialect.json((await call.control.metrics(node)).counters)


@routes.get(
    "/nodes/{node}/stats",
    tags=("Nodes",),
    summary="Get node stats",
    params=(NODE_PATH,),
    responses={200: {"schema": COUNTERS}, **NOT_FOUND},
)
async def node_stats(call: Call) -> web.Response:
    node = await require_node(call, call.args["node"])
    return Dialect.json((await call.control.stats(node)).stats)


@routes.get(
    "/stats",
    tags=("Metrics",),
    summary="Cluster or per-node stats",
    params=(AGGREGATE,),
    responses={200: {"schema": {"oneOf": [COUNTERS, {"type": "array", "items": NODE_COUNTERS}]}}},
)
async def get_stats(call: Call) -> web.Response:
    if call.args["aggregate"]:
        return Dialect.json((await call.control.stats()).stats)
    return Dialect.json([{"node": snap.node, **snap.stats} for snap in await call.control.stats_per_node()])


@routes.get(
    "/metrics",
    tags=("Metrics",),
    summary="Cluster or per-node metrics",
    params=(AGGREGATE, q("node", description="Only this node (with aggregate=false)")),
    responses={200: {"schema": {"oneOf": [COUNTERS, {"type": "array", "items": NODE_COUNTERS}]}}},
)
async def get_metrics(call: Call) -> web.Response:
    if call.args["aggregate"]:
        return Dialect.json((await call.control.metrics()).counters)
    node = call.args.get("node")
    # emqx_mgmt_api_metrics: an unknown node lists nothing
    return Dialect.json(
        [
            {"node": snap.node, **snap.counters}
            for snap in await call.control.metrics_per_node()
            if node is None or snap.node == node
        ]
    )
