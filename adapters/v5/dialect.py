"""The EMQX 5.8 dialect: prefix `/api/v5`, `{"code", "message"}` errors, Basic = API key, Bearer = token.

Auth follows emqx_dashboard.erl / emqx_mgmt_auth.erl: dashboard users never authenticate with Basic;
`/users`, `/users/{username}`, `/logout` and `/api_key*` refuse API keys before looking at them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from adapters.common.auth import parse_basic
from gateway.accounts import BadToken, TokenExpired
from gateway.http import dialect as d
from gateway.http.dialect import ApiError, Dialect
from gateway.http.manners import ENDPOINT
from gateway.http.routes import Endpoint
from schemas.errors import ControlError

from .errors import BASIC_CHALLENGE, control_error, error
from .validation import parse_body, parse_params

# Endpoint.auth policy: Bearer token only (emqx_mgmt_auth:authorize/4 path clauses).
BEARER_ONLY = "bearer"
# Endpoint.auth policy: open, unless prometheus.enable_basic_auth asks for credentials (emqx_prometheus_api).
PROMETHEUS = "prometheus"
# What a Bearer request carries on to its handler (logout, "Cannot delete self").
TOKEN = web.RequestKey("v5_token", str)
USERNAME = web.RequestKey("v5_username", str)


_MANNERS = {
    d.UNAUTHORIZED: (401, "AUTHORIZATION_HEADER_ERROR"),
    d.NOT_FOUND: (404, "NOT_FOUND"),
    d.METHOD_NOT_ALLOWED: (405, None),
    d.TOO_LARGE: (413, "PAYLOAD_TOO_LARGE"),
    d.UNSUPPORTED_MEDIA_TYPE: (415, "UNSUPPORTED_MEDIA_TYPE"),
    d.BAD_JSON: (400, "BAD_REQUEST"),
    d.PRECONDITION_FAILED: (412, "PRECONDITION_FAILED"),
    d.INTERNAL: (500, "INTERNAL_ERROR"),
}


class V5Dialect(Dialect):
    name = "v5"
    prefix = "/api/v5"
    openapi_security_schemes = {
        "basicAuth": {"type": "http", "scheme": "basic", "description": "API key : API secret"},
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "token from POST /login"},
    }

    def openapi_security(self, endpoint: Endpoint) -> list | None:
        if endpoint.auth == PROMETHEUS:
            return [{}, *({name: []} for name in self.openapi_security_schemes)]
        return [{"bearerAuth": []}] if endpoint.auth == BEARER_ONLY else None

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.services: list[Any] = []  # things with start()/stop() (the monitor sampler, the usage flusher)

    # -- arguments and interface errors ------------------------------------------------------

    async def arguments(self, request: web.Request, endpoint: Endpoint) -> tuple[dict[str, Any], Any]:
        """EMQX's request validation: the declared params, then the body against its schema."""
        args = parse_params(request, endpoint.params)
        body = await parse_body(request, endpoint.body, self) if endpoint.body is not None else None
        return args, body

    def control_error(self, err: ControlError, endpoint: Endpoint) -> ApiError:
        return control_error(err, endpoint)

    # -- errors ------------------------------------------------------------------------------

    def error_response(self, request: web.Request | None, err: ApiError) -> web.StreamResponse:
        if err.status == 405:
            return web.Response(status=405, headers=err.headers)
        if err.body is not None:
            return self.json(err.body, status=err.status, headers=err.headers)
        if err.status == 404 and request is not None and ENDPOINT not in request:  # unrouted path
            accept = request.headers.get("Accept", "")
            if "text/plain" in accept and "application/json" not in accept:
                return web.Response(status=404, text="404 - NOT FOUND", content_type="text/plain")
        return self.json({"code": err.code, "message": err.message}, status=err.status, headers=err.headers)

    def manners_error(self, reason: str, message: str = "") -> ApiError:
        status, code = _MANNERS[reason]
        headers = BASIC_CHALLENGE if reason == d.UNAUTHORIZED else None
        if reason == d.UNAUTHORIZED:
            message = "Support authorization: basic/bearer "
        return ApiError(status, code, message, headers=headers)

    # -- auth --------------------------------------------------------------------------------

    async def authenticate(self, request: web.Request, endpoint: Endpoint) -> Any:
        if endpoint.auth == PROMETHEUS and not (await self.ctx.control.get_config()).prometheus_basic_auth:
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, cred = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            if endpoint.auth == BEARER_ONLY:
                resource = endpoint.path.strip("/").split("/")[0]
                raise error(
                    401,
                    "API_KEY_NOT_ALLOW",
                    f"Please use bearer Token instead, using API key/secret in {resource} path is not permitted",
                )
            return self._api_key(header)
        if scheme == "bearer":
            return self._token(request, cred.strip())
        raise self.manners_error(d.UNAUTHORIZED)

    def _api_key(self, header: str) -> str:
        creds = parse_basic(header)
        if creds is None:
            raise self.manners_error(d.UNAUTHORIZED)
        app = self.ctx.accounts.check_api_key(*creds)
        if app is None:
            raise error(401, "BAD_API_KEY_OR_SECRET", "Check api_key/api_secret", headers=BASIC_CHALLENGE)
        return f"api_key:{app.name}"

    def _token(self, request: web.Request, token: str) -> str:
        try:
            username = self.ctx.accounts.check_token(token)
        except TokenExpired:
            raise error(401, "TOKEN_TIME_OUT", "Token expired, get new token by POST /login") from None
        except BadToken:
            raise error(401, "BAD_TOKEN", "Get a token by POST /login") from None
        request[TOKEN] = token
        request[USERNAME] = username
        return username

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        for s in self.services:
            await s.start()

    async def stop(self) -> None:
        for s in reversed(self.services):
            await s.stop()
