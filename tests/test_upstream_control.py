"""Upstream mode: what EMQX cannot do is each dialect's "not supported" answer, never a pretended success;
the per-node legacy paths are per-node answers; unaligned and unpaged windows come out whole.

The upstream is emqgw's own `/api/v5` in front of a real broker (tests.upstream_helpers); every call is
checked against EMQX's published API on the way (tests.contract_helpers).
"""

import aiohttp
import attrs
import pytest

from schemas.errors import InvalidArgument, NotFound, NotSupported
from schemas.records import ClientQuery, PublishRequest, SubscribeRequest, SubscriptionQuery
from tests.mqtt_helpers import Client, RunningBroker
from tests.upstream_helpers import UpstreamBroker

ADMIN = {"Authorization": aiohttp.encode_basic_auth("admin", "public")}


@pytest.fixture
def upstream(tmp_path):
    b = UpstreamBroker(RunningBroker(), str(tmp_path))
    yield b
    b.close()


# -- the interface -----------------------------------------------------------------------------------


def test_what_emqx_cannot_do_is_not_supported_and_changes_nothing(upstream):
    ctl = upstream.control
    persistent = Client(upstream, "keeper", clean=False)
    Client(upstream, "passer")
    cases = [
        ctl.kick_client("keeper", discard_session=False),  # EMQX discards a kicked client's session
        ctl.publish(PublishRequest(topic="t", payload=b"x", clientid="impostor")),
        ctl.stop(),
        ctl.start(),
        ctl.restart(),
        ctl.listener_action("tcp:default", "stop"),  # EMQX would disable it in the cluster's config
        ctl.clear_monitor(),
        ctl.list_clients(ClientQuery(proto_name="MQTT"), offset=0, limit=10),  # EMQX 4-only filters
        ctl.list_clients(ClientQuery(gte_mqueue_len=1), offset=0, limit=10),
    ]
    for call in cases:
        with pytest.raises(NotSupported):
            upstream.run(call)
    assert upstream.call(lambda: "keeper" in upstream.broker.channels)
    assert all(lst.running for lst in upstream.run(ctl.listeners()))
    # a session that ends with its connection has nothing to keep: that kick is done
    upstream.run(ctl.kick_client("passer", discard_session=False))
    assert persistent.c.is_connected()


def test_settings_without_an_emqx_counterpart_are_not_supported(upstream):
    ctl = upstream.control
    cfg = upstream.run(ctl.get_config())
    for change in ({"allow_anonymous": False}, {"node_name": "other@host"}, {"durability": "sync"}):
        with pytest.raises(NotSupported) as e:
            upstream.run(ctl.apply_config(attrs.evolve(cfg, **change)))
        assert e.value.field == next(iter(change))
    assert upstream.call(lambda: upstream.broker.config.allow_anonymous)


def test_publish_as_an_api_and_bulk_in_one_call(upstream):
    s = Client(upstream, "sub")
    s.subscribe("bulk/#", 1)
    ctl = upstream.control
    before = upstream.control.client.calls
    results = upstream.run(
        ctl.publish_bulk(
            [
                PublishRequest(topic="bulk/1", payload=b"a", qos=1),
                PublishRequest(topic="nobody", payload=b"b"),
                PublishRequest(topic="bulk/2", payload=b"c", clientid="http"),  # EMQ 2.x's own id
            ]
        )
    )
    assert upstream.control.client.calls == before + 1
    assert [r.matched for r in results] == [1, 0, 1]
    assert sorted(s.expect().payload for _ in range(2)) == [b"a", b"c"]


def test_subscribe_is_all_or_nothing(upstream):
    Client(upstream, "target")
    ctl = upstream.control
    with pytest.raises(InvalidArgument):
        upstream.run(ctl.subscribe("target", [SubscribeRequest(topic="ok/1"), SubscribeRequest(topic="bad/#/x")]))
    assert upstream.run(ctl.client_subscriptions("target")) == []


def test_pages_of_any_window_and_unpaged_walks(upstream):
    for i in range(12):
        Client(upstream, f"w{i:02d}")
    ctl = upstream.control
    everyone = [c.clientid for c in upstream.run(ctl.list_clients(ClientQuery(), offset=0, limit=100)).items]
    assert len(everyone) == 12
    # an offset that is no page boundary of the window: two upstream pages, cut to the window
    page = upstream.run(ctl.list_clients(ClientQuery(), offset=5, limit=4))
    assert [c.clientid for c in page.items] == everyone[5:9] and page.total == 12 and page.hasnext
    last = upstream.run(ctl.list_clients(ClientQuery(), offset=10, limit=4))
    assert [c.clientid for c in last.items] == everyone[10:] and not last.hasnext
    # the unpaged form (NanoMQ's list-everything) walks EMQX's largest pages
    before = ctl.client.calls
    assert len(upstream.run(ctl.list_subscriptions(SubscriptionQuery(), offset=0, limit=1 << 30)).items) == 0
    assert ctl.client.calls == before + 1


def test_unknown_node_is_not_found(upstream):
    ctl = upstream.control
    for call in (ctl.node_info("ghost@x"), ctl.stats("ghost@x"), ctl.metrics("ghost@x"), ctl.listeners("ghost@x")):
        with pytest.raises(NotFound) as e:
            upstream.run(call)
        assert e.value.kind == "node"


