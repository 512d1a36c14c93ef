"""The gateway's own page: the operator's dashboard — broker health, migration progress, clients, translator.

Plain files from ``gateway/http/page/`` (ES modules, no build step, nothing fetched from outside: the page
works offline). Everything it shows comes from `/api/v5` with the token of the dashboard user who signed in
(`POST /api/v5/login`, kept in sessionStorage), so a script can do all the page does; nothing here is
served with credentials.

The page lives at `/emqgw/` always, and at `/` too unless an EMQ 2.3 dashboard directory claims it.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

PAGE_DIR = Path(__file__).with_name("page")
ASSETS = "/home-assets"
HOME = "/emqgw/"


def add_routes(app: web.Application, *, at_root: bool) -> None:
    index = PAGE_DIR / "index.html"

    async def home(request: web.Request) -> web.FileResponse:
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    async def to_home(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently(HOME)

    async def favicon(request: web.Request) -> web.FileResponse:
        return web.FileResponse(PAGE_DIR / "favicon.svg", headers={"Content-Type": "image/svg+xml"})

    app.router.add_get(HOME, home)
    app.router.add_get(HOME.rstrip("/"), to_home)
    if at_root:
        app.router.add_get("/", home)
        app.router.add_get("/index.html", home)
    # Browsers ask every page's origin for /favicon.ico (the Swagger UI's too); an EMQ 2.3 dashboard's own,
    # mounted before this, wins.
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_static(ASSETS, PAGE_DIR)
