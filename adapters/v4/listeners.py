"""EMQX 4's listeners: the list (cluster-wide and per node) and a restart by `mqtt:<type>:<name>`."""

from __future__ import annotations

from aiohttp import web

from adapters.common.runtime import ACCEPTORS
from gateway.http.routes import Call, Routes
from schemas.records import ListenerInfo

from . import emqx4_http
from .emqx4_http import cluster_and_node_views, on_cluster_and_node

emqx4 = Routes(**emqx4_http.ROUTES)


def _row(lst: ListenerInfo) -> dict:
    return {
        "protocol": f"mqtt:{lst.type}",
        "identifier": f"mqtt:{lst.type}:{lst.name}",
        "listen_on": f"{lst.bind}:{lst.port}",
        "acceptors": ACCEPTORS,
        "max_conns": lst.max_connections,
        "current_conns": lst.current_connections if lst.running else 0,
        "shutdown_count": [] if not lst.shutdown_count else [{"closed": lst.shutdown_count}],
    }


@cluster_and_node_views(
    emqx4,
    "/listeners",
    "/nodes/{node}/listeners",
    "listeners",
    cluster=("list_listeners", "List listeners in the cluster"),
    node=("list_node_listeners", "List listeners in a node"),
)
async def listeners(call: Call, node: str) -> list:
    return [_row(lst) for lst in await call.control.listeners(node)]


@on_cluster_and_node(
    emqx4, "PUT", "/listeners/{identifier}/restart", name="restart_listener", summary="Restart a listener"
)
async def restart(call: Call) -> web.StreamResponse:
    await call.control.listener_action(call.args["identifier"].removeprefix("mqtt:"), "restart")
    return emqx4_http.ok()
