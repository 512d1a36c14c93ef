"""The EMQ 2.3 dialect: `/api/v2`, HTTP Basic with a dashboard user, 2.3's envelope and error forms.

Where the gateway's manners go further than 2.3 (405 + Allow, 412, 413), they are kept but rendered as
2.3 rendered its own failures: a bare status with an empty text/plain body. An internal error is 2.3's
handler crash: 404, empty. 2.3 parsed any body as JSON whatever its Content-Type, so there is no 415;
a non-JSON body is the business error 109.
"""
from __future__ import annotations

from aiohttp import web

from adapters.common.auth import parse_basic, password_ok
from gateway.http import dialect as d
from gateway.http.dialect import ApiError, Dialect

from . import clients, configs, dashboard, monitoring, mqtt, plugins, users
from .envelope import BODY_NOT_JSON, business_body, fail

# emqttd_http.erl's realm (the dashboard's own `/api/logout` used "emq dashboard").
WWW_AUTHENTICATE = 'Basic Realm="emqx control center"'

_STATUS = {
    d.UNAUTHORIZED: 401,
    d.NOT_FOUND: 404,
    d.METHOD_NOT_ALLOWED: 405,
    d.TOO_LARGE: 413,
    d.UNSUPPORTED_MEDIA_TYPE: 415,
    d.PRECONDITION_FAILED: 412,
    d.INTERNAL: 404,  # 2.3's crash: 404, empty text/plain, no traceback
}


class V2Dialect(Dialect):
    name = "v2"
    prefix = "/api/v2"
    enforce_json_content_type = False
    openapi_security_schemes = {"basicAuth": {"type": "http", "scheme": "basic"}}

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        for module in (monitoring, clients, mqtt, plugins, configs, users):
            module.register(self)

    def error_response(self, request: web.Request | None, err: ApiError) -> web.StreamResponse:
        if err.status == 200:
            return self.json(business_body(err))
        if err.status == 401:
            return web.Response(status=401, headers={"WWW-Authenticate": WWW_AUTHENTICATE})
        return web.Response(status=err.status, body=b"", content_type="text/plain", headers=err.headers)

    def manners_error(self, reason: str, message: str = "") -> ApiError:
        if reason == d.BAD_JSON:
            return fail(109, BODY_NOT_JSON)
        return ApiError(_STATUS[reason], reason, message)

    async def authenticate(self, request: web.Request, endpoint) -> str:
        creds = parse_basic(request.headers.get("Authorization"))
        if creds is None or not await password_ok(self.ctx.accounts, *creds):
            raise ApiError(401, d.UNAUTHORIZED)
        return creds[0]

    def legacy_routes(self, app: web.Application) -> None:
        dashboard.add_path_list(app)

    def main_routes(self, app: web.Application) -> None:
        directory = self.ctx.config.http.dashboard_dir
        if directory:
            dashboard.add_static_site(app, self.ctx, directory)
