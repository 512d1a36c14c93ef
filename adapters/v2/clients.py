"""Clients, sessions, subscriptions and routes (reference §1.4).

2.3 kept connected clients (`mqtt_client`) apart from sessions (`mqtt_local_session`), which include
the persistent sessions of disconnected clients; both are rendered here from the one ClientInfo.
Lookups by key return `{"objects":[...]}`, possibly empty, never an error.
"""

from __future__ import annotations

import functools

from gateway.http.listing import ROWS
from gateway.http.routes import Call, Param, Routes
from schemas.errors import NotFound
from schemas.records import ClientInfo, ClientQuery, SubscriptionQuery

from . import params, rows
from .envelope import fail, ok, ok_listing

ACL_CACHE_BODY = params.body_schema(Param(name="topic", type="string", required=True))

routes = Routes()


async def _client(call: Call) -> ClientInfo | None:
    try:
        return await call.control.get_client(call.args["clientid"])
    except NotFound:
        return None


async def _connected(call: Call) -> list[ClientInfo]:
    info = await _client(call)
    return [info] if info is not None and info.connected else []


async def _paged(call: Call, fetch, row):
    """One page of a listing: ``fetch(offset=, limit=)`` is a BrokerControl listing, ``row`` encodes an item."""
    req = params.page(call.args)
    page = await fetch(offset=req.offset, limit=req.limit)
    return ok_listing(rows.paged(req, page.total or 0, ROWS), page.items, row)


# -- clients -----------------------------------------------------------------------------------


@routes.get(
    "/nodes/{node}/clients",
    name="node_clients",
    summary="Connected clients of a node (paged)",
    tags=("clients",),
    params=params.PAGING,
)
async def clients(call: Call):
    query = ClientQuery(conn_state="connected", node=call.args["node"], fields=rows.CLIENT_READS)
    return await _paged(call, functools.partial(call.control.list_clients, query), rows.client_json)


@routes.get("/clients/{clientid}", summary="A connected client, cluster-wide", tags=("clients",))
@routes.get(
    "/nodes/{node}/clients/{clientid}", name="node_client", summary="A connected client of a node", tags=("clients",)
)
async def client(call: Call):
    return ok(rows.lookup([rows.client_row(c) for c in await _connected(call)]))


@routes.delete("/clients/{clientid}", summary="Kick a connected client (112 if offline)", tags=("clients",))
async def kick(call: Call):
    if not await _connected(call):
        raise fail(112)
    # 2.3 closed the connection only: a persistent session stays, to its expiry.
    await call.control.kick_client(call.args["clientid"], discard_session=False)
    return ok()


@routes.put(
    "/clients/{clientid}/clean_acl_cache",
    body=ACL_CACHE_BODY,
    summary="Clean a connected client's ACL cache (112 if offline)",
    tags=("clients",),
)
async def clean_acl_cache(call: Call):
    """2.3 drops the cached verdicts for the one topic given; the client's other entries stay."""
    if not await _connected(call):
        raise fail(112)
    await call.control.clean_authz_cache(call.args["clientid"], call.body["topic"])
    return ok()


# -- sessions ----------------------------------------------------------------------------------


@routes.get(
    "/nodes/{node}/sessions",
    name="node_sessions",
    tags=("sessions",),
    params=params.PAGING,
    summary="Sessions of a node, offline persistent ones too (paged)",
)
async def sessions(call: Call):
    query = ClientQuery(node=call.args["node"], fields=rows.SESSION_READS)
    return await _paged(call, functools.partial(call.control.list_clients, query), rows.session_json)


@routes.get("/sessions/{clientid}", summary="A session, cluster-wide", tags=("sessions",))
@routes.get("/nodes/{node}/sessions/{clientid}", name="node_session", summary="A session of a node", tags=("sessions",))
async def session(call: Call):
    info = await _client(call)
    return ok(rows.lookup([] if info is None else [rows.session_row(info)]))


# -- subscriptions -----------------------------------------------------------------------------


@routes.get(
    "/nodes/{node}/subscriptions",
    name="node_subscriptions",
    summary="Subscriptions of a node (paged)",
    tags=("subscriptions",),
    params=params.PAGING,
)
async def subscriptions(call: Call):
    query = SubscriptionQuery(node=call.args["node"])
    return await _paged(call, functools.partial(call.control.list_subscriptions, query), rows.subscription_json)


@routes.get("/subscriptions/{clientid}", summary="A client's subscriptions, cluster-wide", tags=("subscriptions",))
@routes.get(
    "/nodes/{node}/subscriptions/{clientid}",
    name="node_client_subscriptions",
    summary="A client's subscriptions on a node",
    tags=("subscriptions",),
)
async def client_subscriptions(call: Call):
    try:
        subs = await call.control.client_subscriptions(call.args["clientid"])
    except NotFound:
        subs = []
    return ok(rows.lookup([rows.subscription_row(s) for s in subs]))


# -- routes ------------------------------------------------------------------------------------


# 2.3's regex was `^routes?$`: `route` works too.
@routes.get("/route", name="routes", summary="Route table (paged)", tags=("routes",), params=params.PAGING, hidden=True)
@routes.get("/routes", name="routes", summary="Route table (paged)", tags=("routes",), params=params.PAGING)
async def route_table(call: Call):
    return await _paged(call, functools.partial(call.control.list_routes, topic=None), rows.route_json)


# The topic may hold raw slashes or `%2F`; aiohttp decodes the captured value.
@routes.get("/routes/{topic:.+}", summary="Routes of one topic", tags=("routes",))
async def topic_routes(call: Call):
    try:
        found = await call.control.get_routes(call.args["topic"])
    except NotFound:
        found = []
    return ok(rows.lookup([rows.route_row(r) for r in found]))
