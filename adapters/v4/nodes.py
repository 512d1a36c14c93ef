"""Brokers and nodes: NanoMQ's one-element lists, EMQX 4's cluster lists and per-node lookups."""

from __future__ import annotations

from aiohttp import web

from adapters.common.legacy_nodes import as_broker, node_figures, node_status
from adapters.common.timefmt import legacy_datetime, uptime_emq, uptime_nanomq
from gateway.http.routes import Call, Routes

from . import emqx4_http, nanomq_http
from .emqx4_http import cluster_and_node_views

NANOMQ_SYSDESCR = "NanoMQ Broker"

nanomq = Routes(**nanomq_http.ROUTES)
emqx4 = Routes(**emqx4_http.ROUTES)


@nanomq.get("/brokers", name="list_brokers", summary="A list of brokers in the cluster")
async def nanomq_brokers(call: Call) -> web.StreamResponse:
    return nanomq_http.ok(
        [
            {
                "datetime": legacy_datetime(info.datetime),
                "node_status": node_status(info),
                "sysdescr": NANOMQ_SYSDESCR,
                "uptime": uptime_nanomq(info.uptime),
                "version": info.version,
            }
            for info in await call.control.nodes()
        ]
    )


@nanomq.get("/nodes", name="list_nodes", summary="A list of nodes in the cluster")
async def nanomq_nodes(call: Call) -> web.StreamResponse:
    return nanomq_http.ok(
        [
            {
                "connections": info.live_connections,
                "node_status": node_status(info),
                "uptime": uptime_nanomq(info.uptime),
                "version": info.version,
            }
            for info in await call.control.nodes()
        ]
    )


@cluster_and_node_views(
    emqx4,
    "/brokers",
    "/brokers/{node}",
    None,
    cluster=("list_brokers", "A list of brokers in the cluster"),
    node=("lookup_broker", "Lookup a broker in the cluster"),
)
async def emqx4_broker(call: Call, node: str) -> dict:
    info = await call.control.node_info(node)
    return {"node": info.node, **as_broker(info)}


@cluster_and_node_views(
    emqx4,
    "/nodes",
    "/nodes/{node}",
    None,
    cluster=("list_nodes", "A list of nodes in the cluster"),
    node=("lookup_node", "Lookup a node in the cluster"),
)
async def emqx4_node(call: Call, node: str) -> dict:
    i = await call.control.node_info(node)
    return {
        "node": i.node,
        "version": i.version,
        "uptime": uptime_emq(i.uptime),
        **node_figures(i),
        "connections": i.connections,
        "live_connections": i.live_connections,
    }
