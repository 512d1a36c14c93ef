"""Upstream mode's cost, counted where it lands: B's own usage report (the calls its `/api/v5` served).
A legacy page is one upstream call (no call per row), paged as EMQX pages; figures and the node list
are cached briefly and fetched once for many concurrent askers; clients are never cached."""

import asyncio
from collections import Counter

import aiohttp
import pytest

from gateway.config import HttpConfig
from tests.mqtt_helpers import Client

ADMIN = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}


def served(b) -> Counter:
    """B's usage report: calls per (method, route) of its `/api/v5`."""
    return Counter({(u.method, u.route): u.count for u in b.ctx.usage.report("v5")})


async def calls_for(gw, path: str) -> Counter:
    before = served(gw.upstream)
    r = await gw.http.get(path, headers=ADMIN)
    assert r.status == 200, await r.text()
    return served(gw.upstream) - before


@pytest.mark.parametrize("flavor", ["nanomq", "emqx4"])
async def test_one_upstream_call_per_legacy_page(chain, flavor):
    gw = await chain(http=HttpConfig(v4_flavor=flavor))
    node = gw.ctx.control.node_name
    clients = [Client(gw.broker, f"cost-{i:02d}") for i in range(30)]
    clients[0].subscribe("a/#")
    pages = {
        f"/api/v2/nodes/{node}/clients?curr_page=2&page_size=10": ("GET", "/clients"),
        f"/api/v2/nodes/{node}/sessions?curr_page=3&page_size=10": ("GET", "/clients"),
        f"/api/v2/nodes/{node}/subscriptions": ("GET", "/subscriptions"),
        "/api/v2/routes?curr_page=1&page_size=5": ("GET", "/topics"),
        "/api/v4/subscriptions": ("GET", "/subscriptions"),
    }
    if flavor == "nanomq":
        pages["/api/v4/clients"] = ("GET", "/clients")  # unpaged: one EMQX page of up to 10000
    else:
        pages["/api/v4/clients?_page=2&_limit=10"] = ("GET", "/clients")
        pages[f"/api/v4/nodes/{node}/clients?_page=1&_limit=20"] = ("GET", "/clients")
    await gw.ctx.control.node_names()  # the node list a per-node path checks: cached for 5 s
    for path, call in pages.items():
        assert await calls_for(gw, path) == Counter({call: 1}), path
    for c in clients:
        c.disconnect()


async def test_cached_figures_are_fetched_once_for_concurrent_askers(chain):
    gw = await chain()
    node = gw.ctx.control.node_name
    await gw.ctx.control.node_names()
    before = served(gw.upstream)
    paths = [f"/api/v2/monitoring/stats/{node}", "/api/v2/monitoring/stats", "/api/v2/monitoring/metrics"] * 5
    answers = await asyncio.gather(*(gw.http.get(p, headers=ADMIN) for p in paths))
    assert all(r.status == 200 for r in answers)
    spent = served(gw.upstream) - before
    # per-node stats, per-node metrics: one call each for 15 pages (single flight, then 1 s cache)
    assert spent == Counter({("GET", "/stats"): 1, ("GET", "/metrics"): 1}), spent


async def test_clients_are_never_cached(chain):
    gw = await chain()
    node = gw.ctx.control.node_name
    await gw.ctx.control.node_names()
    path = f"/api/v2/nodes/{node}/clients"
    assert await calls_for(gw, path) == Counter({("GET", "/clients"): 1})
    Client(gw.broker, "fresh")
    r = await gw.http.get(path, headers=ADMIN)
    assert [c["client_id"] for c in (await r.json())["result"]["objects"]] == ["fresh"]
