"""Builds and runs the HTTP listeners: the main one (all dialects) and the legacy ones."""

from __future__ import annotations

from aiohttp import web

from .app import build_app
from .context import GatewayContext
from .dialect import Dialect


class HttpServer:
    def __init__(self, ctx: GatewayContext, dialects: dict[str, Dialect]):
        self.ctx = ctx
        self.dialects = dialects
        self.runners: list[web.AppRunner] = []
        self.bound: list[tuple[str, int, list[str]]] = []  # (host, port, prefixes)

    def _plans(self) -> list[tuple[int, list[Dialect]]]:
        http = self.ctx.config.http
        plans = [(http.port, list(self.dialects.values()))] if http.port is not None else []
        if http.v2_port is not None and "v2" in self.dialects:
            plans.append((http.v2_port, [self.dialects["v2"]]))
        if http.v4_port is not None and "v4" in self.dialects:
            plans.append((http.v4_port, [self.dialects["v4"]]))
        return plans

    async def start(self) -> None:
        bind = self.ctx.config.http.bind
        try:
            for port, dialects in self._plans():
                app = build_app(self.ctx, dialects, legacy=len(dialects) == 1)
                runner = web.AppRunner(app, access_log=None, handle_signals=False)
                await runner.setup()
                self.runners.append(runner)
                site = web.TCPSite(runner, bind, port, reuse_address=True)
                await site.start()
                real = runner.addresses[-1][1]
                self.bound.append((bind, real, [dl.prefix for dl in dialects]))
            for dl in self.dialects.values():
                await dl.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for dl in self.dialects.values():
            await dl.stop()
        for runner in self.runners:
            await runner.cleanup()
        self.runners.clear()
