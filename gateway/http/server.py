"""Builds and runs the HTTP listeners: the main one (all dialects) and the legacy ones, each behind its
own ``ListenerGuard`` (request deadline, connection cap, quiet logs for unparsable requests)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .app import build_app
from .context import GatewayContext
from .dialect import Dialect
from .guard import ListenerGuard, connection_ceiling


class HttpServer:
    def __init__(self, ctx: GatewayContext, dialects: dict[str, Dialect]):
        self.ctx = ctx
        self.dialects = dialects
        self.runners: list[web.AppRunner] = []
        self.listeners: list[asyncio.Server] = []
        self.guards: list[ListenerGuard] = []
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
        http = self.ctx.config.http
        plans = self._plans()
        cap = connection_ceiling(http.max_connections, len(plans))
        loop = asyncio.get_running_loop()
        try:
            for port, dialects in plans:
                guard = ListenerGuard(request_timeout=http.request_timeout, max_connections=cap)
                app = build_app(self.ctx, dialects, legacy=len(dialects) == 1)
                app.middlewares.insert(0, guard.middleware)  # outermost: its clock covers every route
                runner = web.AppRunner(app, access_log=None, handle_signals=False, logger=guard.server_log)
                await runner.setup()
                self.runners.append(runner)
                # The guard's protocol sits between each accepted socket and aiohttp's; runner.cleanup()
                # still closes every connection aiohttp holds.
                listener = await loop.create_server(
                    guard.protocol_factory(runner.server), http.bind, port, reuse_address=True
                )
                self.listeners.append(listener)
                real = listener.sockets[0].getsockname()[1]
                guard.name = f"http {http.bind}:{real}"  # as the `listening:` line names it
                self.guards.append(guard)
                self.bound.append((http.bind, real, [dl.prefix for dl in dialects]))
            for dl in self.dialects.values():
                await dl.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for dl in self.dialects.values():
            await dl.stop()
        for listener in self.listeners:
            listener.close()
        self.listeners.clear()
        for runner in self.runners:
            await runner.cleanup()
        self.runners.clear()
