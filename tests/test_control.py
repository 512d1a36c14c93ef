"""The broker-control interface against live broker state built by real clients: the embedded broker's
controller, and the same broker reached as an EMQX cluster would be (``UpstreamControl`` over its
`/api/v5`, tests.upstream_helpers). What only the embedded broker can do is marked ``embedded_only``;
what EMQX cannot do is asserted NotSupported in test_upstream_control.py."""

import time

import attrs
import paho.mqtt.client as paho
import pytest

from schemas.errors import Conflict, InvalidArgument, NotFound, Unavailable
from schemas.records import BannedEntry, ClientQuery, PublishRequest, SubscribeRequest, SubscriptionQuery
from tests.mqtt_helpers import Client, PacketTypes, RunningBroker, v5props, wait_for
from tests.upstream_helpers import UpstreamBroker

embedded_only = pytest.mark.parametrize("broker", ["embedded"], indirect=True)


@pytest.fixture(params=["embedded", "upstream"])
def broker(request, tmp_path):
    """This module's broker: the embedded one, or the same reached through UpstreamControl."""
    rb = RunningBroker()
    b = rb if request.param == "embedded" else UpstreamBroker(rb, str(tmp_path))
    yield b
    b.close()


def ids(page):
    return [c.clientid for c in page.items]


def test_node_info_is_real(broker):
    Client(broker)
    info = broker.run(broker.control.node_info())
    assert info.node == "emqgw@127.0.0.1" and info.node_status == "running"
    assert info.live_connections == 1 and info.connections == 1
    assert info.memory_used > 0 and info.memory_total > info.memory_used
    assert info.process_used > 0 and info.max_fds > 0 and info.uptime >= 0


def test_client_record_fields(broker):
    c = Client(
        broker,
        "rec",
        v5=True,
        username="u1",
        keepalive=42,
        properties=v5props(PacketTypes.CONNECT, SessionExpiryInterval=30),
    )
    c.subscribe("a/+", 1)
    info = broker.run(broker.control.get_client("rec"))
    assert (info.clientid, info.username, info.connected, info.keepalive) == ("rec", "u1", True, 42)
    assert info.proto_ver == 5 and info.proto_name == "MQTT" and info.expiry_interval == 30
    assert info.ip_address == "127.0.0.1" and info.port == c.c.socket().getsockname()[1]
    assert info.listener == "tcp:default" and info.subscriptions_cnt == 1
    assert info.recv_pkt >= 2 and info.send_pkt >= 2 and info.recv_oct > 0 and info.send_oct > 0
    assert info.connected_at <= time.time() and info.created_at <= info.connected_at + 1
    with pytest.raises(NotFound):
        broker.run(broker.control.get_client("nope"))


def test_list_clients_paging_is_descending_with_totals(broker):
    for i in range(7):
        Client(broker, f"p{i}")
    ctl = broker.control
    page1 = broker.run(ctl.list_clients(ClientQuery(), offset=0, limit=3))
    assert ids(page1) == ["p6", "p5", "p4"] and page1.total == 7 and page1.hasnext
    page3 = broker.run(ctl.list_clients(ClientQuery(), offset=6, limit=3))
    assert ids(page3) == ["p0"] and not page3.hasnext
    beyond = broker.run(ctl.list_clients(ClientQuery(), offset=30, limit=3))
    assert beyond.items == [] and beyond.total == 7 and not beyond.hasnext


