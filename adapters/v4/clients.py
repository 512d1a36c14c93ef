"""Clients: NanoMQ's unpaged listing and lookups, EMQX 4's paged listing, lookups, kick and keepalive.

Both products' filters are read by the shared builder (``adapters.common.queries.client_query``, table
``CLIENT_FILTERS``); what each answers to a filter it cannot read, and NanoMQ's own rules for its
values, are here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from adapters.common.fields import CLIENT_FILTERS
from adapters.common.queries import FilterError, client_query, filtered
from adapters.common.timefmt import epoch_seconds
from gateway.http.routes import Call, Param, Routes
from schemas.errors import NotFound
from schemas.records import ClientQuery

from . import codes, emqx4_http, nanomq_http
from .emqx4_http import on_cluster_and_node
from .render import EMQX4_CLIENT_READS, NANOMQ_CLIENT_READS, emqx4_client, emqx4_client_json, nanomq_client_json

ALL = 1 << 30

nanomq = Routes(**nanomq_http.ROUTES)
emqx4 = Routes(**emqx4_http.ROUTES)

# -- NanoMQ ------------------------------------------------------------------------------------------

# The query keys NanoMQ's rest_api.c reads; any other key (`_page`, say) is 400 {"code":108}.
NANOMQ_FILTERS = frozenset(f.nanomq for f in CLIENT_FILTERS if f.nanomq is not None)
NANOMQ_CONN_STATES = ("connected", "disconnected")  # NanoMQ has no "idle"
NANOMQ_PROTO_VERS = ("3", "4", "5")  # MQTT 3.1, 3.1.1, 5
NANOMQ_PARAMS = (
    Param(name="clientid"),
    Param(name="username"),
    Param(name="conn_state", enum=NANOMQ_CONN_STATES),
    Param(name="clean_start", type="boolean"),
    Param(name="proto_name"),
    Param(name="proto_ver", type="integer", enum=(3, 4, 5)),
)


def nanomq_query(args: dict[str, Any]) -> ClientQuery:
    """NanoMQ's filters (a path's `clientid` or `username` among them, as a filter of that name)."""
    if not args.keys() <= NANOMQ_FILTERS:
        raise nanomq_http.fail(400, codes.REQ_PARAM_ERROR)
    values = dict(args)
    if "conn_state" in values:
        values["conn_state"] = values["conn_state"].lower()  # NanoMQ compares it case-insensitively
        if values["conn_state"] not in NANOMQ_CONN_STATES:
            raise nanomq_http.fail(400, codes.REQ_PARAM_ERROR)
    if "proto_ver" in values and values["proto_ver"] not in NANOMQ_PROTO_VERS:
        raise nanomq_http.fail(400, codes.REQ_PARAM_ERROR)
    try:
        return client_query(values, "nanomq", read_time=float)  # NanoMQ has no time filters
    except FilterError:
        raise nanomq_http.fail(400, codes.REQ_PARAM_ERROR) from None


@nanomq.get(
    "/clients/username/{username}",
    name="lookup_client_via_username",
    summary="Lookup a client via username in the cluster",
    params=NANOMQ_PARAMS[:1] + NANOMQ_PARAMS[2:],
)
@nanomq.get(
    "/clients/{clientid}", name="lookup_client", summary="Lookup a client in the cluster", params=NANOMQ_PARAMS[1:]
)
@nanomq.get("/clients", name="list_clients", summary="A list of clients on current node", params=NANOMQ_PARAMS)
async def nanomq_clients(call: Call) -> web.StreamResponse:
    query = nanomq_query(call.args)
    query.fields = NANOMQ_CLIENT_READS
    page = await call.control.list_clients(query, offset=0, limit=ALL)
    return nanomq_http.ok_listing(page.items, nanomq_client_json)


# -- EMQX 4 ------------------------------------------------------------------------------------------

EMQX4_PARAMS = (
    Param(name="_page", type="integer", default=1),
    Param(name="_limit", type="integer", default=emqx4_http.MAX_ROW_LIMIT),
    Param(name="clientid"),
    Param(name="username"),
    Param(name="ip_address"),
    Param(name="conn_state", enum=("connected", "idle", "disconnected")),
    Param(name="clean_start", type="boolean"),
    Param(name="proto_name"),
    Param(name="proto_ver", type="integer"),
    Param(name="_like_clientid"),
    Param(name="_like_username"),
    Param(name="_gte_created_at", type="integer"),
    Param(name="_lte_created_at", type="integer"),
    Param(name="_gte_connected_at", type="integer"),
    Param(name="_lte_connected_at", type="integer"),
    Param(name="_gte_mqueue_len", type="integer"),
    Param(name="_lte_mqueue_len", type="integer"),
    Param(name="_gte_mqueue_dropped", type="integer"),
    Param(name="_lte_mqueue_dropped", type="integer"),
)


@on_cluster_and_node(
    emqx4, "GET", "/clients", name="list_clients", summary="A list of clients on current node", params=EMQX4_PARAMS
)
async def emqx4_clients(call: Call) -> web.StreamResponse:
    page = emqx4_http.page_of(call.args)
    try:
        query = client_query(call.args, "emqx4", read_time=epoch_seconds)
    except FilterError as e:
        raise emqx4_http.filter_error(e) from None
    query.node = call.args.get("node")
    query.fields = EMQX4_CLIENT_READS
    found = await call.control.list_clients(query, offset=page.offset, limit=page.limit)
    count = -1 if filtered(call.args, "emqx4") else found.total  # EMQX 4 does not count a filtered listing
    return emqx4_http.ok_listing(
        found.items, emqx4_client_json, emqx4_http.page_meta(page, count, hasnext=found.hasnext)
    )


@on_cluster_and_node(
    emqx4, "GET", "/clients/{clientid}", name="lookup_client", summary="Lookup a client in the cluster"
)
async def emqx4_client_lookup(call: Call) -> web.StreamResponse:
    try:
        found = [await call.control.get_client(call.args["clientid"])]
    except NotFound:
        found = []  # a lookup is a list, empty for an unknown client
    return emqx4_http.ok([emqx4_client(c) for c in found])


@on_cluster_and_node(
    emqx4,
    "GET",
    "/clients/username/{username}",
    name="lookup_client_via_username",
    summary="Lookup a client via username in the cluster",
)
async def emqx4_clients_by_username(call: Call) -> web.StreamResponse:
    rows = await call.control.clients_by_username(call.args["username"])
    return emqx4_http.ok([emqx4_client(c) for c in rows])


@emqx4.delete("/clients/{clientid}", name="kickout_client", summary="Kick out the client in the cluster")
async def emqx4_kick(call: Call) -> web.StreamResponse:
    await call.control.kick_client(call.args["clientid"])
    return emqx4_http.ok()


@emqx4.put(
    "/clients/{clientid}/keepalive",
    name="set_keepalive",
    summary="Set the client's keepalive",
    body={"type": "object", "properties": {"interval": {"type": "integer"}}, "required": ["interval"]},
)
async def emqx4_keepalive(call: Call) -> web.StreamResponse:
    if "interval" not in call.body:
        raise emqx4_http.fail(codes.MISSING_KEY_REQUEST_PARAMS, "required_params_missing")
    interval = call.body["interval"]
    if not isinstance(interval, int) or isinstance(interval, bool):
        raise emqx4_http.fail(codes.REQ_PARAM_ERROR, "interval must be an integer")
    await call.control.set_keepalive(call.args["clientid"], interval)
    return emqx4_http.ok()
