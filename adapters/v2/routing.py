"""How the v2 modules put their endpoints in the dialect's route table.

2.3 matched anchored regexes ending in `/?` (emqttd_rest_api.erl), so every path is also served with a
trailing slash (the 2.3 dashboard calls `change_pwd/{username}/`); that twin is hidden from the
OpenAPI document. Handlers are written as ``handler(ctx, request)`` and bound here.
"""
from __future__ import annotations

import functools

from gateway.http.routes import Param

from .params import body_schema, json_body, node


# Every v2 answer: 200 with the envelope (success or business error), or an empty-bodied status.
ENVELOPE = {"type": "object", "required": ["code"], "properties": {
    "code": {"type": "integer", "description": "0 on success, else 101-114"},
    "result": {"description": "present on success only"},
    "message": {"type": "string", "description": "with some error codes"}}}
RESPONSES = {
    200: {"description": "success (code 0) or a business error (code 101-114)", "schema": ENVELOPE},
    401: {"description": 'empty body; WWW-Authenticate: Basic Realm="emqx control center"'},
    404: {"description": "empty text/plain: unknown route or node"},
}


def add(dialect, method: str, path: str, handler, *, slash: bool = True, body: tuple[Param, ...] | dict | None = None,
        **meta) -> None:
    meta.setdefault("name", handler.__name__)
    if method != "GET":
        handler = _body_first(handler)
    bound = functools.partial(handler, dialect.ctx)
    if body is not None:
        meta["body"] = body if isinstance(body, dict) else body_schema(body)
    meta.setdefault("responses", RESPONSES)
    dialect.table.add(method, path, bound, **meta)
    if slash:
        dialect.table.add(method, path + "/", bound, **{**meta, "name": meta["name"] + "_slash", "hidden": True})


def _body_first(handler):
    """2.3 decoded the body of every non-GET request before dispatching it: 109 on any such route."""
    async def parsed(ctx, request):
        await json_body(request)  # aiohttp keeps the bytes, so the handler may read them again
        return await handler(ctx, request)
    return parsed


def on_node(handler):
    """``handler`` under `/nodes/{node}/...`: the node must be ours first (2.3 crashed -> 404 otherwise)."""
    async def scoped(ctx, request):
        node(ctx, request)
        return await handler(ctx, request)
    scoped.__name__ = "node_" + handler.__name__
    return scoped
