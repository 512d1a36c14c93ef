"""The gateway's own page at `/` of the main listener (when no EMQ 2.3 dashboard directory is set).

Plain files from ``gateway/http/page/`` — no build step: node status, live client / subscription / topic
counts, links to each dialect's API documents, and a translator box calling
`POST /api/v5/gateway/translate`. The page signs in with a dashboard user (`POST /api/v5/login`) and
keeps the token in sessionStorage; nothing here is served with credentials.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

PAGE_DIR = Path(__file__).with_name("page")
ASSETS = "/home-assets"


def add_routes(app: web.Application) -> None:
    index = PAGE_DIR / "index.html"

    async def home(request: web.Request) -> web.FileResponse:
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/", home)
    app.router.add_get("/index.html", home)
    app.router.add_static(ASSETS, PAGE_DIR)
