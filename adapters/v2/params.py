"""Request parameters as EMQ 2.3 read them (emqttd_http.erl; reference §1.1, §1.3).

GET reads the query string only (unknown keys such as the dashboard's `timestamps` are ignored);
POST/PUT/DELETE read a JSON body whatever its Content-Type, and ignore the query. The rules:
a body that is not a JSON object -> 109, on every such route (2.3 decoded it before dispatching); a
`{node}` in the path that is not a node of the cluster -> 404 (2.3 crashed on its badrpc); a declared required
parameter absent -> 107; a declared parameter of the wrong JSON type, or outside its `enum` -> 108
(2.3 checked `binary` = string and `bool`; integers and enums are checked too, where 2.3 crashed).

A body is declared as the JSON schema ``body_schema`` builds from ``gateway.http.routes.Param``
records: the OpenAPI document shows it, and ``checked_body`` applies it.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from adapters.common.paging import PageRequest, parse_page
from gateway.http import dialect as d
from gateway.http.routes import Endpoint, Param
from schemas.control import BrokerControl

from .envelope import BODY_NOT_JSON, PARAMS_ERROR, PARAMS_TYPE_ERROR, fail

# 2.3's default page (emqttd_mgmt.erl); it had no upper bound.
DEFAULT_PAGE_SIZE = 20
PAGING = (
    Param(name="curr_page", type="integer", default=1, description="page number, from 1"),
    Param(name="page_size", type="integer", default=DEFAULT_PAGE_SIZE, description="rows per page"),
)

_TYPES = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
}


def not_found() -> d.ApiError:
    """What 2.3 answered when a handler crashed or nothing matched: 404 with an empty body."""
    return d.ApiError(404, d.NOT_FOUND)


async def arguments(request: web.Request, endpoint: Endpoint, control: BrokerControl) -> tuple[dict[str, Any], Any]:
    """The path and query (GET) or the path and body (the rest), by the rules above, in 2.3's order."""
    if endpoint.method == "GET":
        args = {**request.query, **request.match_info}
        body = None
    else:
        args = dict(request.match_info)
        body = await _json_object(request)
    node = request.match_info.get("node")
    if node is not None and node not in await control.node_names():
        raise not_found()
    if body is not None and endpoint.body is not None:
        body = checked_body(body, endpoint.body)
    return args, body


async def _json_object(request: web.Request) -> dict:
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


def checked_body(data: dict, schema: dict) -> dict:
    """``data`` checked against its declared properties (107/108), absent optional ones filled in with
    their default (None when they have none)."""
    required = schema.get("required", ())
    out = dict(data)
    for name, prop in schema.get("properties", {}).items():
        if name not in data:
            if name in required:
                raise fail(107, PARAMS_ERROR)
            out[name] = prop.get("default")
            continue
        value = data[name]
        if not _TYPES[prop["type"]](value) or value not in prop.get("enum", (value,)):
            raise fail(108, PARAMS_TYPE_ERROR)
    return out


def body_schema(*declared: Param) -> dict:
    props: dict[str, dict[str, Any]] = {}
    for p in declared:
        props[p.name] = {"type": p.type, "description": p.description}
        if p.default is not None:
            props[p.name]["default"] = p.default
        if p.enum is not None:
            props[p.name]["enum"] = list(p.enum)
    schema: dict = {"type": "object", "properties": props}
    required = [p.name for p in declared if p.required]
    if required:
        schema["required"] = required
    return schema


def page(args: dict[str, Any]) -> PageRequest:
    """`curr_page` / `page_size` of the query; 2.3 crashed (404) on a non-integer or a zero size."""
    try:
        return parse_page(args.get("curr_page"), args.get("page_size"), default_limit=DEFAULT_PAGE_SIZE)
    except ValueError:
        raise not_found() from None
