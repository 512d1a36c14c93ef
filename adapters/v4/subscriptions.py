"""Subscriptions: NanoMQ's unpaged listing, EMQX 4's paged one (a `topic` lookup unpaged), and a client's
own list in each product's shape (empty for an unknown client in both)."""

from __future__ import annotations

from aiohttp import web

from gateway.http.routes import Call, Param, Routes
from schemas.errors import NotFound
from schemas.records import Subscription, SubscriptionQuery

from . import codes, emqx4_http, nanomq_http
from .emqx4_http import on_cluster_and_node
from .render import emqx4_subscription, nanomq_subscription, nanomq_subscription_json

ALL = 1 << 30
QOS = ("0", "1", "2")

nanomq = Routes(**nanomq_http.ROUTES)
emqx4 = Routes(**emqx4_http.ROUTES)


async def _of_client(call: Call) -> list[Subscription]:
    try:
        return await call.control.client_subscriptions(call.args["clientid"])
    except NotFound:
        return []


@nanomq.get(
    "/subscriptions",
    name="list_subscriptions",
    summary="A list of subscriptions in the cluster",
    params=(
        Param(name="clientid"),
        Param(name="topic"),
        Param(name="qos", type="integer", enum=(0, 1, 2)),
        Param(name="share"),
    ),
)
async def nanomq_subscriptions(call: Call) -> web.StreamResponse:
    args = call.args
    query = SubscriptionQuery(clientid=args.get("clientid"), topic=args.get("topic"), share_group=args.get("share"))
    if "qos" in args:
        if args["qos"] not in QOS:
            raise nanomq_http.fail(400, codes.REQ_PARAM_ERROR)
        query.qos = int(args["qos"])
    page = await call.control.list_subscriptions(query, offset=0, limit=ALL)
    return nanomq_http.ok_listing(page.items, nanomq_subscription_json)


@nanomq.get(
    "/subscriptions/{clientid}", name="lookup_client_subscriptions", summary="A list of subscriptions of a client"
)
async def nanomq_client_subscriptions(call: Call) -> web.StreamResponse:
    return nanomq_http.ok([nanomq_subscription(s) for s in await _of_client(call)])


# Filters after which EMQX 4 reports no count.
EMQX4_FILTERS = ("clientid", "share", "qos", "_match_topic")


@on_cluster_and_node(
    emqx4,
    "GET",
    "/subscriptions",
    name="list_subscriptions",
    summary="A list of subscriptions in the cluster",
    params=(
        Param(name="_page", type="integer"),
        Param(name="_limit", type="integer"),
        Param(name="clientid"),
        Param(name="topic"),
        Param(name="qos", type="integer", enum=(0, 1, 2)),
        Param(name="share"),
        Param(name="_match_topic"),
    ),
)
async def emqx4_subscriptions(call: Call) -> web.StreamResponse:
    args = call.args
    page = emqx4_http.page_of(args)
    query = SubscriptionQuery(
        clientid=args.get("clientid"),
        topic=args.get("topic"),
        share_group=args.get("share"),
        match_topic=args.get("_match_topic"),
        qos=emqx4_http.integer(args, "qos"),
        node=args.get("node"),
    )
    if query.topic is not None:  # a topic lookup is an unpaged list
        found = await call.control.list_subscriptions(query, offset=0, limit=ALL)
        return emqx4_http.ok([emqx4_subscription(s) for s in found.items])
    found = await call.control.list_subscriptions(query, offset=page.offset, limit=page.limit)
    count = -1 if any(k in args for k in EMQX4_FILTERS) else found.total
    return emqx4_http.ok(
        [emqx4_subscription(s) for s in found.items], meta=emqx4_http.page_meta(page, count, hasnext=found.hasnext)
    )


@on_cluster_and_node(
    emqx4,
    "GET",
    "/subscriptions/{clientid}",
    name="lookup_client_subscriptions",
    summary="A list of subscriptions of a client",
)
async def emqx4_client_subscriptions(call: Call) -> web.StreamResponse:
    return emqx4_http.ok([emqx4_subscription(s) for s in await _of_client(call)])
