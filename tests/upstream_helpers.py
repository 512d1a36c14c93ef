"""Upstream mode under test, honestly: EMQX cannot run here, so the upstream is another emqgw (B) serving
its real `/api/v5` over a real socket, in front of its real broker that paho clients use; the gateway
under test (A) reaches it through ``UpstreamControl`` and the real HTTP client, optionally through
``FaultProxy``, a TCP proxy that delays, resets or answers for B.

* ``UpstreamBroker``: a RunningBroker (its thread, its loop) whose `/api/v5` is served on that loop, and
  the ``UpstreamControl`` talking to it: the control-interface tests run against ``.control`` exactly
  as against the embedded broker's.
* the ``chain`` fixture (conftest): a whole gateway A in front of a whole gateway B, for HTTP tests.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

import adapters.v5
from adapters.upstream.control import UpstreamControl
from gateway.accounts import DB_NAME, AccountStore
from gateway.config import GatewayConfig, UpstreamConfig
from gateway.http.app import build_app
from gateway.http.context import GatewayContext
from tests.mqtt_helpers import RunningBroker

# A node name the cluster never has: what A answers as until it has reached the upstream.
UNREACHED = "unreached@nowhere"


def contract_proxy(upstream_url: str):
    """A ContractProxy (tests.contract_helpers) to ``upstream_url``; the test is skipped, saying why, when
    openapi-core (the `test` extra) is not installed."""
    pytest.importorskip("openapi_core", reason="openapi-core (pyproject's test extra) checks upstream calls")
    from tests.contract_helpers import ContractProxy

    return ContractProxy(upstream_url)


def upstream_config(url: str, key: str, secret: str, **more) -> UpstreamConfig:
    return UpstreamConfig(url=url, api_key=key, api_secret=secret, **more)


class V5Server:
    """B's `/api/v5` over a real TCP port, with an API key for A; started and stopped on ``loop``."""

    def __init__(self, control, config, data_dir: str):
        self.accounts = AccountStore(f"{data_dir}/{DB_NAME}")
        key, self.secret = self.accounts.create_api_key("upstream", "the gateway in front", True, None)
        self.key = key.api_key
        ctx = GatewayContext(
            config=GatewayConfig(data_dir=data_dir, broker=config), control=control, accounts=self.accounts
        )
        self.ctx = ctx
        self.dialect = adapters.v5.create_dialect(ctx)
        self.runner = web.AppRunner(build_app(ctx, [self.dialect]), access_log=None)
        self.port = 0

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        await self.runner.cleanup()
        self.accounts.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v5"


class UpstreamBroker:
    """A RunningBroker reached through `/api/v5` and ``UpstreamControl``; everything else (``run``,
    ``call``, ``port``, ``broker`` ...) is the RunningBroker's, so paho clients connect as usual."""

    kind = "upstream"

    def __init__(self, rb: RunningBroker, data_dir: str, **upstream):
        self.rb = rb
        self.server = V5Server(rb.control, rb.config, data_dir)
        try:
            rb.run(self.server.start())
            # Every call checked against EMQX's document (``close`` fails the test otherwise).
            self.contract = contract_proxy(self.server.url)
        except BaseException:  # a skip included: the broker's thread must not outlive the test
            rb.run(self.server.stop())
            rb.close()
            raise
        rb.run(self.contract.start())
        self.control = UpstreamControl(
            upstream_config(self.contract.url(), self.server.key, self.server.secret, **upstream),
            api_key=self.server.key,
            api_secret=self.server.secret,
            fallback_node=UNREACHED,
        )
        rb.run(self.control.open())

    def __getattr__(self, name):
        return getattr(self.rb, name)

    def close(self) -> None:
        try:
            self.rb.run(self.control.close())
            self.rb.run(self.contract.stop())
            self.rb.run(self.server.stop())
        finally:
            self.rb.close()
        broken = self.contract.violations
        assert not broken, "upstream calls outside EMQX's published API:\n" + "\n".join(broken)


class FaultProxy:
    """A reverse proxy in front of ``(host, port)`` whose ``mode`` says what each request meets: "pass"
    (forwarded), "delay" (forwarded after ``delay`` seconds), "reset" (its connection closed with a TCP
    RST, no answer), or an HTTP status (500, 503, 401 ...) answered by the proxy itself; ``stop`` takes
    the port away (connections refused), ``start`` brings it back. ``requests`` counts the requests
    that reached it."""

    def __init__(self, host: str, port: int):
        self.target = f"http://{host}:{port}"
        self.mode: str | int = "pass"
        self.delay = 0.0
        self.requests = 0
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Listen (again, on the same port once one was given: the upstream coming back)."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()
        self.port = self._runner.addresses[0][1]
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False)

    async def stop(self) -> None:
        """Stop listening and drop every connection: the upstream is down (connections refused)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def close(self) -> None:
        await self.stop()
        if self._session is not None:
            await self._session.close()

    def url(self, path: str = "/api/v5") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        self.requests += 1
        mode = self.mode
        body = await request.read()
        if mode == "reset":
            sock = request.transport.get_extra_info("socket") if request.transport else None
            if sock is not None:
                # SO_LINGER 0: closing sends RST, as a crashed or firewalled node would.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if request.transport is not None:
                request.transport.abort()
            return web.Response()  # written nowhere: the connection is gone
        if isinstance(mode, int):
            return web.json_response({"code": "FAULT", "message": "injected by the test proxy"}, status=mode)
        if mode == "delay":
            await asyncio.sleep(self.delay)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        url = URL(self.target + request.raw_path, encoded=True)
        async with self._session.request(request.method, url, data=body or None, headers=headers) as resp:
            answer = await resp.read()
            out = {k: v for k, v in resp.headers.items() if k.lower() in ("content-type", "etag")}
            return web.Response(body=answer, status=resp.status, headers=out)
