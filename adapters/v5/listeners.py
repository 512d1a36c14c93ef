"""MQTT listeners (emqx_mgmt_api_listeners): list, status, one listener, start/stop/restart, and
create, update, delete: real listeners that start serving, or stop, at once, and are kept in the
configuration (auth-config-apis.md §5).

A listener object is EMQX's with the fields this broker has (type, name, bind, enable,
max_connections, the WebSocket path, the TLS files); `mountpoint` and `zone` state what this broker
does. A PUT replaces the listener: fields left out get their defaults, except `bind`, which stays.
"""

from __future__ import annotations

from typing import Any

import attrs
from aiohttp import web

from adapters.common import units
from gateway.http.dialect import ApiError, Dialect
from gateway.http.routes import Call, Routes
from schemas.binds import format_bind, parse_bind
from schemas.errors import Conflict, NotSupported
from schemas.records import LISTENER_TYPES, NO_CONNECTION_LIMIT, ListenerConfig, ListenerInfo

from .errors import BAD_LISTENER_ID, bad_request
from .validation import path, q

# Listener types EMQX has and this broker does not.
UNSUPPORTED_TYPES = ("quic",)
DEFAULT_WS_PATH = attrs.fields(ListenerConfig).path.default


def bind_of(lst) -> str:
    return format_bind(lst.bind, lst.port)


def parse_bind_field(value: Any) -> tuple[str, int]:
    """A body's bind: a string as EMQX writes it, or a port number (`1883`)."""
    parsed = parse_bind(str(value)) if not isinstance(value, bool) else None
    if parsed is None:
        raise bad_request(f'bad bind {value!r}: expected "host:port" or a port')
    return parsed


def _max_connections(lst) -> int | str:
    return units.INFINITY if lst.max_connections >= NO_CONNECTION_LIMIT else lst.max_connections


def _status(lst) -> dict:
    return {
        "running": lst.running,
        "max_connections": _max_connections(lst),
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


def listener_config(lst: ListenerInfo, lc: ListenerConfig) -> dict:
    """One listener as `GET /listeners/{id}` shows it: its configuration and its state."""
    doc: dict[str, Any] = {
        "id": lst.id,
        "type": lst.type,
        "name": lst.name,
        "enable": lst.enable,
        "bind": bind_of(lst),
        "max_connections": _max_connections(lst),
        "mountpoint": "",
        "zone": "default",
        "running": lst.running,
        "current_connections": lst.current_connections,
    }
    if lc.type in ("ws", "wss"):
        doc["websocket"] = {"mqtt_path": lc.path}
    if lc.type in ("ssl", "wss"):
        doc["ssl_options"] = {"certfile": lc.certfile, "keyfile": lc.keyfile, "cacertfile": lc.cacertfile}
    return doc


def listener_from(body: dict, listener_id: str, current: ListenerConfig | None) -> ListenerConfig:
    """The ListenerConfig a POST or PUT body describes; left-out fields get their defaults, a left-out
    bind stays the ``current`` listener's."""
    kind, _, name = listener_id.partition(":")
    if kind in UNSUPPORTED_TYPES:
        raise NotSupported(f"this broker has no {kind} listeners", kind="listener")
    if "bind" in body:
        host, port = parse_bind_field(body["bind"])
    elif current is not None:
        host, port = current.bind, current.port
    else:
        raise bad_request("bind is required")
    for key, only in (("mountpoint", ""), ("zone", "default")):
        if body.get(key, only) != only:
            raise NotSupported(f"{key}: this broker only has {only!r}", kind="listener")
    limit = body.get("max_connections", units.INFINITY)
    tls = body.get("ssl_options") or {}
    return ListenerConfig(
        type=kind,
        name=name,
        bind=host,
        port=port,
        enable=body.get("enable", True),
        max_connections=NO_CONNECTION_LIMIT if limit == units.INFINITY else limit,
        path=(body.get("websocket") or {}).get("mqtt_path", DEFAULT_WS_PATH),
        certfile=tls.get("certfile"),
        keyfile=tls.get("keyfile"),
        cacertfile=tls.get("cacertfile"),
    )


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
# A listener's own fields, as POST and PUT take them and GET /listeners/{id} shows them.
LISTENER_FIELDS: dict[str, dict] = {
    "type": {"type": "string", "enum": [*LISTENER_TYPES, *UNSUPPORTED_TYPES]},
    "enable": {"type": "boolean", "default": True},
    "bind": {"anyOf": [{"type": "string"}, {"type": "integer"}], "description": '"host:port", or a port'},
    "max_connections": {
        "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": [units.INFINITY]}],
        "default": units.INFINITY,
    },
    "mountpoint": {"type": "string", "description": 'only "" here: topics are not mounted'},
    "zone": {"type": "string", "description": 'only "default" here: there is one zone'},
    "websocket": {
        "type": "object",
        "properties": {"mqtt_path": {"type": "string", "default": DEFAULT_WS_PATH}},
        "additionalProperties": False,
    },
    "ssl_options": {
        "type": "object",
        "properties": {name: {"type": "string"} for name in ("certfile", "keyfile", "cacertfile")},
        "additionalProperties": False,
    },
    # What GET shows of its state: a PUT of a fetched object may carry it along, and it is ignored.
    "running": {"type": "boolean"},
    "current_connections": {"type": "integer"},
}
CREATE_BODY = {
    "type": "object",
    "properties": {**LISTENER_FIELDS, "name": {"type": "string"}},
    "required": ["type", "name", "bind"],
    "additionalProperties": False,
}
UPDATE_BODY = {
    "type": "object",
    "properties": {**LISTENER_FIELDS, "id": {"type": "string"}, "name": {"type": "string"}},
    "required": ["type"],
    "additionalProperties": False,
}
LISTENER_OBJECT = {
    "type": "object",
    "properties": {
        **LISTENER_FIELDS,
        "id": {"type": "string"},
        "name": {"type": "string"},
        "bind": {"type": "string"},
    },
}

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
    limits = [_max_connections(lst) for lst in lsts]
    return {
        "running": running.pop() if len(running) == 1 else "inconsistent",
        "max_connections": units.INFINITY if units.INFINITY in limits else sum(limits),
        "current_connections": sum(lst.current_connections for lst in lsts),
    }


