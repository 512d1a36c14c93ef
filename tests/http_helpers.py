"""A whole gateway for HTTP tests: real broker, real SQLite account store, real aiohttp server.

The ``gateway`` fixture (conftest) builds them:

    async def test_x(gateway):
        gw = await gateway("v5")          # dialect names to mount (default: all)
        r = await gw.http.get("/api/v5/nodes", auth=...)
        c = Client(gw.broker, ...)         # paho clients against the same broker
"""

from __future__ import annotations

import asyncio
import inspect

import attrs

from gateway.http.context import GatewayContext
from tests.mqtt_helpers import RunningBroker


@attrs.define
class Gateway:
    broker: RunningBroker
    ctx: GatewayContext
    dialects: dict
    http: object  # aiohttp TestClient
    accounts: object
    # In upstream mode (the ``chain`` fixture): the gateway whose `/api/v5` this one fronts (B), and the
    # proxy between them.
    upstream: Gateway | None = None
    proxy: object = None


class ThreadedControl:
    """The broker's controller, called on the broker's own loop (it runs in its own thread in tests).

    Every coroutine method of BrokerControl is forwarded with asyncio.wrap_future, so HTTP handlers on
    the test loop await it as they would await the controller in production.
    """

    def __init__(self, rb: RunningBroker):
        self._rb = rb
        self._target = rb.control

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):

            async def call(*args, **kwargs):
                fut = asyncio.run_coroutine_threadsafe(attr(*args, **kwargs), self._rb.loop)
                return await asyncio.wrap_future(fut)

            return call
        return attr