def test_list_clients_filters(broker):
    Client(broker, "alpha-1", username="ann")
    Client(broker, "alpha-2", username="bob", v5=True)
    off = Client(broker, "beta", clean=False)
    off.disconnect()
    wait_for(lambda: broker.call(lambda: "beta" not in broker.broker.channels))
    ctl = broker.control

    def q(**kw):
        return broker.run(ctl.list_clients(ClientQuery(**kw), offset=0, limit=100))

    assert ids(q(like_clientid="alpha")) == ["alpha-2", "alpha-1"] and q(like_clientid="alpha").total is None
    assert ids(q(username=["bob"])) == ["alpha-2"] and q(username=["bob"]).total == 1
    assert ids(q(clientid=["beta", "zzz"])) == ["beta"]
    assert ids(q(conn_state="disconnected")) == ["beta"]
    assert ids(q(conn_state="connected")) == ["alpha-2", "alpha-1"]
    assert ids(q(proto_ver=5)) == ["alpha-2"]
    assert ids(q(clean_start=False)) == ["beta"]
    assert ids(q(ip_address="127.0.0.1", like_username="nn")) == ["alpha-1"]
    now = time.time()
    assert ids(q(gte_created_at=now + 10)) == []
    assert len(ids(q(lte_connected_at=now + 1))) == 3
    with pytest.raises(InvalidArgument, match="expected type is ip"):
        q(ip_address="127.0.0.1:8080")


def test_cursor_paging(broker):
    for i in range(5):
        Client(broker, f"k{i}")
    ctl = broker.control
    seen, cursor = [], None
    while True:
        page = broker.run(ctl.list_clients_cursor(ClientQuery(), cursor=cursor, limit=2))
        seen += ids(page)
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == ["k4", "k3", "k2", "k1", "k0"]
    with pytest.raises(InvalidArgument):
        broker.run(ctl.list_clients_cursor(ClientQuery(), cursor="%%%", limit=2))


def test_offline_persistent_session_listed_with_counters(broker):
    c = Client(broker, "sleeper", clean=False)
    c.subscribe("s/#", 1)
    c.disconnect()
    wait_for(lambda: broker.call(lambda: "sleeper" not in broker.broker.channels))
    Client(broker).publish("s/1", b"x", qos=1)
    info = broker.run(broker.control.get_client("sleeper"))
    assert not info.connected and info.disconnected_at is not None
    assert info.mqueue_len == 1 and info.subscriptions_cnt == 1
    if not isinstance(broker, UpstreamBroker):  # EMQ 2.x's own counter: EMQX 5 keeps none
        assert info.enqueue_msg == 1
    assert info.ip_address == "127.0.0.1"  # from its last connection


def test_kick(broker):
    c = Client(broker, "kickme", clean=False)
    broker.run(broker.control.kick_client("kickme"))
    assert c.disconnects.get(timeout=5) is not None
    assert broker.call(lambda: "kickme" not in broker.broker.sessions)
    with pytest.raises(NotFound):
        broker.run(broker.control.kick_client("kickme"))


def test_subscribe_on_behalf_and_subscription_listing(broker):
    c = Client(broker, "target")
    ctl = broker.control
    subs = broker.run(
        ctl.subscribe("target", [SubscribeRequest(topic="x/#", qos=1), SubscribeRequest(topic="$share/g/y", qos=0)])
    )
    assert [(s.topic, s.qos, s.share_group) for s in subs] == [("x/#", 1, None), ("$share/g/y", 0, "g")]
    Client(broker).publish("x/1", b"via api", qos=1)
    assert c.expect().payload == b"via api"
    page = broker.run(ctl.list_subscriptions(SubscriptionQuery(), offset=0, limit=10))
    assert page.total == 2 and {s.topic for s in page.items} == {"x/#", "$share/g/y"}
    assert broker.run(ctl.list_subscriptions(SubscriptionQuery(share_group="g"), offset=0, limit=10)).total == 1
    m = broker.run(ctl.list_subscriptions(SubscriptionQuery(match_topic="x/1/2"), offset=0, limit=10))
    assert [s.topic for s in m.items] == ["x/#"] and m.total is None
    assert broker.run(ctl.list_subscriptions(SubscriptionQuery(topic="x/#"), offset=0, limit=10)).total == 1
    with pytest.raises(InvalidArgument):
        broker.run(ctl.list_subscriptions(SubscriptionQuery(match_topic="x/+"), offset=0, limit=10))
    with pytest.raises(InvalidArgument):
        broker.run(ctl.subscribe("target", [SubscribeRequest(topic="a/#/b")]))
    with pytest.raises(InvalidArgument, match="no_local"):
        broker.run(ctl.subscribe("target", [SubscribeRequest(topic="$share/g/z", no_local=True)]))
    with pytest.raises(NotFound):
        broker.run(ctl.subscribe("ghost", [SubscribeRequest(topic="a")]))
    broker.run(ctl.unsubscribe("target", ["x/#"]))
    assert [s.topic for s in broker.run(ctl.client_subscriptions("target"))] == ["$share/g/y"]


