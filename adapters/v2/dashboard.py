"""What EMQ 2.3 served outside `/api/v2`: the 8080 listener's `GET /` path list, and the web dashboard.

A built 2.3 dashboard (emq_dashboard's `priv/www`) is a static site with hash routing that calls
`/api/v2` on its own origin; serving its directory at `/` of the main listener brings the old UI back
(reference §2.1). It is served while the `dashboard` feature (plugin `emq_dashboard`) is on.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from aiohttp import web

# Top-level names the gateway itself serves; a dashboard file of that name is not mounted over them.
RESERVED = frozenset(("api", "api-docs", "status"))

# `GET /` on 2.3's 8080 listener, exactly as it listed them (no leading slash; alarms, users, auth and
# the plain `configs` were not listed).
API_PATHS = tuple(
    "api/v2/" + p
    for p in (
        "management/nodes",
        "management/nodes/{node_name}",
        "monitoring/nodes",
        "monitoring/nodes/{node_name}",
        "monitoring/listeners",
        "monitoring/listeners/{node_name}",
        "monitoring/metrics/",
        "monitoring/metrics/{node_name}",
        "monitoring/stats",
        "monitoring/stats/{node_name}",
        "nodes/{node_name}/clients",
        "nodes/{node_name}/clients/{clientid}",
        "clients/{clientid}",
        "clients/{clientid}/clean_acl_cache",
        "nodes/{node_name}/sessions",
        "nodes/{node_name}/sessions/{clientid}",
        "sessions/{clientid}",
        "nodes/{node_name}/subscriptions",
        "nodes/{node_name}/subscriptions/{clientid}",
        "subscriptions/{clientid}",
        "routes",
        "routes/{topic}",
        "mqtt/publish",
        "mqtt/subscribe",
        "mqtt/unsubscribe",
        "nodes/{node_name}/plugins",
        "nodes/{node_name}/plugins/{plugin_name}",
        "configs/{app}",
        "nodes/{node_name}/configs/{app}",
    )
)


def add_path_list(app: web.Application) -> None:
    body = orjson.dumps({"paths": list(API_PATHS)})

    async def paths(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app.router.add_get("/", paths)


def _enabled(ctx) -> bool:
    """The emq_dashboard switch (the gateway's `dashboard` feature)."""
    return ctx.config.http.dashboard


def add_static_site(app: web.Application, ctx, directory: str) -> None:
    """Serve ``directory`` at `/` (index.html for `/`), mounting only its own top-level names so that
    every other path still gets the gateway's 404."""
    root = Path(directory).resolve()

    async def serve(request: web.Request) -> web.StreamResponse:
        # A NUL cannot name a file (the OS refuses it); it is a path that is not there.
        if not _enabled(ctx) or "\x00" in request.path:
            raise web.HTTPNotFound()
        target = (root / (request.path.lstrip("/") or "index.html")).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(target)

    app.router.add_get("/", serve)
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name in RESERVED or "{" in name or "}" in name:
            continue
        app.router.add_get(f"/{name}/{{tail:.*}}" if entry.is_dir() else f"/{name}", serve)
