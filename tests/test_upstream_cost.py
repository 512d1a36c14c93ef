"""Upstream mode's cost, counted where it lands: B's own usage report (the calls its `/api/v5` served).
A legacy page is one upstream call (no call per row), paged as EMQX pages; figures and the node list
are cached briefly and fetched once for many concurrent askers; clients are never cached."""

import asyncio
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import aiohttp
import orjson
import pytest

from adapters.upstream.client import SameBodies
from gateway.config import HttpConfig
from schemas.records import ClientQuery
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


async def test_an_identical_page_is_fetched_but_not_decoded_again(chain):
    """Every listing goes to EMQX; while it answers with the very same bytes, A hands out the very same
    records (so the dialects' rows remembered by record are spliced as they are); what changed is seen."""
    gw = await chain()
    ctl = gw.ctx.control
    clients = [Client(gw.broker, f"same-{i}") for i in range(4)]

    async def listed() -> dict:
        before = ctl.client.calls
        page = await ctl.list_clients(ClientQuery(), offset=0, limit=10)
        assert ctl.client.calls == before + 1  # asked every time: nothing is answered from memory
        return {c.clientid: c for c in page.items}

    first = await listed()
    again = await listed()
    assert again.keys() == first.keys() and all(again[k] is first[k] for k in first)
    clients[1].subscribe("x/#")
    newcomer = Client(gw.broker, "same-new")
    changed = await listed()
    assert changed["same-1"] is not first["same-1"] and changed["same-1"].subscriptions_cnt == 1
    assert "same-new" in changed
    # the clients that did not change keep their records (ClientRecords) though the page's bytes changed
    assert all(changed[k] is first[k] for k in ("same-0", "same-2", "same-3"))
    clients[2].disconnect()
    gone = await wait_listed(listed, lambda page: "same-2" not in page)
    assert gone.keys() == {"same-0", "same-1", "same-3", "same-new"}
    for c in (*clients, newcomer):
        c.disconnect()


async def wait_listed(listed, done, tries: int = 50) -> dict:
    for _ in range(tries):
        page = await listed()
        if done(page):
            return page
        await asyncio.sleep(0.05)
    raise AssertionError("the listing never showed the change")


def test_same_bodies_are_bounded_and_keyed_by_request_and_decoding():
    same = SameBodies()
    same.MAX_BYTES = 10
    decoded = []

    def decode(body: bytes) -> list:
        decoded.append(body)
        return [body]

    first = same.decoded(("/a", ()), b"12345", decode)
    assert same.decoded(("/a", ()), b"12345", decode) is first and len(decoded) == 1
    assert same.decoded(("/b", ()), b"12345", decode) is not first  # another request: decoded for itself
    assert same.decoded(("/a", ()), b"12345", orjson.loads) == 12345  # another decoding
    first = same.decoded(("/a", ()), b"12346", decode)  # other bytes
    assert len(decoded) == 3
    for _ in range(2):  # too large to keep: decoded each time
        assert same.decoded(("/c", ()), b"0123456789a", decode) == [b"0123456789a"]
    assert len(decoded) == 5
    same.decoded(("/d", ()), b"67890", decode)  # 15 bytes with /b's and /a's: the least recently used (/b) goes
    assert same.decoded(("/a", ()), b"12346", decode) is first and len(decoded) == 6
    same.decoded(("/b", ()), b"12345", decode)
    assert len(decoded) == 7


async def test_a_listing_asks_the_upstream_only_for_the_fields_its_dialect_shows(chain):
    """EMQX's `fields=`: a v2 page needs 8 of a client's 50 fields. The records that come back are
    partial, and each dialect renders them exactly as it renders whole ones."""
    from adapters.v2 import rows as v2
    from adapters.v4 import render as v4

    gw = await chain()
    clients = [Client(gw.broker, "fields-kept", clean=False, username="u1"), Client(gw.broker, "fields-live")]
    clients[0].subscribe("a/#", qos=1)
    clients[0].disconnect()
    control, proxy = gw.ctx.control, gw.proxy
    whole = (await control.list_clients(ClientQuery(), offset=0, limit=100)).items
    whole_bytes = proxy.seen[-1][2]
    shown = {
        "v2 clients": (
            v2.CLIENT_READS,
            v2.client_row,
            "clientid,username,ip_address,port,clean_start,proto_ver,keepalive,connected_at",
        ),
        "v2 sessions": (
            v2.SESSION_READS,
            v2.session_row,
            "clientid,clean_start,created_at,subscriptions_cnt,inflight_cnt,inflight_max,awaiting_rel_cnt,mqueue_len,mqueue_dropped",
        ),
        "NanoMQ": (
            v4.NANOMQ_CLIENT_READS,
            v4.nanomq_client,
            "clientid,username,clean_start,proto_name,proto_ver,keepalive,connected",
        ),
        "EMQX 4": (v4.EMQX4_CLIENT_READS, v4.emqx4_client, None),
    }
    for name, (reads, render, fields) in shown.items():
        part = (await control.list_clients(ClientQuery(fields=reads), offset=0, limit=100)).items
        _method, sent, size = proxy.seen[-1]
        asked = parse_qs(urlsplit(sent).query)["fields"][0].split(",")
        if fields is not None:
            assert asked == fields.split(","), name
        assert "listener" not in asked and "clientid" in asked, name
        assert size < whole_bytes, name
        assert [render(c) for c in part] == [render(c) for c in whole], name
    assert proxy.seen[-4][2] * 3 < whole_bytes  # the v2 client page: a fraction of the whole objects

    # EMQX 5's own `fields=` through the gateway: the same answer as the upstream gives
    def key_of(accounts) -> dict:
        key, secret = accounts.create_api_key("fields", "", True, None)
        return {"Authorization": aiohttp.encode_basic_auth(key.api_key, secret)}

    path = "/api/v5/clients?fields=clientid,disconnected_at,subscriptions_cnt"
    via = await gw.http.get(path, headers=key_of(gw.accounts))
    direct = await gw.upstream.http.get(path, headers=key_of(gw.upstream.accounts))
    assert via.status == direct.status == 200
    assert orjson.loads(await via.read())["data"] == orjson.loads(await direct.read())["data"]
    assert parse_qs(urlsplit(proxy.seen[-1][1]).query)["fields"] == [
        "clientid,connected,disconnected_at,subscriptions_cnt"
    ]
    for c in clients:
        c.disconnect()
