"""EMQX 4.4's HTTP rules (emqx/minirest 0.3 under apps/emqx_management @ v4.4.19; legacy-v2-v4-api.md §4):
how its endpoints read arguments, answer, fail and authenticate, and its cluster/node route pairs.

Success is ``{"code":0[,"data":..][,"meta":..]}``. A business error is HTTP 200 with
``{"code":N,"message":..}``, or only ``{"message":..}`` where EMQX returned no code (the dashboard's,
the alarms'); everything else is a text body: 401 ``UNAUTHORIZED``, 404 ``Not found.`` (an unknown
route, node, or path segment), 400 ``Bad Request`` (a body that is not JSON).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from aiohttp import web

from adapters.common.error_answers import find_answer
from adapters.common.paging import PageRequest, parse_page
from adapters.common.queries import FilterError
from gateway.http import dialect as d
from gateway.http.listing import ROWS, EncodedRow, listing
from gateway.http.routes import Call, Endpoint, Routes
from schemas.errors import Conflict, ControlError, InvalidArgument, NotFound, NotSupported, Unavailable

from . import codes
from .auth import AuthFailed, check_app, check_basic
from .errors import V4Error

# Routes(**ROUTES): the tag and flavor of every EMQX 4 endpoint.
ROUTES: dict[str, Any] = {"tags": ("emqx4",), "extra": {"flavor": "emqx4"}}
REALM = 'Basic Realm="minirest-server"'
# management.max_row_limit: the default and the ceiling of `_limit`.
MAX_ROW_LIMIT = 10000


class MinirestError(V4Error):
    """``code`` None: a message-only business error."""

    def response(self, request: web.Request | None) -> web.StreamResponse:
        if self.status == 200:
            body = {"message": self.message} if self.code is None else {"code": self.code, "message": self.message}
            return web.Response(body=orjson.dumps(body), content_type="application/json")
        return web.Response(text=self.message, status=self.status, content_type="text/plain", headers=self.headers)


def fail(code: int | None, message: str) -> MinirestError:
    """A business error: HTTP 200 with ``{"code":..,"message":..}`` (code None: ``{"message":..}``)."""
    return MinirestError(200, code, message)


def ok(data: Any = None, meta: dict | None = None) -> web.Response:
    body: dict = {"code": codes.SUCCEED}
    if data is not None:
        body["data"] = data
    if meta is not None:
        body["meta"] = meta
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def ok_listing(items: Sequence[Any], row: Callable[[Any], EncodedRow], meta: dict) -> web.StreamResponse:
    """``ok`` with the rows of ``items`` as data, ``row`` encoding (or remembering) each."""
    return listing({"code": codes.SUCCEED, "data": ROWS, "meta": meta}, items, row)


_MANNERS = {
    d.UNAUTHORIZED: (401, "UNAUTHORIZED"),
    d.NOT_FOUND: (404, "Not found."),
    d.METHOD_NOT_ALLOWED: (405, "Method Not Allowed"),
    d.TOO_LARGE: (413, "Payload Too Large"),
    d.UNSUPPORTED_MEDIA_TYPE: (415, "Unsupported Media Type"),
    d.BAD_JSON: (400, "Bad Request"),
    d.PRECONDITION_FAILED: (412, "Precondition Failed"),
    d.INTERNAL: (500, "Internal Error"),
}


def manners_error(reason: str, message: str = "") -> MinirestError:
    status, text = _MANNERS[reason]
    headers = {"WWW-Authenticate": REALM} if reason == d.UNAUTHORIZED else None
    return MinirestError(status, reason, text, headers=headers)


# JSON type an endpoint's declared body names -> the Python type it arrives as.
_BODY_TYPES = {"object": dict, "array": list}


async def arguments(request: web.Request, endpoint: Endpoint, ctx) -> tuple[dict[str, Any], Any]:
    """The path parameters and the first value of each query key, as text (emqx_mgmt's handlers convert
    what they use, see ``integer``); the body when the endpoint declares one (an empty body is ``{}``).

    A path naming another node, or a path segment outside its declared values, is a route EMQX 4 does
    not have: 404 ``Not found.``
    """
    node = request.match_info.get("node")
    if node is not None and node not in await ctx.control.node_names():
        raise manners_error(d.NOT_FOUND)
    for p in endpoint.params:
        if p.where == "path" and p.enum is not None and request.match_info.get(p.name) not in p.enum:
            raise manners_error(d.NOT_FOUND)
    args: dict[str, Any] = {k: request.query[k] for k in request.query}
    args.update(request.match_info)
    if endpoint.body is None:
        return args, None
    raw = await request.read()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise manners_error(d.BAD_JSON) from None
    expected = _BODY_TYPES.get(endpoint.body.get("type"))
    if expected is not None and not isinstance(body, expected):
        raise fail(codes.REQ_PARAM_ERROR, "bad_params")
    return args, body


def cannot_convert(param: str, value: Any, to: str) -> MinirestError:
    """emqx_mgmt_api's answer to a query value it cannot read (``to``: "integer", "atom")."""
    return fail(codes.REQ_PARAM_ERROR, f"Can't convert {value} to {to} type ({param})")


