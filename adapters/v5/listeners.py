"""MQTT listeners (emqx_mgmt_api_listeners): list, status, one listener, start/stop/restart.

Creating, updating and deleting listeners is left out: the control interface cannot do it.
"""

from __future__ import annotations

from aiohttp import web

from gateway.http.dialect import ApiError, Dialect
from gateway.http.routes import Call, Routes
from schemas.records import LISTENER_TYPES, ListenerInfo

from .errors import BAD_LISTENER_ID
from .validation import path, q


def bind_of(lst) -> str:
    host = f"[{lst.bind}]" if ":" in lst.bind else lst.bind
    return f"{host}:{lst.port}"


def _status(lst) -> dict:
    return {
        "running": lst.running,
        "max_connections": lst.max_connections,
        "current_connections": lst.current_connections,
    }


def listener_doc(lst, on_nodes: dict[str, ListenerInfo]) -> dict:
    """A listener of the cluster (``lst``) with its state on each node (node name -> the same listener)."""
    return {
        "id": lst.id,
        "type": lst.type,
        "name": lst.name,
        "enable": lst.enable,
        "number": len(on_nodes),
        "bind": bind_of(lst),
        "status": _status(lst),
        "node_status": [{"node": node, "status": _status(one)} for node, one in on_nodes.items()],
    }


async def _by_node(call: Call) -> dict[str, dict[str, ListenerInfo]]:
    """listener id -> {node: the listener on that node}."""
    out: dict[str, dict[str, ListenerInfo]] = {}
    for node in await call.control.node_names():
        for lst in await call.control.listeners(node):
            out.setdefault(lst.id, {})[node] = lst
    return out


def listener_config(lst) -> dict:
    doc = {
        "id": lst.id,
        "type": lst.type,
        "name": lst.name,
        "enable": lst.enable,
        "bind": bind_of(lst),
        "max_connections": lst.max_connections,
        "running": lst.running,
        "current_connections": lst.current_connections,
    }
    if lst.path is not None:
        doc["websocket"] = {"mqtt_path": lst.path}
    return doc


STATUS = {
    "type": "object",
    "properties": {
        "running": {"anyOf": [{"type": "boolean"}, {"type": "string"}]},
        "max_connections": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "current_connections": {"type": "integer"},
    },
}
LISTENER = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "type": {"type": "string"},
        "name": {"type": "string"},
        "enable": {"type": "boolean"},
        "number": {"type": "integer"},
        "bind": {"type": "string"},
        "status": STATUS,
        "node_status": {
            "type": "array",
            "items": {"type": "object", "properties": {"node": {"type": "string"}, "status": STATUS}},
        },
    },
}
LISTENER_ID = path("id", "<type>:<name>, e.g. tcp:default")

routes = Routes(tags=("Listeners",))


@routes.get(
    "/listeners",
    summary="List listeners",
    params=(q("type", enum=(*LISTENER_TYPES, "quic")),),
    responses={200: {"schema": {"type": "array", "items": LISTENER}}},
)
async def list_listeners(call: Call) -> web.Response:
    on_nodes = await _by_node(call)
    rows = [
        listener_doc(lst, on_nodes.get(lst.id, {}))
        for lst in await call.control.listeners()
        if "type" not in call.args or lst.type == call.args["type"]
    ]
    return Dialect.json(rows)


@routes.get(
    "/listeners_status",
    summary="Listener status by type",
    responses={200: {"schema": {"type": "array", "items": {"type": "object"}}}},
)
async def listeners_status(call: Call) -> web.Response:
    groups: dict[str, list] = {}
    for lst in await call.control.listeners():
        groups.setdefault(lst.type, []).append(lst)
    on_nodes = {node: await call.control.listeners(node) for node in await call.control.node_names()}
    out = []
    for kind, lsts in groups.items():
        out.append(
            {
                "type": kind,
                "enable": any(lst.enable for lst in lsts),
                "ids": [lst.id for lst in lsts],
                "status": _type_status(lsts),
                "node_status": [
                    {"node": node, "status": _type_status([lst for lst in on_node if lst.type == kind])}
                    for node, on_node in on_nodes.items()
                ],
            }
        )
    return Dialect.json(out)


def _type_status(lsts: list[ListenerInfo]) -> dict:
    running = {lst.running for lst in lsts}
    return {
        "running": running.pop() if len(running) == 1 else "inconsistent",
        "max_connections": sum(lst.max_connections for lst in lsts),
        "current_connections": sum(lst.current_connections for lst in lsts),
    }


@routes.get(
    "/listeners/{id}",
    summary="One listener",
    params=(LISTENER_ID,),
    responses={200: {"schema": {"type": "object"}}, 404: {"description": "BAD_LISTENER_ID"}},
)
async def get_listener(call: Call) -> web.Response:
    for lst in await call.control.listeners():
        if lst.id == call.args["id"]:
            return Dialect.json(listener_config(lst))
    raise ApiError(*BAD_LISTENER_ID)


@routes.post(
    "/listeners/{id}/{action}",
    summary="Start, stop or restart a listener",
    params=(LISTENER_ID, path("action", enum=("start", "stop", "restart"))),
    responses={200: {"description": "done"}, 404: {"description": "BAD_LISTENER_ID"}},
)
async def listener_action(call: Call) -> web.Response:
    try:
        await call.control.listener_action(call.args["id"], call.args["action"])
    except OSError as e:  # the port cannot be bound again (taken meanwhile)
        raise ApiError(400, "BAD_REQUEST", str(e)) from None
    return web.Response(status=200)