# -- each dialect's own "not supported" ---------------------------------------------------------------


async def test_not_supported_in_each_dialects_envelope(chain):
    gw = await chain()
    key, secret = gw.accounts.create_api_key("t", "", True, None)
    v5 = {"Authorization": aiohttp.encode_basic_auth(key.api_key, secret)}
    Client(gw.broker, "keeper", clean=False)

    async def call(method, path, headers, **kw):
        r = await gw.http.request(method, path, headers=headers, **kw)
        return r.status, await r.json(content_type=None)  # NanoMQ echoes the request's content type

    # EMQ 2.x: its "unknown error" (102) with the reason; the session stays
    assert await call("DELETE", "/api/v2/clients/keeper", ADMIN) == (
        200,
        {"code": 102, "message": "EMQX discards the session of a client it kicks out"},
    )
    status, body = await call("POST", "/api/v2/mqtt/publish", ADMIN, json={"topic": "t", "client_id": "impostor"})
    assert (status, body["code"]) == (200, 102) and "impostor" in body["message"]
    # NanoMQ: as for a feature built out (200, code 111)
    status, body = await call("POST", "/api/v4/ctrl/stop", ADMIN)
    assert (status, body["code"]) == (200, 111)
    # EMQX 5: 400 NOT_SUPPORTED
    status, body = await call("POST", "/api/v5/listeners/tcp:default/stop", v5)
    assert (status, body["code"]) == (400, "NOT_SUPPORTED")
    status, body = await call("DELETE", "/api/v5/monitor", v5)
    assert (status, body["code"]) == (400, "NOT_SUPPORTED")
    assert gw.broker.call(lambda: "keeper" in gw.broker.broker.channels)


async def test_emqx4_not_supported_answers(chain):
    from gateway.config import HttpConfig

    gw = await chain("v4", http=HttpConfig(v4_flavor="emqx4"))
    r = await gw.http.get("/api/v4/clients?proto_name=MQTT", headers=ADMIN)
    assert (await r.json())["code"] == 111  # EMQX 4's "plugin is closed": a filter EMQX 5 has not
    r = await gw.http.post("/api/v4/mqtt/publish", json={"topic": "t", "payload": "x", "clientid": "c1"}, headers=ADMIN)
    assert (await r.json())["code"] == 111


# -- per-node legacy paths --------------------------------------------------------------------------


async def test_legacy_per_node_paths_ask_the_upstream_for_that_node(chain):
    gw = await chain()
    node = gw.ctx.control.node_name
    assert node == gw.broker.config.node_name  # learnt from the cluster at start
    Client(gw.broker, "n1")
    r = await gw.http.get(f"/api/v2/nodes/{node}/clients", headers=ADMIN)
    assert [c["client_id"] for c in (await r.json())["result"]["objects"]] == ["n1"]
    r = await gw.http.get("/api/v2/nodes/ghost@x/clients", headers=ADMIN)
    assert r.status == 404  # 2.3's answer to a node that is not there
    seen = gw.proxy.checked
    r = await gw.http.get(f"/api/v2/nodes/{node}/sessions?curr_page=1&page_size=5", headers=ADMIN)
    assert r.status == 200
    # the node list is cached: the page is one upstream call, made with ?node=
    assert gw.proxy.checked == seen + 1


async def test_nanomq_bridge_is_not_supported_and_nothing_changes(chain):
    gw = await chain("v4")
    bridge = {
        "bridge_mode": True,
        "address": "mqtt-tcp://127.0.0.1:1",
        "proto_ver": 4,
        "clientid": "b1",
        "keepalive": 30,
        "clean_start": True,
        "forwards": ["up/#"],
        "subscription": [{"topic": "down/#", "qos": 1}],
    }
    r = await gw.http.post("/api/v4/configuration", headers=ADMIN, json={"data": {"bridge": bridge}})
    body = await r.json(content_type=None)
    assert (r.status, body["code"]) == (200, 111), body  # NanoMQ's "not built in"
    r = await gw.http.get("/api/v4/configuration", headers=ADMIN)
    assert (await r.json(content_type=None))["data"]["bridge"]["bridge_mode"] is False


async def test_the_monitor_is_the_upstreams(chain):
    gw = await chain("v5")
    key, secret = gw.accounts.create_api_key("m", "", True, None)
    auth = {"Authorization": aiohttp.encode_basic_auth(key.api_key, secret)}
    node = gw.ctx.control.node_name
    Client(gw.broker, "watched")
    gw.broker.run(gw.broker.control.sampler.sample())  # B's history gains a row
    ours = await (await gw.http.get("/api/v5/monitor", headers=auth)).json()
    b_key, b_secret = gw.upstream.accounts.create_api_key("direct", "", True, None)
    direct = {"Authorization": aiohttp.encode_basic_auth(b_key.api_key, b_secret)}
    assert ours == await (await gw.upstream.http.get("/api/v5/monitor", headers=direct)).json() != []
    current = await (await gw.http.get(f"/api/v5/monitor_current/nodes/{node}", headers=auth)).json()
    assert current["live_connections"] == 1 and current["node_uptime"] > 0
    r = await gw.http.get("/api/v5/monitor_current/nodes/ghost@x", headers=auth)
    assert r.status == 404
