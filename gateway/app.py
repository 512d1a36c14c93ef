"""The aiohttp applications: the main listener with every dialect, and the legacy listeners.

Each dialect's route table is registered path by path with a catch-all method, so that method
override, 405 + Allow and If-Match are decided by ``gateway.manners`` from the same table the OpenAPI
documents are built from.
"""
from __future__ import annotations

import orjson
from aiohttp import web

from . import dialect as d
from . import openapi
from .dialect import Dialect
from .manners import make_dispatcher


def _status_text(ctx) -> tuple[str, dict]:
    running = ctx.control.running
    node = ctx.node_name
    # EMQX/EMQ wording, which health checks grep for.
    text = f"Node {node} is started\nemqx is {'running' if running else 'not_running'}"
    return text, {"node_name": node, "rel_vsn": "emqgw", "broker_status": "running" if running else "stopped",
                  "app_status": "running" if running else "stopped"}


def status_handler(ctx):
    async def status(request: web.Request) -> web.Response:
        text, doc = _status_text(ctx)
        code = 200 if ctx.control.running else 503
        if request.query.get("format") == "json":
            return web.Response(body=orjson.dumps(doc), status=code, content_type="application/json")
        return web.Response(text=text, status=code, content_type="text/plain")
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


def build_app(ctx, dialects: list[Dialect], *, legacy: bool = False) -> web.Application:
    """One listener's application serving the given dialects (plus `/status`).

    A legacy listener (EMQ 2.x's 8080, NanoMQ's 8081) carries one dialect, which may add what that
    product served outside its prefix (``Dialect.legacy_routes``).
    """
    limit = ctx.config.http.body_limit
    # aiohttp enforces the same limit on bodies sent without a Content-Length.
    app = web.Application(client_max_size=limit, middlewares=[_not_found_middleware(dialects)])
    app.router.add_get("/status", status_handler(ctx))
    for dl in dialects:
        mount(app, dl, limit)
        if legacy:
            dl.legacy_routes(app)
        else:
            dl.main_routes(app)
    if not legacy:
        openapi.add_routes(app, dialects)
    return app
