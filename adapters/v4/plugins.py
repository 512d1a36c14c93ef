"""EMQX 4's plugins, which here are the broker's switchable features: the list, and load / unload /
reload on a node (cluster-wide: unload and reload only, as in 4.4). Failures are message-only."""

from __future__ import annotations

from aiohttp import web

from gateway.http.routes import Call, Param, Routes

from . import emqx4_http
from .emqx4_http import cluster_and_node_views

emqx4 = Routes(**emqx4_http.ROUTES)


@cluster_and_node_views(
    emqx4,
    "/plugins",
    "/nodes/{node}/plugins",
    "plugins",
    cluster=("list_all_plugins", "List all plugins in the cluster"),
    node=("list_node_plugins", "List all plugins on a node"),
)
async def plugins(call: Call, node: str) -> list:
    # Features are switched cluster-wide: every node shows the same.
    return [
        {"name": f.name, "description": f.description, "active": f.enabled, "type": "feature"}
        for f in await call.control.features()
    ]


@emqx4.put(
    "/plugins/{plugin}/{action}",
    name="plugin_action",
    summary="Unload or reload a plugin in the cluster",
    params=(Param(name="action", where="path", enum=("unload", "reload")),),
)
@emqx4.put(
    "/nodes/{node}/plugins/{plugin}/{action}",
    name="plugin_action_on_node",
    summary="Load, unload or reload a plugin on a node",
    params=(Param(name="action", where="path", enum=("load", "unload", "reload")),),
)
async def plugin_action(call: Call) -> web.StreamResponse:
    name, action = call.args["plugin"], call.args["action"]
    current = next((f for f in await call.control.features() if f.name == name), None)
    if current is None:
        raise emqx4_http.fail(None, "not_found")
    if action == "load" and current.enabled:
        raise emqx4_http.fail(None, "already_started")
    if action == "unload" and not current.enabled:
        raise emqx4_http.fail(None, "not_started")
    if action == "reload":
        await call.control.set_feature(name, False)
    await call.control.set_feature(name, action != "unload")
    return emqx4_http.ok()
