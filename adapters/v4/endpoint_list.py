"""`GET /api/v4` (and `/api/v4/`): the endpoints served, in each product's listing.

Both list every endpoint the dialect serves (the other product's too) as ``{path, name, method, descr}``,
paths in Erlang/nng form (`/clients/:clientid`). NanoMQ writes a one-segment collection with a trailing
slash (`/brokers/`; not `/metrics`, `/prometheus`), and answers a query string with 404.
"""

from __future__ import annotations

from aiohttp import web

from gateway.http.routes import Call, Endpoint, Routes, RouteTable

from . import codes, emqx4_http, nanomq_http

SUMMARY = "A list of endpoints"
NANOMQ_UNSLASHED = ("/metrics", "/prometheus")


def _colon_path(ep: Endpoint) -> str:
    return ep.path.replace("{", ":").replace("}", "")


def _nanomq_path(ep: Endpoint) -> str:
    path = _colon_path(ep)
    if "{" not in ep.path and path.count("/") == 1 and ep.path not in NANOMQ_UNSLASHED:
        path += "/"
    return path


def routes(table: RouteTable) -> tuple[Routes, Routes]:
    """NanoMQ's and EMQX 4's listing of ``table`` (the dialect's, read at call time)."""
    nanomq, emqx4 = Routes(**nanomq_http.ROUTES), Routes(**emqx4_http.ROUTES)

    def listed() -> list[Endpoint]:
        return [ep for ep in table.endpoints if not ep.hidden and ep.path]

    @nanomq.get("/", name="list_endpoints", summary=SUMMARY, hidden=True)
    @nanomq.get("", name="list_endpoints", summary=SUMMARY)
    async def nanomq_endpoints(call: Call) -> web.StreamResponse:
        if call.request.query.keys() - {"pretty"}:  # any query string, even `?a=`: not the endpoint list
            raise nanomq_http.fail(404, codes.UNKNOWN_MISTAKE)
        return nanomq_http.ok(
            [{"path": _nanomq_path(ep), "name": ep.name, "method": ep.method, "descr": ep.summary} for ep in listed()]
        )

    @emqx4.get("/", name="list_endpoints_slash", summary=SUMMARY, hidden=True)
    @emqx4.get("", name="list_endpoints", summary=SUMMARY)
    async def emqx4_endpoints(call: Call) -> web.StreamResponse:
        return emqx4_http.ok(
            [{"name": ep.name, "method": ep.method, "path": _colon_path(ep), "descr": ep.summary} for ep in listed()]
        )

    return nanomq, emqx4
