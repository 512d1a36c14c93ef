"""Clients, sessions, subscriptions and routes (reference §1.4).

2.3 kept connected clients (`mqtt_client`) apart from sessions (`mqtt_local_session`), which include
the persistent sessions of disconnected clients; both are rendered here from the one ClientInfo.
Lookups by key return `{"objects":[...]}`, possibly empty, never an error.
"""
from __future__ import annotations

import functools

from gateway.http.routes import Param
from schemas.errors import NotFound
from schemas.records import ClientInfo, ClientQuery, SubscriptionQuery

from . import params, rows
from .envelope import ok, fail
from .routing import add, on_node

CONNECTED = ClientQuery(conn_state="connected")
ALL_SESSIONS = ClientQuery()
ACL_CACHE_BODY = (Param(name="topic", type="string", required=True),)


async def _client(ctx, clientid: str) -> ClientInfo | None:
    try:
        return await ctx.control.get_client(clientid)
    except NotFound:
        return None


async def _connected(ctx, clientid: str) -> list[ClientInfo]:
    info = await _client(ctx, clientid)
    return [info] if info is not None and info.connected else []


async def _paged(request, fetch, render):
    """One page of a listing: ``fetch(offset=, limit=)`` is a BrokerControl listing."""
    req = params.page(request)
    page = await fetch(offset=req.offset, limit=req.limit)
    return ok(rows.paged(req, page.total or 0, [render(x) for x in page.items]))


# -- clients -----------------------------------------------------------------------------------

async def clients(ctx, request):
    return await _paged(request, functools.partial(ctx.control.list_clients, CONNECTED), rows.client_row)


async def client(ctx, request):
    found = await _connected(ctx, request.match_info["clientid"])
    return ok(rows.lookup([rows.client_row(c) for c in found]))


async def kick(ctx, request):
    clientid = request.match_info["clientid"]
    if not await _connected(ctx, clientid):
        raise fail(112)
    try:
        # 2.3 closed the connection only: a persistent session stays, to its expiry.
        await ctx.control.kick_client(clientid, discard_session=False)
    except NotFound:
        raise fail(112) from None
    return ok()


async def clean_acl_cache(ctx, request):
    """emqgw evaluates the ACL on every publish/subscribe (no per-client cache), so once the client is
    known to be online there is nothing stale to drop: its next check already sees the current rules."""
    await params.body_params(request, ACL_CACHE_BODY)
    if not await _connected(ctx, request.match_info["clientid"]):
        raise fail(112)
    return ok()


# -- sessions ----------------------------------------------------------------------------------

async def sessions(ctx, request):
    return await _paged(request, functools.partial(ctx.control.list_clients, ALL_SESSIONS), rows.session_row)


async def session(ctx, request):
    info = await _client(ctx, request.match_info["clientid"])
    return ok(rows.lookup([] if info is None else [rows.session_row(info)]))


# -- subscriptions -----------------------------------------------------------------------------

async def subscriptions(ctx, request):
    return await _paged(request, functools.partial(ctx.control.list_subscriptions, SubscriptionQuery()),
                        rows.subscription_row)


async def client_subscriptions(ctx, request):
    try:
        subs = await ctx.control.client_subscriptions(request.match_info["clientid"])
    except NotFound:
        subs = []
    return ok(rows.lookup([rows.subscription_row(s) for s in subs]))


# -- routes ------------------------------------------------------------------------------------

async def routes(ctx, request):
    return await _paged(request, functools.partial(ctx.control.list_routes, topic=None), rows.route_row)


async def topic_routes(ctx, request):
    try:
        found = await ctx.control.get_routes(request.match_info["topic"])
    except NotFound:
        found = []
    return ok(rows.lookup([rows.route_row(r) for r in found]))


def register(dl) -> None:
    paging = params.PAGING
    add(dl, "GET", "/nodes/{node}/clients", on_node(clients), summary="Connected clients of a node (paged)",
        tags=("clients",), params=paging)
    add(dl, "GET", "/nodes/{node}/clients/{clientid}", on_node(client), summary="A connected client of a node",
        tags=("clients",))
    add(dl, "GET", "/clients/{clientid}", client, summary="A connected client, cluster-wide", tags=("clients",))
    add(dl, "DELETE", "/clients/{clientid}", kick, summary="Kick a connected client (112 if offline)",
        tags=("clients",))
    add(dl, "PUT", "/clients/{clientid}/clean_acl_cache", clean_acl_cache, body=ACL_CACHE_BODY,
        summary="Clean a connected client's ACL cache (112 if offline)", tags=("clients",))
    add(dl, "GET", "/nodes/{node}/sessions", on_node(sessions), tags=("sessions",), params=paging,
        summary="Sessions of a node, offline persistent ones too (paged)")
    add(dl, "GET", "/nodes/{node}/sessions/{clientid}", on_node(session), summary="A session of a node",
        tags=("sessions",))
    add(dl, "GET", "/sessions/{clientid}", session, summary="A session, cluster-wide", tags=("sessions",))
    add(dl, "GET", "/nodes/{node}/subscriptions", on_node(subscriptions), summary="Subscriptions of a node (paged)",
        tags=("subscriptions",), params=paging)
    add(dl, "GET", "/nodes/{node}/subscriptions/{clientid}", on_node(client_subscriptions),
        summary="A client's subscriptions on a node", tags=("subscriptions",))
    add(dl, "GET", "/subscriptions/{clientid}", client_subscriptions, summary="A client's subscriptions, cluster-wide",
        tags=("subscriptions",))
    add(dl, "GET", "/routes", routes, summary="Route table (paged)", tags=("routes",), params=paging)
    # 2.3's regex was `^routes?$`: `route` works too.
    add(dl, "GET", "/route", routes, summary="Route table (paged)", tags=("routes",), params=paging, hidden=True)
    # The topic may hold raw slashes or `%2F`; aiohttp decodes the captured value.
    add(dl, "GET", "/routes/{topic:.+}", topic_routes, summary="Routes of one topic", tags=("routes",),
        slash=False)
