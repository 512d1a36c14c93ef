"""Request validation to EMQX 5's rules (emqx_dashboard_swagger): declared query params only,
defaults injected, types converted, bounds checked; JSON bodies checked against the endpoint's schema
with unknown fields refused. Every violation is 400 BAD_REQUEST with a JSON-encoded hocon error.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from adapters.common.paging import MAX_PAGE
from gateway.http import dialect as d
from gateway.http.routes import Param

from .errors import validation_error

# EMQX's ?MAX_ROW_LIMIT (emqx_mgmt_api.hrl): larger pages are refused by the schema.
MAX_ROW_LIMIT = 10000
DEFAULT_ROW_LIMIT = 100


def q(name: str, type: str = "string", description: str = "", **kw) -> Param:
    return Param(name=name, type=type, description=description, **kw)


def path(name: str, description: str = "", **kw) -> Param:
    return Param(name=name, where="path", required=True, description=description, **kw)


PAGE = q("page", "integer", "Page number of the results to fetch.", default=1, minimum=1, maximum=MAX_PAGE)
LIMIT = q(
    "limit", "integer", "Results per page (max 10000).", default=DEFAULT_ROW_LIMIT, minimum=1, maximum=MAX_ROW_LIMIT
)
NODE_PATH = path("node", "Node name, e.g. emqx@127.0.0.1")

_TRUE, _FALSE = ("true",), ("false",)
_NUMBERS = {"integer": int, "number": float}

# Whatever a schema declares, an integer must fit a signed 64-bit one: the handlers hand it to islice,
# SQLite and the JSON encoder, none of which takes more (EMQX's Erlang bignums have no such edge).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# The integers orjson can write; an error echoing a value beyond them echoes its text instead.
JSON_INT_MIN, JSON_INT_MAX = -(2**63), 2**64 - 1


def _bounds(kind: str | None, minimum: Any, maximum: Any) -> tuple[Any, Any]:
    """The declared bounds, narrowed for integers to what a signed 64-bit integer holds."""
    if kind == "integer":
        minimum = INT64_MIN if minimum is None else max(minimum, INT64_MIN)
        maximum = INT64_MAX if maximum is None else min(maximum, INT64_MAX)
    return minimum, maximum


def _check_range(where: str, value: Any, kind: str | None, minimum: Any, maximum: Any, text: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    lo, hi = _bounds(kind, minimum, maximum)
    if lo is not None and value < lo or hi is not None and value > hi:
        expected = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"
        encodable = not isinstance(value, int) or JSON_INT_MIN <= value <= JSON_INT_MAX
        raise validation_error(where, f"expected {expected}", value if encodable else text)


def _convert(p: Param, raw: str) -> Any:
    if p.type in _NUMBERS:
        try:
            value = _NUMBERS[p.type](raw)
        except ValueError:
            raise validation_error(p.name, f"Unable to convert to {p.type}", raw) from None
    elif p.type == "boolean":
        if raw in _TRUE:
            value = True
        elif raw in _FALSE:
            value = False
        else:
            raise validation_error(p.name, "Unable to convert to boolean", raw)
    else:
        value = raw
    if p.enum is not None and value not in p.enum:
        raise validation_error(
            p.name, "unable_to_convert_to_enum_symbol", raw, expected=", ".join(str(e) for e in p.enum)
        )
    _check_range(p.name, value, p.type, p.minimum, p.maximum, raw)
    return value


def parse_params(request: web.Request, params: tuple[Param, ...]) -> dict[str, Any]:
    """The declared params, converted; undeclared query params are dropped as EMQX does."""
    out: dict[str, Any] = {}
    query = request.query
    for p in params:
        if p.where == "path":
            out[p.name] = _convert(p, request.match_info[p.name])
            continue
        values = query.getall(p.name, [])
        if not values:
            if p.required:
                raise validation_error(p.name, "required_field")
            if p.default is not None:
                out[p.name] = p.default
            continue
        if p.type == "array":
            out[p.name] = list(values)
        else:
            out[p.name] = _convert(p, values[-1])  # repeated single-valued params: the last one wins
    return out


# -- JSON bodies -------------------------------------------------------------------------------

_JSON_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def check(value: Any, schema: dict, where: str = "root") -> Any:
    """Check ``value`` against a small JSON-schema subset; return it with defaults filled in.

    Objects refuse properties the schema does not name unless it gives ``additionalProperties``
    (hocon's `unknown_fields`).
    """
    if "anyOf" in schema:  # OpenAPI 3.0 has no type lists: alternatives are spelled anyOf
        kinds = tuple(alt["type"] for alt in schema["anyOf"])
        if not any(_JSON_TYPES[k](value) for k in kinds):
            raise validation_error(where, f"expected {' | '.join(kinds)}", value)
    kind = schema.get("type")
    if kind is not None and not _JSON_TYPES[kind](value):
        raise validation_error(where, f"expected {kind}", value)
    if "enum" in schema and value not in schema["enum"]:
        raise validation_error(
            where, "unable_to_convert_to_enum_symbol", value, expected=", ".join(str(e) for e in schema["enum"])
        )
    _check_range(where, value, kind, schema.get("minimum"), schema.get("maximum"), value)
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            raise validation_error(where, "string length out of range", value)
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            raise validation_error(where, "empty_array" if not value else "too_few_items", value)
        items = schema.get("items")
        if items is not None:
            value = [check(v, items, f"{where}.{i + 1}") for i, v in enumerate(value)]
    if isinstance(value, dict) and ("properties" in schema or "additionalProperties" in schema):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", False)
        unknown = [k for k in value if k not in props]
        if unknown and extra is False:
            raise validation_error(where, "unknown_fields", unknown=", ".join(unknown), unmatched=", ".join(props))
        for name in schema.get("required", ()):
            if name not in value:
                raise validation_error(f"{where}.{name}", "required_field")
        out = {}
        for k, v in value.items():
            sub = props.get(k) if k in props else (extra if isinstance(extra, dict) else {})
            out[k] = check(v, sub, f"{where}.{k}")
        for k, sub in props.items():
            if k not in out and "default" in sub:
                out[k] = sub["default"]
        value = out
    return value


async def parse_body(request: web.Request, schema: dict, dialect) -> Any:
    raw = await request.read()
    if not raw.strip():
        data: Any = {} if schema.get("type") == "object" else None
        if data is None:
            raise validation_error("root", "required_field")
    else:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise dialect.manners_error(d.BAD_JSON, "Invalid json message received") from None
    return check(data, schema)
