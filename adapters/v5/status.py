"""`GET /status` inside the prefix, and the error-code catalogue (both open, as in EMQX).

Health is the gateway's own `/status` answer (gateway.http.app.status_response), served here too.
"""

from __future__ import annotations

from aiohttp import web

from gateway.http.app import status_response
from gateway.http.dialect import Dialect
from gateway.http.routes import Call, Routes

from .errors import ERROR_CODES
from .validation import path, q

ERROR_CODE_SCHEMA = {"type": "object", "properties": {"code": {"type": "string"}, "description": {"type": "string"}}}

routes = Routes(auth="none")


@routes.get(
    "/status",
    tags=("Status",),
    summary="Node health",
    # Any format but json is text, as in emqx_mgmt_api_status.
    params=(q("format", description="json, or anything else for text", default="text"),),
    responses={
        200: {"description": "running", "content_type": "text/plain", "schema": {"type": "string"}},
        503: {"description": "not running"},
    },
)
async def get_status(call: Call) -> web.Response:
    return await status_response(call.control, call.args["format"] == "json")


@routes.get(
    "/error_codes",
    tags=("Error Codes",),
    summary="All error codes",
    responses={200: {"schema": {"type": "array", "items": ERROR_CODE_SCHEMA}}},
)
async def list_error_codes(call: Call) -> web.Response:
    return Dialect.json([{"code": c, "description": t} for c, t in ERROR_CODES.items()])


@routes.get(
    "/error_codes/{code}",
    tags=("Error Codes",),
    summary="One error code",
    params=(path("code", enum=tuple(ERROR_CODES)),),
    responses={200: {"schema": ERROR_CODE_SCHEMA}, 400: {"description": "unknown code"}},
)
async def get_error_code(call: Call) -> web.Response:
    code = call.args["code"]
    return Dialect.json({"code": code, "description": ERROR_CODES[code]})
