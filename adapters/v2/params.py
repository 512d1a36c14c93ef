"""Request parameters as EMQ 2.3 read them (emqttd_http.erl; reference §1.1, §1.3).

GET reads the query string only (unknown keys such as the dashboard's `timestamps` are ignored);
POST/PUT/DELETE read a JSON body whatever its Content-Type, and ignore the query. The rules:
a body that is not JSON -> 109; a declared required parameter absent -> 107; a declared parameter of
the wrong JSON type -> 108 (2.3 checked `binary` = string and `bool`; integers are checked too, where
2.3 crashed). The declarations are ``gateway.http.routes.Param`` records, so the same tuple also feeds the
OpenAPI document (``body_schema``).
"""
from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from adapters.common.paging import PageRequest, parse_page
from gateway.http import dialect as d
from gateway.http.routes import Param

from .envelope import BODY_NOT_JSON, PARAMS_ERROR, PARAMS_TYPE_ERROR, fail

# 2.3's default page (emqttd_mgmt.erl); it had no upper bound.
DEFAULT_PAGE_SIZE = 20
PAGING = (
    Param(name="curr_page", type="integer", default=1, description="page number, from 1"),
    Param(name="page_size", type="integer", default=DEFAULT_PAGE_SIZE, description="rows per page"),
)

_JSON_TYPES = {"string": "string", "boolean": "boolean", "integer": "integer"}


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return True


def not_found() -> d.ApiError:
    """What 2.3 answered when a handler crashed or nothing matched: 404 with an empty body."""
    return d.ApiError(404, d.NOT_FOUND)


async def json_body(request: web.Request) -> dict:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise fail(109, BODY_NOT_JSON) from None
    if not isinstance(data, dict):
        raise fail(109, BODY_NOT_JSON)
    return data


async def body_params(request: web.Request, declared: tuple[Param, ...] = ()) -> dict:
    """The JSON body, checked against ``declared`` (107/108), with declared defaults filled in."""
    data = await json_body(request)
    for p in declared:
        if p.name not in data:
            if p.required:
                raise fail(107, PARAMS_ERROR)
            data[p.name] = p.default
        elif not _type_ok(p.type, data[p.name]):
            raise fail(108, PARAMS_TYPE_ERROR)
    return data


def body_schema(declared: tuple[Param, ...]) -> dict:
    props = {}
    for p in declared:
        props[p.name] = {"type": _JSON_TYPES.get(p.type, p.type), "description": p.description}
        if p.default is not None:
            props[p.name]["default"] = p.default
        if p.enum is not None:
            props[p.name]["enum"] = list(p.enum)
    schema: dict = {"type": "object", "properties": props}
    required = [p.name for p in declared if p.required]
    if required:
        schema["required"] = required
    return schema


def page(request: web.Request) -> PageRequest:
    """`curr_page` / `page_size` from the query; 2.3 crashed (404) on a non-integer or a zero size."""
    try:
        return parse_page(request.query.get("curr_page"), request.query.get("page_size"),
                          default_limit=DEFAULT_PAGE_SIZE)
    except ValueError:
        raise not_found() from None


def node(ctx, request: web.Request) -> str:
    """The `{node}` of the path, which must be ours; 2.3 crashed on an unknown node (badrpc) -> 404."""
    name = request.match_info["node"]
    if name != ctx.control.node_name:
        raise not_found()
    return name
