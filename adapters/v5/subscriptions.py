"""Subscriptions and the routing table (emqx_mgmt_api_subscriptions / emqx_mgmt_api_topics)."""

from __future__ import annotations

from aiohttp import web

from gateway.http.dialect import Dialect
from gateway.http.routes import Call, Routes
from schemas.errors import InvalidArgument, NotFound
from schemas.records import SubscriptionQuery

from .clients import SUBSCRIPTION_SCHEMA, subscription_doc
from .nodes import require_listed_node
from .paging import PAGING, envelope_schema, page_request, paged
from .validation import path, q

TOPIC_SCHEMA = {"type": "object", "properties": {"topic": {"type": "string"}, "node": {"type": "string"}}}
TOPIC_NOT_FOUND = (404, "TOPIC_NOT_FOUND", "Topic not found")

subscriptions = Routes(tags=("Subscriptions",))
topics = Routes(tags=("Topics",))


@subscriptions.get(
    "/subscriptions",
    summary="List subscriptions",
    params=(
        *PAGING,
        q("node"),
        q("clientid"),
        q("qos", "integer", enum=(0, 1, 2)),
        q("topic", description="Exact topic filter"),
        q("share_group"),
        q("match_topic", description="Subscriptions whose filter matches this topic"),
        q("durable", "boolean"),
    ),
    responses={
        200: {"schema": envelope_schema(SUBSCRIPTION_SCHEMA)},
        400: {"description": "INVALID_PARAMETER"},
        404: {"description": "Node not found"},
    },
    errors={InvalidArgument: (400, "INVALID_PARAMETER")},
)
async def list_subscriptions(call: Call) -> web.Response:
    args = call.args
    node = await require_listed_node(call)
    if args.get("durable") is True:
        # Our sessions are all in memory: there is no durable subscription to list.
        return paged(args, [], 0, False)
    query = SubscriptionQuery(
        node=node, **{k: args[k] for k in ("clientid", "topic", "qos", "share_group", "match_topic") if k in args}
    )
    pr = page_request(args)
    page = await call.control.list_subscriptions(query, offset=pr.offset, limit=pr.limit)
    return paged(args, [subscription_doc(s) for s in page.items], page.total, page.hasnext)


@topics.get(
    "/topics",
    summary="List routes",
    params=(*PAGING, q("topic", description="Exact route (topic filter)"), q("node")),
    responses={200: {"schema": envelope_schema(TOPIC_SCHEMA)}, 400: {"description": "INVALID_PARAMTER"}},
    errors={InvalidArgument: (400, "INVALID_PARAMTER", "topic_filter_invalid")},
)  # sic, as EMQX spells it
async def list_topics(call: Call) -> web.Response:
    args = call.args
    pr = page_request(args)
    node = args.get("node")
    if node is not None and node not in await call.control.node_names():
        return paged(args, [], 0, False)  # no route lives on that node: the scan ends at once
    page = await call.control.list_routes(topic=args.get("topic"), offset=pr.offset, limit=pr.limit, node=node)
    total = page.total
    if ("topic" in args or "node" in args) and page.hasnext:
        total = None  # filtered and more remain: the count would need the whole scan
    return paged(args, [{"topic": r.topic, "node": r.node} for r in page.items], total, page.hasnext)


# A topic that is no valid name has no routes either: the same 404.
@topics.get(
    "/topics/{topic:.+}",
    summary="Routes of one topic",
    params=(path("topic", "URL-encoded topic"),),
    responses={200: {"schema": {"type": "array", "items": TOPIC_SCHEMA}}, 404: {"description": "TOPIC_NOT_FOUND"}},
    errors={NotFound: TOPIC_NOT_FOUND, InvalidArgument: TOPIC_NOT_FOUND},
)
async def get_topic(call: Call) -> web.Response:
    found = await call.control.get_routes(call.args["topic"])
    return Dialect.json([{"topic": r.topic, "node": r.node} for r in found])
