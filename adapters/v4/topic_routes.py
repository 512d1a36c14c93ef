"""EMQX 4's route table: `/routes` (paged) and `/routes/{topic}` (a list, empty for a topic without routes)."""

from __future__ import annotations

from aiohttp import web

from gateway.http.routes import Call, Param, Routes
from schemas.errors import NotFound
from schemas.records import Route

from . import emqx4_http

emqx4 = Routes(**emqx4_http.ROUTES)


def _row(r: Route) -> dict:
    return {"topic": r.topic, "node": r.node}


@emqx4.get(
    "/routes",
    name="list_routes",
    summary="List routes",
    params=(Param(name="_page", type="integer"), Param(name="_limit", type="integer")),
)
async def list_routes(call: Call) -> web.StreamResponse:
    page = emqx4_http.page_of(call.args)
    found = await call.control.list_routes(topic=None, offset=page.offset, limit=page.limit)
    return emqx4_http.ok([_row(r) for r in found.items], meta=emqx4_http.page_meta(page, found.total))


@emqx4.get("/routes/{topic}", name="lookup_routes", summary="Lookup routes to a topic")
async def lookup_routes(call: Call) -> web.StreamResponse:
    try:
        rows = await call.control.get_routes(call.args["topic"])
    except NotFound:
        rows = []
    return emqx4_http.ok([_row(r) for r in rows])