async def _one(call: Call, listener_id: str) -> dict:
    for lst in await call.control.listeners():
        if lst.id == listener_id:
            cfg = await call.control.get_config()
            lc = next((c for c in cfg.listeners if c.id == listener_id), None)
            return listener_config(lst, lc or ListenerConfig(type=lst.type, name=lst.name))
    raise ApiError(*BAD_LISTENER_ID)


@routes.get(
    "/listeners/{id}",
    summary="One listener",
    params=(LISTENER_ID,),
    responses={200: {"schema": LISTENER_OBJECT}, 404: {"description": "BAD_LISTENER_ID"}},
)
async def get_listener(call: Call) -> web.Response:
    return Dialect.json(await _one(call, call.args["id"]))


async def _create(call: Call, listener_id: str) -> web.Response:
    config = listener_from(call.body, listener_id, None)
    try:
        await call.control.add_listener(config)
    except Conflict:
        raise ApiError(400, "BAD_LISTENER_ID", "Already Exist") from None
    return Dialect.json(await _one(call, config.id))


@routes.post(
    "/listeners",
    summary="Create a listener (it serves at once when enabled)",
    body=CREATE_BODY,
    responses={200: {"schema": LISTENER_OBJECT}, 400: {"description": "BAD_LISTENER_ID / BAD_REQUEST"}},
)
async def create_listener(call: Call) -> web.Response:
    return await _create(call, f"{call.body['type']}:{call.body['name']}")


# Deprecated in EMQX 5 but what its dashboard (1.10) creates listeners with: the id is in the path.
@routes.post(
    "/listeners/{id}",
    summary="Create a listener by id (deprecated form)",
    params=(LISTENER_ID,),
    body=UPDATE_BODY,
    responses={200: {"schema": LISTENER_OBJECT}, 400: {"description": "BAD_LISTENER_ID / BAD_REQUEST"}},
)
async def create_listener_by_id(call: Call) -> web.Response:
    listener_id = _checked_id(call)
    return await _create(call, listener_id)


def _checked_id(call: Call) -> str:
    """The path's listener id, which the body (its `id`, its `type`) must not contradict."""
    listener_id = call.args["id"]
    kind, sep, name = listener_id.partition(":")
    if not sep or not name:
        raise ApiError(400, "BAD_LISTENER_ID", f"Bad listener id {listener_id}")
    if call.body.get("id", listener_id) != listener_id:
        raise ApiError(400, "BAD_LISTENER_ID", "Path and body's listener id not match")
    if call.body["type"] != kind:
        raise bad_request("listener_type_inconsistent")
    return listener_id


@routes.put(
    "/listeners/{id}",
    summary="Replace a listener (its clients are disconnected; left-out fields get their defaults)",
    params=(LISTENER_ID,),
    body=UPDATE_BODY,
    responses={
        200: {"schema": LISTENER_OBJECT},
        400: {"description": "BAD_LISTENER_ID / BAD_REQUEST"},
        404: {"description": "BAD_LISTENER_ID"},
    },
)
async def update_listener(call: Call) -> web.Response:
    listener_id = _checked_id(call)
    cfg = await call.control.get_config()
    current = next((c for c in cfg.listeners if c.id == listener_id), None)
    if current is None:
        raise ApiError(*BAD_LISTENER_ID)
    await call.control.update_listener(listener_from(call.body, listener_id, current))
    return Dialect.json(await _one(call, listener_id))


@routes.delete(
    "/listeners/{id}",
    summary="Delete a listener (its clients are disconnected)",
    params=(LISTENER_ID,),
    responses={204: {"description": "deleted"}, 404: {"description": "BAD_LISTENER_ID"}},
)
async def delete_listener(call: Call) -> web.Response:
    await call.control.remove_listener(call.args["id"])
    return web.Response(status=204)


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
