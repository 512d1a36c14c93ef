"""Clients (emqx_mgmt_api_clients): paged and cursor listings, one client, kick, subscribe on behalf,
keepalive. Records are rendered through the crosswalk's `v5` column.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import attrs
from aiohttp import web

from adapters.common import queries
from adapters.common.fields import CLIENT, CLIENT_FIELDS_ENUM, SUBSCRIPTION, names, project, reads
from adapters.common.rows import RenderedRows
from adapters.common.timefmt import parse_time, rfc3339_ms
from gateway.http.dialect import Dialect
from gateway.http.listing import ROWS, EncodedRow, listing
from gateway.http.routes import Call, Routes
from schemas.errors import ControlError, InvalidArgument, NotFound
from schemas.records import SESSION_QUEUES, ClientInfo, ClientQuery, SubscribeRequest

from .errors import bad_request, validation_error
from .nodes import require_listed_node
from .paging import PAGING, envelope_schema, page_request, paged_rows
from .validation import LIMIT, path, q

FORMATTERS = {
    "time": rfc3339_ms,
    "infinity": lambda v: "infinity" if v == 0 else v,  # the records' 0 = unlimited
    "int": int,
}

# Keys EMQX 5.8 shows for an in-memory session that the record does not carry (all facts here: our
# sessions are never durable, an existing session is never expired, no client attributes are extracted).
FIXED = {"is_persistent": False, "durable": False, "is_expired": False, "client_attrs": {}}


def client_doc(info, only: frozenset | None = None) -> dict:
    doc = project(info, CLIENT, "v5", FORMATTERS, only)
    if info.connected:
        doc.pop("disconnected_at", None)  # present only once the client is gone
    if only is None:
        doc.update(FIXED)
    else:
        doc.update((k, v) for k, v in FIXED.items() if k in only)
    return doc


# Rows are kept encoded per record: full ones (no `fields=`), what dashboards page through, and those of
# the few field lists asked again and again (a gateway in front asks for its dialect's, every page).
client_row = RenderedRows(client_doc)
_field_rows: dict[frozenset, RenderedRows] = {}
FIELD_LISTS_KEPT = 8


def client_rows(only: frozenset | None) -> Callable[[ClientInfo], EncodedRow]:
    if only is None:
        return client_row
    rows = _field_rows.pop(only, None)
    if rows is None:
        rows = RenderedRows(functools.partial(client_doc, only=only))
        if len(_field_rows) >= FIELD_LISTS_KEPT:
            del _field_rows[next(iter(_field_rows))]  # the least recently asked
    _field_rows[only] = rows
    return rows


def subscription_doc(sub) -> dict:
    doc = project(sub, SUBSCRIPTION, "v5", FORMATTERS)
    doc["durable"] = False
    return doc


# -- query -------------------------------------------------------------------------------------

FILTERS = (
    q("clientid", "array", "Exact client id (repeat for several)"),
    q("username", "array", "Exact username (repeat for several)"),
    q("ip_address", description="Exact peer IP"),
    q("conn_state", enum=("connected", "idle", "disconnected")),
    q("clean_start", "boolean"),
    q("proto_ver", description="3, 4 or 5"),
    q("like_clientid", description="Substring of the client id"),
    q("like_username", description="Substring of the username"),
    q("gte_created_at", description="epoch ms or RFC 3339"),
    q("lte_created_at", description="epoch ms or RFC 3339"),
    q("gte_connected_at", description="epoch ms or RFC 3339"),
    q("lte_connected_at", description="epoch ms or RFC 3339"),
)
FIELDS = q("fields", description="`all` or comma-separated client field names", default="all")


def client_query(args: dict) -> ClientQuery:
    """The filters as EMQX words a bad one: a time is a schema violation, anything else (proto_ver;
    the broker checks ip_address the same way) INVALID_PARAMETER naming the expected type."""
    try:
        return queries.client_query(args, "v5", read_time=parse_time)
    except queries.FilterError as e:
        if e.expected == "time":
            raise validation_error(e.param, "bad_epoch_millisecond", e.value) from None
        raise bad_request(
            f"the {e.param} parameter expected type is {e.expected}, but the value is {e.value}", "INVALID_PARAMETER"
        ) from None


def _reads(only: frozenset | None) -> frozenset | None:
    """The record attributes a row of ``only`` these fields reads (``client_doc`` also asks whether the
    client is connected)."""
    return None if only is None else reads(CLIENT, "v5", only) | {"connected"}


def wanted_fields(args: dict) -> frozenset | None:
    raw = args.get("fields", "all")
    if raw == "all":
        return None
    wanted = frozenset(f.strip() for f in raw.split(",") if f.strip())
    bad = sorted(wanted - CLIENT_FIELDS_ENUM)
    if bad or not wanted:
        raise validation_error("fields", "unable_to_convert_to_enum_symbol", raw)
    return wanted


# -- schemas -----------------------------------------------------------------------------------

CLIENT_SCHEMA = {
    "type": "object",
    "description": "EMQX 5 client object; see the field list of GET /clients",
    "properties": {n: {} for n in names(CLIENT, "v5")},
}
SUB_OPTS = {
    "topic": {"type": "string"},
    "qos": {"type": "integer", "enum": [0, 1, 2], "default": 0},
    "nl": {"type": "integer", "minimum": 0, "maximum": 1, "default": 0},
    "rap": {"type": "integer", "minimum": 0, "maximum": 1, "default": 0},
    "rh": {"type": "integer", "enum": [0, 1, 2], "default": 0},
}
SUBSCRIBE_BODY = {"type": "object", "properties": SUB_OPTS, "required": ["topic"]}
SUBSCRIBE_RESULT = {
    "type": "object",
    "properties": {**{k: v for k, v in SUB_OPTS.items()}, "node": {"type": "string"}, "clientid": {"type": "string"}},
}
SUBSCRIPTION_SCHEMA = {
    "type": "object",
    "properties": {
        "clientid": {"type": "string"},
        "topic": {"type": "string"},
        "node": {"type": "string"},
        "qos": {"type": "integer"},
        "nl": {"type": "integer"},
        "rap": {"type": "integer"},
        "rh": {"type": "integer"},
        "durable": {"type": "boolean"},
    },
}
# `topic` is optional in EMQX's schema: a body without it unsubscribes from nothing.
UNSUBSCRIBE_BODY = {"type": "object", "properties": {"topic": {"type": "string"}}}
CLIENTID = path("clientid")
NOT_FOUND = {404: {"description": "CLIENTID_NOT_FOUND"}}
# The filters the broker refuses (ip_address) are the caller's parameters, as EMQX words them.
BAD_FILTER = {InvalidArgument: (400, "INVALID_PARAMETER")}

routes = Routes(tags=("Clients",))


# -- handlers ----------------------------------------------------------------------------------


@routes.get(
    "/clients",
    summary="List clients",
    params=(*PAGING, q("node"), *FILTERS, FIELDS),
    responses={
        200: {"schema": envelope_schema(CLIENT_SCHEMA)},
        400: {"description": "bad query"},
        404: {"description": "Node not found"},
    },
    errors=BAD_FILTER,
)
async def list_clients(call: Call) -> web.Response:
    args = call.args
    only = wanted_fields(args)
    node = await require_listed_node(call)
    query = attrs.evolve(client_query(args), node=node, fields=_reads(only))
    pr = page_request(args)
    page = await call.control.list_clients(query, offset=pr.offset, limit=pr.limit)
    return paged_rows(args, page.items, client_rows(only), page.total, page.hasnext)


@routes.get(
    "/clients_v2",
    summary="List clients by cursor",
    hidden=True,
    params=(q("cursor"), LIMIT, *FILTERS, FIELDS),
    responses={200: {"schema": {"type": "object"}}, 400: {"description": "bad cursor"}},
    errors={InvalidArgument: {"cursor": (400, "BAD_REQUEST"), None: BAD_FILTER[InvalidArgument]}},
)
async def list_clients_v2(call: Call) -> web.Response:
    args = call.args
    wanted_fields(args)  # validated, then ignored as 5.8.9 does
    query = client_query(args)
    page = await call.control.list_clients_cursor(query, cursor=args.get("cursor"), limit=args["limit"])
    meta = {"count": len(page.items)}
    if page.cursor is not None:
        meta["cursor"] = page.cursor
    return listing({"data": ROWS, "meta": meta}, page.items, client_row)


@routes.post(
    "/clients/kickout/bulk",
    summary="Kick out clients",
    body={"type": "array", "items": {"type": "string"}},
    responses={204: {"description": "kicked"}},
)
async def kick_bulk(call: Call) -> web.Response:
    for clientid in call.body:
        try:
            await call.control.kick_client(clientid)
        except NotFound:
            pass  # unknown ids are ignored
    return web.Response(status=204)


@routes.get(
    "/clients/{clientid}",
    summary="Get a client",
    params=(CLIENTID,),
    responses={200: {"schema": CLIENT_SCHEMA}, **NOT_FOUND},
)
async def get_client(call: Call) -> web.Response:
    clientid = call.args["clientid"]
    doc = client_doc(await call.control.get_client(clientid))
    doc["heap_size"] = await held_bytes(call, clientid)
    return Dialect.json(doc)


async def held_bytes(call: Call, clientid: str) -> int:
    """EMQX's heap_size, which its dashboard shows as "<n> bytes" on a client's page: here the bytes of
    message payload the session holds for the client (queued and in flight), the part of a client's
    memory that grows. Listings leave it out: it costs a walk of the queues."""
    total = 0
    for queue in SESSION_QUEUES:
        page = await call.control.session_messages(clientid, queue, after=None, limit=1 << 62)
        total += sum(len(m.payload) for m in page.items)
    return total


@routes.delete(
    "/clients/{clientid}",
    summary="Kick out a client",
    params=(CLIENTID,),
    responses={204: {"description": "kicked"}, **NOT_FOUND},
)
async def kick_client(call: Call) -> web.Response:
    await call.control.kick_client(call.args["clientid"])
    return web.Response(status=204)


@routes.get(
    "/clients/{clientid}/subscriptions",
    summary="A client's subscriptions",
    params=(CLIENTID,),
    responses={200: {"schema": {"type": "array", "items": SUBSCRIPTION_SCHEMA}}, **NOT_FOUND},
)
async def client_subscriptions(call: Call) -> web.Response:
    subs = await call.control.client_subscriptions(call.args["clientid"])
    return Dialect.json([subscription_doc(s) for s in subs])


def _subscribe_request(item: dict) -> SubscribeRequest:
    return SubscribeRequest(
        topic=item["topic"],
        qos=item["qos"],
        no_local=bool(item["nl"]),
        retain_as_published=bool(item["rap"]),
        retain_handling=item["rh"],
    )


# EMQX answers an invalid topic filter with 500 UNKNOWN_ERROR (its subscribe call crashes); it is the
# caller's mistake, so here it is a 400 like the no_local one.
@routes.post(
    "/clients/{clientid}/subscribe",
    summary="Subscribe on behalf",
    params=(CLIENTID,),
    body=SUBSCRIBE_BODY,
    responses={200: {"schema": SUBSCRIBE_RESULT}, 400: {"description": "INVALID_PARAMETER"}, **NOT_FOUND},
    errors={InvalidArgument: (400, "INVALID_PARAMETER")},
)
async def subscribe(call: Call) -> web.Response:
    [sub] = await call.control.subscribe(call.args["clientid"], [_subscribe_request(call.body)])
    return Dialect.json(project(sub, SUBSCRIPTION, "v5", FORMATTERS))


@routes.post(
    "/clients/{clientid}/subscribe/bulk",
    summary="Subscribe on behalf, several topics",
    params=(CLIENTID,),
    body={"type": "array", "items": SUBSCRIBE_BODY},
    responses={200: {"schema": {"type": "array", "items": SUBSCRIBE_RESULT}}, **NOT_FOUND},
)
async def subscribe_bulk(call: Call) -> web.Response:
    clientid = call.args["clientid"]
    await call.control.get_client(clientid)  # an unknown client is a 404, not a list of failures
    succeed, failed = [], []
    for item in call.body:
        try:
            [sub] = await call.control.subscribe(clientid, [_subscribe_request(item)])
        except ControlError as e:
            if e.reason_code is None:  # not a refusal of this topic (the broker stopped, say)
                raise
            opts = {k: item[k] for k in ("qos", "nl", "rap", "rh")}
            failed.append({"data": [clientid, item["topic"], opts], "reason": str(e)})
            continue
        succeed.append(project(sub, SUBSCRIPTION, "v5", FORMATTERS))
    if failed:
        return Dialect.json({"succeed": succeed, "failed": failed})
    return Dialect.json(succeed)


@routes.post(
    "/clients/{clientid}/unsubscribe/bulk",
    name="unsubscribe_bulk",
    summary="Unsubscribe on behalf, several topics",
    params=(CLIENTID,),
    body={"type": "array", "items": UNSUBSCRIBE_BODY},
    responses={204: {"description": "done"}, **NOT_FOUND},
)
@routes.post(
    "/clients/{clientid}/unsubscribe",
    summary="Unsubscribe on behalf",
    params=(CLIENTID,),
    body=UNSUBSCRIBE_BODY,
    responses={204: {"description": "done"}, **NOT_FOUND},
)
async def unsubscribe(call: Call) -> web.Response:
    items = [call.body] if isinstance(call.body, dict) else call.body
    topics = [t["topic"] for t in items if "topic" in t]
    await call.control.unsubscribe(call.args["clientid"], topics)
    return web.Response(status=204)


@routes.put(
    "/clients/{clientid}/keepalive",
    summary="Set keepalive",
    hidden=True,
    params=(CLIENTID,),
    body={
        "type": "object",
        "properties": {"interval": {"type": "integer", "minimum": 0, "maximum": 65535}},
        "required": ["interval"],
    },
    responses={200: {"schema": CLIENT_SCHEMA}, 400: {"description": "bad interval"}, **NOT_FOUND},
    errors={InvalidArgument: (400, "PARAM_ERROR")},
)
async def set_keepalive(call: Call) -> web.Response:
    info = await call.control.set_keepalive(call.args["clientid"], call.body["interval"])
    return Dialect.json(client_doc(info))
