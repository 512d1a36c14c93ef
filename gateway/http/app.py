"""The aiohttp applications: the main listener with every dialect, and the legacy listeners.

Each dialect's route table is registered path by path with a catch-all method, so that method
override, 405 + Allow and If-Match are decided by ``gateway.http.manners`` from the same table the OpenAPI
documents are built from.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from schemas.version import VERSION

from . import dialect as d
from . import home, openapi
from .dialect import Dialect
from .manners import client_gone, make_dispatcher


async def status_response(control, as_json: bool) -> web.Response:
    """EMQX's health answer (emqx_mgmt_api_status): its words, which health checks grep for; 503
    while the broker is stopped or cannot be reached; `retry-after: 15` always."""
    running = await control.is_running()
    node = control.node_name
    code = 200 if running else 503
    headers = {"retry-after": "15"}
    if as_json:
        doc = {
            "node_name": node,
            "rel_vsn": f"v{VERSION}",
            "broker_status": "started" if running else "stopped",
            "app_status": "running" if running else "not_running",
        }
        return web.Response(body=orjson.dumps(doc), status=code, content_type="application/json", headers=headers)
    text = f"Node {node} is {'started' if running else 'stopped'}\nemqx is {'running' if running else 'not_running'}"
    return web.Response(text=text, status=code, content_type="text/plain", headers=headers)


def status_handler(ctx):
    """`/status` outside any prefix, unauthenticated."""

    async def status(request: web.Request) -> web.Response:
        return await status_response(ctx.control, request.query.get("format") == "json")

    return status


def mount(app: web.Application, dialect: Dialect, body_limit: int) -> None:
    for path, methods in dialect.table.by_path().items():
        app.router.add_route("*", dialect.prefix + path, make_dispatcher(dialect, methods, body_limit))


def _not_found_middleware(dialects: list[Dialect]):
    by_prefix = sorted(dialects, key=lambda x: len(x.prefix), reverse=True)

    @web.middleware
    async def not_found(request: web.Request, handler):
        try:
            return await handler(request)
        except web.HTTPNotFound:
            for dl in by_prefix:
                if request.path == dl.prefix or request.path.startswith(dl.prefix + "/"):
                    return dl.error_response(request, dl.manners_error(d.NOT_FOUND, "Request Path Not Found"))
            return web.Response(status=404, text="404 - NOT FOUND", content_type="text/plain")

    return not_found


@web.middleware
async def _quiet_when_client_gone(request: web.Request, handler):
    try:
        return await handler(request)
    except ConnectionResetError as e:
        if not client_gone(request, e):
            raise
        # Never sent (the connection is closed); it only ends the request without aiohttp's traceback.
        return web.Response(status=400)


def build_app(ctx, dialects: list[Dialect], *, legacy: bool = False) -> web.Application:
    """One listener's application serving the given dialects (plus `/status`).

    A legacy listener (EMQ 2.x's 8080, NanoMQ's 8081) carries one dialect, which may add what that
    product served outside its prefix (``Dialect.legacy_routes``).
    """
    limit = ctx.config.http.body_limit
    # aiohttp enforces the same limit on bodies sent without a Content-Length.
    app = web.Application(client_max_size=limit, middlewares=[_quiet_when_client_gone, _not_found_middleware(dialects)])
    app.router.add_get("/status", status_handler(ctx))
    for dl in dialects:
        mount(app, dl, limit)
        if legacy:
            dl.legacy_routes(app)
        else:
            dl.main_routes(app)
    if not legacy:
        openapi.add_routes(app, dialects)
        home.add_routes(app, at_root=not ctx.config.http.dashboard_dir)  # an EMQ 2.3 dashboard owns `/`
    return app
