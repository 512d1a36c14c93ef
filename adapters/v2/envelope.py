"""EMQ 2.3's envelope and result codes (emqttd_internal.hrl; reference §1.1-1.2).

Success is HTTP 200 `{"code":0,"result":...}`; a business or parameter error is HTTP 200 with
`{"code":N}` or `{"code":N,"message":"..."}` and no `result`. Handlers raise ``fail(code, message)``
and the dialect renders it; everything else 2.3 answered with an empty body (401, 404, and the
gateway's 405/412/413) is rendered in ``adapters.v2.dialect``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from aiohttp import web

from gateway.http.dialect import ApiError
from gateway.http.listing import EncodedRow, listing

SUCCESS = 0
# code -> what it means (the 2.3 header's own wording, translated); `message` texts are set per call
# site, as 2.3 set them.
CODES = {
    101: "badrpc",
    102: "unknown error",
    103: "username or password error",
    104: "empty username or password",
    105: "user does not exist",
    106: "admin can not be deleted",
    107: "missing request parameter",
    108: "request parameter type error",
    109: "request parameter is not json",
    110: "plugin already loaded",
    111: "plugin already unloaded",
    112: "client not online",
    113: "user already exists",
    114: "old password error",
}

# The messages 2.3 sent with its parameter codes (emqttd_http.erl).
PARAMS_ERROR = "params error"
PARAMS_TYPE_ERROR = "params type error"
BODY_NOT_JSON = "Body not json"
USER_NOT_FOUND = "User not found"


# Every v2 answer: 200 with the envelope (success or business error), or an empty-bodied status; what
# each endpoint documents unless it says otherwise.
ENVELOPE = {
    "type": "object",
    "required": ["code"],
    "properties": {
        "code": {"type": "integer", "description": "0 on success, else 101-114"},
        "result": {"description": "present on success only"},
        "message": {"type": "string", "description": "with some error codes"},
    },
}
RESPONSES: dict[int, dict] = {
    200: {"description": "success (code 0) or a business error (code 101-114)", "schema": ENVELOPE},
    401: {"description": 'empty body; WWW-Authenticate: Basic Realm="emqx control center"'},
    404: {"description": "empty text/plain: unknown route or node"},
}


def ok(result: Any = ()) -> web.Response:
    """`{"code":0,"result":...}`; 2.3's `{ok, []}` is the empty list."""
    body = {"code": SUCCESS, "result": list(result) if isinstance(result, tuple) else result}
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def ok_listing(result: Any, items: Sequence[Any], row: Callable[[Any], EncodedRow]) -> web.StreamResponse:
    """``ok(result)`` for a ``result`` holding ``gateway.http.listing.ROWS``: the rows of ``items``."""
    return listing({"code": SUCCESS, "result": result}, items, row)


def fail(code: int, message: str | None = None) -> ApiError:
    """A business error: HTTP 200 with `{"code":N[,"message":...]}`."""
    assert code in CODES, code
    return ApiError(200, code, message or "")


def business_body(err: ApiError) -> dict:
    return {"code": err.code, "message": err.message} if err.message else {"code": err.code}