def test_publish_via_interface(broker):
    s = Client(broker, v5=True)
    s.subscribe("api/t", 1)
    ctl = broker.control
    res = broker.run(
        ctl.publish(PublishRequest(topic="api/t", payload=b"hi", qos=1, properties={"user_property": [("k", "v")]}))
    )
    assert res.matched == 1 and len(res.id) == 32
    m = s.expect()
    assert m.payload == b"hi" and m.properties.UserProperty == [("k", "v")]
    assert broker.run(ctl.publish(PublishRequest(topic="nobody", payload=b""))).matched == 0
    with pytest.raises(InvalidArgument):
        broker.run(ctl.publish(PublishRequest(topic="bad/#", payload=b"")))


def test_routes_and_topic_tree(broker):
    a = Client(broker, "ta")
    a.subscribe("topic123/123", 0)
    b = Client(broker, "tb")
    b.subscribe("topic123/123/456", 0)
    b.subscribe("$share/g/q", 0)
    ctl = broker.control
    page = broker.run(ctl.list_routes(topic=None, offset=0, limit=10))
    assert {r.topic for r in page.items} == {"topic123/123", "topic123/123/456", "$share/g/q"} and page.total == 3
    assert broker.run(ctl.get_routes("topic123/123"))[0].node == "emqgw@127.0.0.1"
    assert broker.run(ctl.get_routes("$share/g/q"))
    with pytest.raises(NotFound):
        broker.run(ctl.get_routes("nope"))
    tree = broker.run(ctl.topic_tree())
    # the shared subscription sits under its `$share/<group>` levels, as NanoMQ keeps it
    assert [(n.topic, n.cld_cnt) for n in tree[0]] == [("", 2)]
    assert [(n.topic, n.cld_cnt, n.clientid) for n in tree[1]] == [("topic123", 1, []), ("$share", 1, [])]
    assert [(n.topic, n.cld_cnt, n.clientid) for n in tree[2]] == [("123", 1, ["ta"]), ("g", 1, [])]
    assert [(n.topic, n.cld_cnt, n.clientid) for n in tree[3]] == [("456", 0, ["tb"]), ("q", 0, ["tb"])]


def test_retained_via_interface(broker):
    p = Client(broker, "rp", username="ru")
    for i in range(3):
        p.publish(f"ret/{i}", str(i).encode(), qos=1, retain=True)
    ctl = broker.control
    page = broker.run(ctl.list_retained(topic=None, offset=0, limit=2))
    assert page.total == 3 and len(page.items) == 2 and page.hasnext
    msg = broker.run(ctl.get_retained("ret/1"))
    assert (msg.payload, msg.from_clientid, msg.from_username, msg.qos) == (b"1", "rp", "ru", 1)
    assert [m.topic for m in broker.run(ctl.list_retained(topic="ret/+", offset=0, limit=10)).items]
    broker.run(ctl.delete_retained("ret/1"))
    with pytest.raises(NotFound):
        broker.run(ctl.get_retained("ret/1"))
    broker.run(ctl.clear_retained())
    assert broker.run(ctl.list_retained(topic=None, offset=0, limit=2)).total == 0


@embedded_only
def test_retainer_feature_toggle(broker):
    broker.run(broker.control.set_feature("retainer", False))
    Client(broker).publish("nr", b"x", qos=1, retain=True)
    assert broker.call(lambda: len(broker.broker.retained)) == 0
    with pytest.raises(NotFound):
        broker.run(broker.control.set_feature("nope", True))


