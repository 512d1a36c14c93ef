"""What a dialect tells the gateway: its prefix, how it reads arguments, its envelope for errors and
its table of interface errors, how it authenticates.

Each adapter folder provides one Dialect subclass; the gateway's HTTP manners (``gateway.http.manners``)
call it so that every error — 401, 404, 405, 413, 415, 412, 500, and each ``schemas.errors`` type a
handler lets through — comes out in that dialect's own form.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from schemas.errors import ControlError

from .routes import Endpoint, Routes, RouteTable


class ApiError(Exception):
    """Raised by handlers and by the manners; the dialect renders it.

    ``code`` is whatever the dialect's error table uses (EMQX 5 strings, EMQ/NanoMQ integers).
    """

    def __init__(self, status: int, code: Any = None, message: str = "", headers: dict | None = None, body: Any = None):
        super().__init__(message or str(code))
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.body = body  # a dialect may carry a full body of its own (e.g. v5 publish errors)


# Reasons the manners raise, independent of any dialect; each dialect maps them to its codes.
UNAUTHORIZED = "unauthorized"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
TOO_LARGE = "too_large"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
BAD_JSON = "bad_json"
PRECONDITION_FAILED = "precondition_failed"
INTERNAL = "internal"


class Dialect:
    name = "base"
    prefix = ""
    # EMQX 5 answers 415 to a non-JSON content type; EMQ 2.x parsed any body as JSON.
    enforce_json_content_type = True

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.table = RouteTable()

    def include(self, *routes: Routes) -> None:
        """Serve the endpoints the resource modules declared."""
        for r in routes:
            for ep in r:
                self.table.append(ep)

    # -- to be provided by each dialect ------------------------------------------------------

    async def arguments(self, request: web.Request, endpoint: Endpoint) -> tuple[dict[str, Any], Any]:
        """The endpoint's arguments (path and query) and body, read by this dialect's rules; raises the
        dialect's ApiError for bad input. By default: path parameters and the last value of each query
        key, and no body."""
        args: dict[str, Any] = dict(request.query)
        args.update(request.match_info)
        return args, None

    def control_error(self, err: ControlError, endpoint: Endpoint) -> ApiError:
        """The dialect's one table from interface errors to its answers (``endpoint.errors`` first)."""
        raise NotImplementedError

    def error_response(self, request: web.Request | None, err: ApiError) -> web.StreamResponse:
        raise NotImplementedError

    def manners_error(self, reason: str, message: str = "") -> ApiError:
        """The ApiError this dialect raises for one of the gateway-level reasons above."""
        raise NotImplementedError

    async def authenticate(self, request: web.Request, endpoint: Endpoint) -> Any:
        """Return the principal (for logs and usage counts) or raise the dialect's 401 ApiError."""
        raise NotImplementedError

    # OpenAPI `components.securitySchemes` of this dialect (None: no security section).
    openapi_security_schemes: dict | None = None

    def openapi_security(self, endpoint: Endpoint) -> list | None:
        """The OpenAPI `security` of one endpoint when it differs from the document's default."""
        return None

    def legacy_routes(self, app: web.Application) -> None:
        """Routes outside the prefix on this dialect's own legacy listener (e.g. EMQ 2.x `GET /`)."""

    def main_routes(self, app: web.Application) -> None:
        """Routes outside the prefix on the main listener (e.g. OpenAPI documents, a dashboard)."""

    async def start(self) -> None:
        """Called once the HTTP listeners are up (a dialect may start samplers or bridges here)."""

    async def stop(self) -> None:
        """Called at shutdown, before the broker stops."""

    # -- shared helpers ----------------------------------------------------------------------

    @staticmethod
    def json(data: Any, status: int = 200, headers: dict | None = None) -> web.Response:
        return web.Response(body=orjson.dumps(data), status=status, content_type="application/json", headers=headers)
