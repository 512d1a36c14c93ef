"""`GET /status` inside the prefix, and the error-code catalogue (both open, as in EMQX).

Health is the gateway's own `/status` answer (gateway.http.app.status_response), served here too.
"""
from __future__ import annotations

from aiohttp import web

from gateway.http.app import status_response
from gateway.http.dialect import Dialect

from .errors import ERROR_CODES
from .validation import path, q

async def get_status(call) -> web.Response:
    return status_response(call.control, call.args["format"] == "json")


async def list_error_codes(call) -> web.Response:
    return Dialect.json([{"code": c, "description": t} for c, t in ERROR_CODES.items()])


async def get_error_code(call) -> web.Response:
    code = call.args["code"]
    return Dialect.json({"code": code, "description": ERROR_CODES[code]})


ERROR_CODE_SCHEMA = {"type": "object", "properties": {"code": {"type": "string"}, "description": {"type": "string"}}}


def register(dl) -> None:
    dl.endpoint("GET", "/status", get_status, auth="none", tags=("Status",), summary="Node health",
                params=(q("format", enum=("text", "json"), default="text"),),
                responses={200: {"description": "running", "content_type": "text/plain", "schema": {"type": "string"}},
                           503: {"description": "not running"}})
    dl.endpoint("GET", "/error_codes", list_error_codes, auth="none", tags=("Error Codes",),
                summary="All error codes",
                responses={200: {"schema": {"type": "array", "items": ERROR_CODE_SCHEMA}}})
    dl.endpoint("GET", "/error_codes/{code}", get_error_code, auth="none", tags=("Error Codes",),
                summary="One error code",
                params=(path("code", enum=tuple(ERROR_CODES)),),
                responses={200: {"schema": ERROR_CODE_SCHEMA}, 400: {"description": "unknown code"}})