# FilterError.expected -> the Erlang type emqx_mgmt_api converts that filter to.
_FILTER_TYPES = {"integer": "integer", "time": "integer", "boolean": "atom", "conn_state": "atom"}


def filter_error(e: FilterError) -> MinirestError:
    return cannot_convert(e.param, e.value, _FILTER_TYPES[e.expected])


def integer(args: dict[str, Any], param: str) -> int | None:
    """An integer query value, None if absent."""
    if param not in args:
        return None
    try:
        return int(args[param])
    except ValueError:
        raise cannot_convert(param, args[param], "integer") from None


def page_of(args: dict[str, Any], default_limit: int = MAX_ROW_LIMIT) -> PageRequest:
    """`_page` (from 1) and `_limit` (default ``MAX_ROW_LIMIT`` unless the call has its own)."""
    try:
        return parse_page(args.get("_page"), args.get("_limit"), default_limit=default_limit)
    except ValueError as e:
        raise fail(codes.REQ_PARAM_ERROR, f"bad {e}") from None


def page_meta(page: PageRequest, count: int | None, **more: Any) -> dict:
    return {"page": page.page, "limit": page.limit, "count": count, **more}


# Interface errors as EMQX 4 answers them: (type, kind) -> (code, message); kind None is the type's
# answer for anything else, code None a message-only body, message None passes the error's own on. An
# endpoint that answers otherwise says so in its ``errors`` (type -> (code, message)).
CONTROL_ERRORS: dict[tuple[type, str | None], tuple[int | None, str | None]] = {
    (NotFound, "client"): (codes.CLIENT_IS_OFFLINE, "not_found"),
    (NotFound, "session"): (codes.CLIENT_IS_OFFLINE, "not_found"),
    (NotFound, "listener"): (codes.RPC_ERROR, "not_found"),
    (NotFound, "user"): (None, "Username Not Found"),
    (NotFound, None): (None, "not_found"),
    (InvalidArgument, None): (codes.REQ_PARAM_ERROR, None),
    (Conflict, "user"): (None, "Username already exists"),  # emqx_dashboard_admin's words
    (Conflict, None): (None, "already_exists"),
    # As EMQX 4 answers a call on a plugin that is not running.
    (NotSupported, None): (codes.PLUGIN_IS_CLOSED, None),
    (Unavailable, None): (codes.UNKNOWN_MISTAKE, None),
    # Refusals by the broker's own rules (an ACL, a quota), which EMQX 4's API never checked: its
    # "unknown error", with the broker's reason.
    (ControlError, None): (codes.UNKNOWN_MISTAKE, None),
}


def control_error(err: ControlError, endpoint: Endpoint) -> MinirestError:
    code, message = find_answer(err, endpoint, CONTROL_ERRORS)
    return fail(code, err.message if message is None else message)


async def authenticate(accounts, request: web.Request) -> str:
    """HTTP Basic against the account store: a dashboard user, or an API application's ``app_id:secret``."""
    header = request.headers.get("Authorization")
    try:
        return await check_basic(accounts, header)
    except AuthFailed:
        pass
    try:
        return await check_app(accounts, header)
    except AuthFailed:
        raise manners_error(d.UNAUTHORIZED) from None


# -- EMQX 4's routes: most calls answer cluster-wide and on one node -----------------------------------

Handler = Callable[[Call], Awaitable[web.StreamResponse]]
# What one node shows: (call, node name) -> the value.
Producer = Callable[[Call, str], Awaitable[Any]]


def on_cluster_and_node(
    routes: Routes, method: str, path: str, *, name: str, summary: str, **meta: Any
) -> Callable[[Handler], Handler]:
    """Declare a handler at ``path`` and at ``/nodes/{node}`` + path; the handler finds the node (absent
    on the cluster path) in ``call.args["node"]``."""

    def register(handler: Handler) -> Handler:
        routes.add(method, path, handler, name=name, summary=summary, **meta)
        routes.add(
            method, "/nodes/{node}" + path, handler, name=f"{name}_on_node", summary=f"{summary} (on one node)", **meta
        )
        return handler

    return register


def cluster_and_node_views(
    routes: Routes, path: str, node_path: str, key: str | None, *, cluster: tuple[str, str], node: tuple[str, str]
) -> Callable[[Producer], Producer]:
    """Declare the GET pair of one value X of a node (``produce(call, node)``): the cluster view at
    ``path`` lists ``[{"node": N, key: X}]`` for every node N (``[X]`` when key is None: X names its
    node itself), the node view at ``node_path`` answers X. ``cluster`` and ``node`` are each (name,
    summary)."""

    def register(produce: Producer) -> Producer:
        async def cluster_view(call: Call) -> web.StreamResponse:
            rows = []
            for n in await call.control.node_names():
                value = await produce(call, n)
                rows.append(value if key is None else {"node": n, key: value})
            return ok(rows)

        async def node_view(call: Call) -> web.StreamResponse:
            return ok(await produce(call, call.args["node"]))

        routes.add("GET", path, cluster_view, name=cluster[0], summary=cluster[1])
        routes.add("GET", node_path, node_view, name=node[0], summary=node[1])
        return produce

    return register