@embedded_only
def test_listeners_stop_start_restart(broker):
    ctl = broker.control
    infos = {lst.id: lst for lst in broker.run(ctl.listeners())}
    assert set(infos) == {"tcp:default", "ws:default"} and infos["ws:default"].path == "/mqtt"
    c = Client(broker, "onl")
    assert {lst.id: lst for lst in broker.run(ctl.listeners())}["tcp:default"].current_connections == 1
    stopped = broker.run(ctl.listener_action("tcp:default", "stop"))
    assert not stopped.running
    assert c.disconnects.get(timeout=5) is not None
    started = broker.run(ctl.listener_action("tcp:default", "start"))
    assert started.running
    Client(broker)  # connects on the new port
    assert broker.run(ctl.listener_action("tcp:default", "restart")).running
    with pytest.raises(NotFound):
        broker.run(ctl.listener_action("tcp:nope", "stop"))


def test_banned_interface(broker):
    ctl = broker.control
    e = broker.run(ctl.add_banned(BannedEntry(as_="username", who="x", reason="r")))
    assert e.at > 0
    with pytest.raises(Conflict):
        broker.run(ctl.add_banned(BannedEntry(as_="username", who="x")))
    with pytest.raises(InvalidArgument):
        broker.run(ctl.add_banned(BannedEntry(as_="nope", who="x")))
    assert broker.run(ctl.list_banned(offset=0, limit=10)).total == 1
    broker.run(ctl.delete_banned("username", "x"))
    with pytest.raises(NotFound):
        broker.run(ctl.delete_banned("username", "x"))


@embedded_only
def test_apply_config_live_and_pending(broker):
    ctl = broker.control
    cfg = broker.run(ctl.get_config())
    pending = broker.run(ctl.apply_config(attrs.evolve(cfg, max_inflight=7, allow_anonymous=False)))
    assert pending == []
    assert broker.call(lambda: broker.broker.config.max_inflight) == 7
    c = Client(broker, connect=False)
    _, rc, _ = c.connect(expect_ok=False)
    assert rc.is_failure
    pending = broker.run(ctl.apply_config(attrs.evolve(cfg, node_name="other@host")))
    assert pending == ["node_name"]


@embedded_only
def test_stop_and_start_broker(broker):
    ctl = broker.control
    c = Client(broker)
    broker.run(ctl.stop())
    assert not ctl.running
    assert c.disconnects.get(timeout=5) is not None
    with pytest.raises(Unavailable):
        broker.run(ctl.publish(PublishRequest(topic="t", payload=b"")))
    broker.run(ctl.start())
    assert ctl.running
    Client(broker)
    broker.run(ctl.restart())
    Client(broker)


def test_stats_and_metrics_snapshot(broker):
    s = Client(broker)
    s.subscribe("st/#", 0)
    s.subscribe("$share/g/st", 0)
    Client(broker).publish("keep", b"x", qos=1, retain=True)
    stats = broker.run(broker.control.stats()).stats
    assert stats["live_connections.count"] == 2 and stats["connections.count"] == 2
    assert stats["subscriptions.count"] == 2 and stats["subscriptions.shared.count"] == 1
    assert stats["topics.count"] == 2 and stats["retained.count"] == 1
    assert stats["live_connections.max"] >= 2
    counters = broker.run(broker.control.metrics()).counters
    assert len(counters) == 95 and counters["packets.connect.received"] == 2


@embedded_only
def test_emqx4_filters_in_the_query(broker):
    Client(broker, "v3", protocol=paho.MQTTv31)
    Client(broker, "v4")
    ctl = broker.control
    page = broker.run(ctl.list_clients(ClientQuery(proto_name="MQIsdp"), offset=0, limit=10))
    assert ids(page) == ["v3"]
    assert ids(broker.run(ctl.list_clients(ClientQuery(gte_mqueue_len=1), offset=0, limit=10))) == []
    assert len(broker.run(ctl.list_clients(ClientQuery(lte_mqueue_dropped=0), offset=0, limit=10)).items) == 2
