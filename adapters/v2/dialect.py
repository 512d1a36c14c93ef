"""The EMQ 2.3 dialect: `/api/v2`, HTTP Basic with a dashboard user, 2.3's envelope and error forms.

Where the gateway's manners go further than 2.3 (405 + Allow, 412, 413), they are kept but rendered as
2.3 rendered its own failures: a bare status with an empty text/plain body. An internal error is 2.3's
handler crash: 404, empty. 2.3 parsed any body as JSON whatever its Content-Type, so there is no 415;
a non-JSON body is the business error 109.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from aiohttp import web

from adapters.common.auth import parse_basic, password_ok
from gateway.http import dialect as d
from gateway.http.dialect import ApiError, Dialect
from gateway.http.routes import Endpoint, Routes
from schemas.errors import ControlError

from . import dashboard, params
from .envelope import BODY_NOT_JSON, RESPONSES, business_body, fail
from .errors import Quoting, control_error

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

# A path ending in a capture of any text (`routes/{topic:.+}`) takes a trailing slash already.
_TAKES_ANY_TAIL = re.compile(r"\{\w+:\.[*+]\}$")
# The arguments and body a request was read with, for the messages that quote them (errors.Quoting).
ARGUMENTS = web.RequestKey("v2_arguments", dict)


class V2Dialect(Dialect):
    name = "v2"
    prefix = "/api/v2"
    enforce_json_content_type = False
    openapi_security_schemes = {"basicAuth": {"type": "http", "scheme": "basic"}}

    def include(self, *routes: Routes) -> None:
        """v2's conventions on every endpoint: 2.3's envelope as its documented answers, and, as 2.3
        matched anchored regexes ending in `/?` (emqttd_rest_api.erl), a trailing-slash twin hidden from
        the document (the 2.3 dashboard calls `change_pwd/{username}/`)."""
        for r in routes:
            for ep in r:
                ep = attrs.evolve(ep, responses=ep.responses or RESPONSES)
                self.table.append(ep)
                if not _TAKES_ANY_TAIL.search(ep.path):
                    self.table.append(attrs.evolve(ep, path=ep.path + "/", name=ep.name + "_slash", hidden=True))

    async def arguments(self, request: web.Request, endpoint: Endpoint) -> tuple[dict[str, Any], Any]:
        args, body = await params.arguments(request, endpoint, self.ctx.control)
        request[ARGUMENTS] = {**args, **(body or {})}
        return args, body

    def control_error(self, err: ControlError, endpoint: Endpoint) -> ApiError:
        return control_error(err, endpoint)

    def error_response(self, request: web.Request | None, err: ApiError) -> web.StreamResponse:
        if err.status == 200:
            if isinstance(err, Quoting) and request is not None:
                err = err.quoted(request[ARGUMENTS])
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
