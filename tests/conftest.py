"""Fixtures shared by the test modules. Classes and functions they hand out live in the *_helpers
modules beside this file; no test module imports a fixture from another."""

from __future__ import annotations

import pytest

from adapters.upstream.control import UpstreamControl
from gateway.accounts import DB_NAME, AccountStore
from gateway.config import GatewayConfig, HttpConfig
from gateway.features import register_gateway_features
from gateway.http.app import build_app
from gateway.http.context import GatewayContext
from gateway.runtime import ADAPTERS, open_accounts
from tests.http_helpers import Gateway, ThreadedControl
from tests.mqtt_helpers import RunningBroker
from tests.upstream_helpers import UNREACHED, FaultProxy, contract_proxy, upstream_config
from tests.v2_helpers import V2
from tests.v5_helpers import V5, basic


@pytest.fixture
def broker():
    b = RunningBroker()
    yield b
    b.close()


@pytest.fixture
def make_broker():
    made = []

    def make(**overrides):
        b = RunningBroker(**overrides)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


@pytest.fixture
async def gateway(aiohttp_client, tmp_path):
    """``await gateway("v5", ...)``: a whole gateway (see tests.http_helpers), stopped at teardown."""
    made = []

    async def make(*names: str, http: HttpConfig | None = None, legacy: bool = False, **broker_overrides) -> Gateway:
        rb = RunningBroker(**broker_overrides)
        made.append(rb)
        accounts = AccountStore(str(tmp_path / DB_NAME))
        cfg = GatewayConfig(data_dir=str(tmp_path), broker=rb.config, http=http or HttpConfig())
        ctx = GatewayContext(config=cfg, control=ThreadedControl(rb), accounts=accounts)
        rb.run(register_gateway_features(rb.control, rb.broker, accounts, cfg))
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


@pytest.fixture
async def chain(gateway, aiohttp_client, tmp_path):
    """``await chain(*names, http=..., proxy=False, upstream=dict(...), **broker_overrides)``: gateway A in
    upstream mode (dialects ``names``, default all) in front of gateway B's `/api/v5` (B built by the
    ``gateway`` fixture, its broker the one paho clients reach; ``behind``: the B of an earlier A, as
    gateways behind one load balancer). A reaches B through a ``ContractProxy``
    (the test fails at teardown if a call broke EMQX's published API), or through a ``FaultProxy`` when
    ``proxy``. The Gateway returned is A's, with B's broker, B itself as ``upstream``, the proxy as
    ``proxy``."""
    made = []

    async def make(
        *names: str,
        http: HttpConfig | None = None,
        proxy: bool = False,
        upstream: dict | None = None,
        behind: Gateway | None = None,
        **overrides,
    ) -> Gateway:
        b = behind.upstream if behind is not None else await gateway("v5", **overrides)
        key, secret = b.accounts.create_api_key(f"a{len(made)}", "the gateway in front", True, None)
        if proxy:
            fault = FaultProxy(b.http.host, b.http.port)
        else:  # every request and answer checked against EMQX's document
            fault = contract_proxy(str(b.http.make_url("/api/v5")))
        await fault.start()
        url = fault.url()
        data_dir = tmp_path / f"a{len(made)}"
        data_dir.mkdir()
        up = upstream_config(url, key.api_key, secret, **(upstream or {}))
        cfg = GatewayConfig(data_dir=str(data_dir), http=http or HttpConfig(), upstream=up)
        control = UpstreamControl(up, api_key=key.api_key, api_secret=secret, fallback_node=UNREACHED)
        await control.open()
        accounts = open_accounts(cfg, str(data_dir / DB_NAME))
        ctx = GatewayContext(config=cfg, control=control, accounts=accounts)
        await register_gateway_features(control, None, accounts, cfg)
        names = names or tuple(ADAPTERS)
        dialects = {n: ADAPTERS[n].create_dialect(ctx) for n in names}
        client = await aiohttp_client(build_app(ctx, list(dialects.values())))
        for dl in dialects.values():
            await dl.start()
        gw = Gateway(
            broker=b.broker, ctx=ctx, dialects=dialects, http=client, accounts=accounts, upstream=b, proxy=fault
        )
        made.append(gw)
        return gw

    yield make
    broken = []
    for gw in reversed(made):
        for dl in gw.dialects.values():
            await dl.stop()
        await gw.ctx.control.close()
        gw.accounts.close()
        await (gw.proxy.close() if isinstance(gw.proxy, FaultProxy) else gw.proxy.stop())
        broken += getattr(gw.proxy, "violations", [])
    assert not broken, "upstream calls outside EMQX's published API:\n" + "\n".join(broken)


@pytest.fixture(params=["embedded", "upstream"])
async def any_gateway(request, gateway, chain):
    """``gateway`` or ``chain``, one per run: the tests that take it hold for both backends."""
    return gateway if request.param == "embedded" else chain


@pytest.fixture
async def v2(gateway):
    """A gateway serving only `/api/v2`, called as the 2.3 dashboard calls it."""
    return V2(await gateway("v2"))


@pytest.fixture
async def make_v5(gateway):
    """``await make_v5(**broker_overrides)``: a V5 on a fresh gateway."""
    made: list[V5] = []

    async def make(**broker_overrides) -> V5:
        gw = await gateway("v5", **broker_overrides)
        key, secret = gw.accounts.create_api_key("tests", "test key", True, None)
        made.append(V5(gw=gw, auth=basic(key.api_key, secret)))
        return made[-1]

    yield make
    for v in made:
        for c in v.clients:
            c.disconnect()


@pytest.fixture
async def v5(make_v5) -> V5:
    return await make_v5()
