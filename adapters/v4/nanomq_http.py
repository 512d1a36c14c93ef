"""NanoMQ's HTTP rules (nanomq/rest_api.c, web_server.c @ 0.25; legacy-v2-v4-api.md §3): how its endpoints
read arguments, answer, fail and authenticate.

Success is ``{"code":0[,"data":..]}``; every failure is ``{"code":N}`` (a few carry a body of their own)
with the seed's HTTP status and a Content-Type echoing the request's (``error_response``). Query pairs
with an empty value are dropped; a body that is not JSON, or not the JSON type the endpoint takes, is
400 ``{"code":109}``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from aiohttp import web

from adapters.common.error_answers import find_answer
from gateway.http import dialect as d
from gateway.http.listing import ROWS, EncodedRow, listing
from gateway.http.routes import Endpoint
from schemas.errors import (
    Conflict,
    ControlError,
    Denied,
    InvalidArgument,
    LimitExceeded,
    NotFound,
    NotSupported,
    Unavailable,
)

from . import codes
from .auth import AuthFailed, NanoMQAuth
from .errors import V4Error

# Routes(**ROUTES): the tag and flavor of every NanoMQ endpoint.
ROUTES: dict[str, Any] = {"tags": ("nanomq",), "extra": {"flavor": "nanomq"}}


class NanoMQError(V4Error):
    def response(self, request: web.Request | None) -> web.StreamResponse:
        body = self.body if self.body is not None else {"code": self.code}
        ctype = request.headers.get("Content-Type") if request is not None else None
        return web.Response(
            body=orjson.dumps(body),
            status=self.status,
            headers={**self.headers, "Content-Type": ctype or "application/json"},
        )


def fail(status: int, code: int, body: dict | None = None) -> NanoMQError:
    return NanoMQError(status, code, body=body)


def ok(data: Any = None) -> web.Response:
    body: dict = {"code": codes.SUCCEED}
    if data is not None:
        body["data"] = data
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def ok_listing(items: Sequence[Any], row: Callable[[Any], EncodedRow]) -> web.StreamResponse:
    """``ok`` with the rows of ``items`` as data, ``row`` encoding (or remembering) each."""
    return listing({"code": codes.SUCCEED, "data": ROWS}, items, row)


_MANNERS = {
    d.UNAUTHORIZED: (401, codes.EMPTY_USERNAME_OR_PASSWORD),
    d.NOT_FOUND: (404, codes.UNKNOWN_MISTAKE),
    d.METHOD_NOT_ALLOWED: (405, codes.UNKNOWN_MISTAKE),
    d.TOO_LARGE: (413, codes.REQ_PARAM_ERROR),
    d.UNSUPPORTED_MEDIA_TYPE: (415, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL),
    d.BAD_JSON: (400, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL),
    d.PRECONDITION_FAILED: (412, codes.REQ_PARAM_ERROR),
    d.INTERNAL: (500, codes.UNKNOWN_MISTAKE),
}


def manners_error(reason: str, message: str = "") -> NanoMQError:
    status, code = _MANNERS[reason]
    return NanoMQError(status, code, message)


# JSON type an endpoint's declared body names -> the Python type it arrives as.
_BODY_TYPES = {"object": dict, "array": list}


async def arguments(request: web.Request, endpoint: Endpoint, ctx) -> tuple[dict[str, Any], Any]:
    """The query without empty-valued pairs (and `pretty`, the gateway's), the path parameters, and the
    body when the endpoint declares one."""
    args: dict[str, Any] = {k: v for k, v in request.query.items() if v != "" and k != "pretty"}
    args.update(request.match_info)
    if endpoint.body is None:
        return args, None
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise fail(400, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL) from None
    expected = _BODY_TYPES.get(endpoint.body.get("type"))
    if expected is not None and not isinstance(body, expected):
        raise fail(400, codes.REQ_PARAMS_JSON_FORMAT_ILLEGAL)
    return args, body


# Interface errors as NanoMQ answers them: (type, kind) -> (HTTP status, result code); kind None is the
# type's answer for anything else. An endpoint that answers otherwise says so in its ``errors`` (type ->
# (status, code)), as `/mqtt/publish` does with NanoMQ's HTTP 200 failures.
CONTROL_ERRORS: dict[tuple[type, str | None], tuple[int, int]] = {
    # As NanoMQ answers a configuration section or a ctrl action it does not have.
    (NotFound, None): (404, codes.RPC_ERROR),
    (InvalidArgument, None): (400, codes.REQ_PARAM_ERROR),
    (Conflict, None): (400, codes.REQ_PARAM_ERROR),
    (LimitExceeded, None): (400, codes.REQ_PARAM_ERROR),
    (Denied, None): (403, codes.REQ_PARAM_ERROR),
    # As NanoMQ answers every `/rules` call when built without its rule engine.
    (NotSupported, None): (200, codes.PLUGIN_IS_CLOSED),
    # As NanoMQ answers when the broker thread behind a call fails.
    (Unavailable, None): (500, codes.RPC_ERROR),
}


def control_error(err: ControlError, endpoint: Endpoint) -> NanoMQError:
    hit = find_answer(err, endpoint, CONTROL_ERRORS)
    status, code = hit if hit is not None else _MANNERS[d.INTERNAL]
    return NanoMQError(status, code, err.message)


async def authenticate(auth: NanoMQAuth, http_server: dict, request: web.Request) -> str:
    """The caller, by the `http_server` section's rules (basic, jwt or no_auth), or 401 with NanoMQ's code."""
    try:
        return await auth.check(http_server, request.headers.get("Authorization"))
    except AuthFailed as e:
        raise NanoMQError(401, e.code, str(e)) from None
