"""A whole gateway for HTTP tests: real broker, real SQLite account store, real aiohttp server.

    async def test_x(gateway):
        gw = await gateway("v5")          # dialect names to mount (default: all)
        r = await gw.http.get("/api/v5/nodes", auth=...)
        c = Client(gw.broker, ...)         # paho clients against the same broker
"""
from __future__ import annotations

import attrs
import pytest

from gateway.accounts import DB_NAME, AccountStore
from gateway.http.app import build_app
from gateway.config import GatewayConfig, HttpConfig
from gateway.http.context import GatewayContext
from gateway.features import register_gateway_features
from gateway.runtime import ADAPTERS
from tests.mqtt_helpers import RunningBroker


@attrs.define
class Gateway:
    broker: RunningBroker
    ctx: GatewayContext
    dialects: dict
    http: object  # aiohttp TestClient
    accounts: object


@pytest.fixture
async def gateway(aiohttp_client, tmp_path):
    made = []

    async def make(*names: str, http: HttpConfig | None = None, legacy: bool = False, **broker_overrides) -> Gateway:
        rb = RunningBroker(**broker_overrides)
        made.append(rb)
        accounts = AccountStore(str(tmp_path / DB_NAME))
        cfg = GatewayConfig(data_dir=str(tmp_path), broker=rb.config, http=http or HttpConfig())
        ctx = GatewayContext(config=cfg, control=ThreadedControl(rb), accounts=accounts)
        rb.call(register_gateway_features, rb.control, rb.broker, accounts, cfg)
        names = names or tuple(ADAPTERS)
        dialects = {n: ADAPTERS[n].create_dialect(ctx) for n in names}
        app = build_app(ctx, list(dialects.values()), legacy=legacy)
        client = await aiohttp_client(app)
        for dl in dialects.values():
            await dl.start()
        gw = Gateway(broker=rb, ctx=ctx, dialects=dialects, http=client, accounts=accounts)
        made.append(gw)
        return gw

    yield make
    for item in reversed(made):
        if isinstance(item, Gateway):
            for dl in item.dialects.values():
                await dl.stop()
            item.accounts.close()
        else:
            item.close()


class ThreadedControl:
    """The broker's controller, called on the broker's own loop (it runs in its own thread in tests).

    Every coroutine method of BrokerControl is forwarded with asyncio.wrap_future, so HTTP handlers on
    the test loop await it as they would await the controller in production.
    """

    def __init__(self, rb: RunningBroker):
        self._rb = rb
        self._target = rb.control

    def __getattr__(self, name):
        import asyncio
        import inspect
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):
            async def call(*args, **kwargs):
                fut = asyncio.run_coroutine_threadsafe(attr(*args, **kwargs), self._rb.loop)
                return await asyncio.wrap_future(fut)
            return call
        return attr
