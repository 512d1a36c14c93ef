"""Shared subscriptions, authentication, bans, ACL rules, $SYS topics."""

import json
import time

import pytest

from schemas.records import BannedEntry
from tests.mqtt_helpers import Client, Raw, connect_bytes


@pytest.mark.parametrize("prefix", ["$share/g/", "$queue/"])
def test_shared_subscription_round_robin(broker, prefix):
    a, b = Client(broker), Client(broker)
    a.subscribe(prefix + "jobs/#", 1)
    b.subscribe(prefix + "jobs/#", 1)
    p = Client(broker)
    for i in range(6):
        p.publish("jobs/x", str(i).encode(), qos=1)
    got_a = [a.expect().payload for _ in range(3)]
    got_b = [b.expect().payload for _ in range(3)]
    assert sorted(got_a + got_b) == [str(i).encode() for i in range(6)]
    a.expect_none(0.1)
    b.expect_none(0.1)


def test_shared_and_plain_both_get_copies(broker):
    s = Client(broker)
    s.subscribe("$share/g/t", 0)
    plain = Client(broker)
    plain.subscribe("t", 0)
    Client(broker).publish("t", b"x")
    assert s.expect().payload == b"x"
    assert plain.expect().payload == b"x"


def test_shared_subscription_gets_no_retained(broker):
    Client(broker).publish("sr", b"kept", qos=1, retain=True)
    s = Client(broker)
    s.subscribe("$share/g/sr", 1)
    s.expect_none()


def test_no_local_on_shared_is_protocol_error(broker):
    c = Client(broker, v5=True)
    from paho.mqtt.subscribeoptions import SubscribeOptions

    c.c.subscribe("$share/g/x", options=SubscribeOptions(qos=0, noLocal=True))
    assert c.disconnects.get(timeout=5).value == 0x82


def test_anonymous_refused_when_disabled(make_broker):
    b = make_broker(allow_anonymous=False)
    raw = Raw(b.port())
    raw.send(connect_bytes("anon"))
    assert raw.recv(4) == b"\x20\x02\x00\x05"  # 3.1.1 return code 5, "not authorized"
    c5 = Client(b, v5=True, connect=False)
    _, rc, _ = c5.connect(expect_ok=False)
    assert rc.value == 0x87
    assert b.metric("authentication.failure") == 2
    assert raw.closed()


def test_password_check_hook(make_broker):
    b = make_broker(allow_anonymous=False)
    b.call(b.broker.attach_account_check, lambda u, p, cid, host: u == "alice" and p == b"secret")
    b.call(b.broker.authn.set_enabled, "password_based:dashboard_accounts", True)
    ok = Client(b, username="alice", password="secret")
    ok.subscribe("x")
    bad = Client(b, v5=True, username="alice", password="wrong", connect=False)
    _, rc, _ = bad.connect(expect_ok=False)
    assert rc.value == 0x86
    assert b.metric("authentication.success") == 1
    assert b.metric("packets.connack.auth_error") == 1


@pytest.mark.parametrize(
    "as_, who",
    [
        ("clientid", "evil"),
        ("username", "mallory"),
        ("peerhost", "127.0.0.1"),
        ("clientid_re", "^ev"),
        ("peerhost_net", "127.0.0.0/8"),
    ],
)
def test_banned_refused_and_kicked(broker, as_, who):
    victim = Client(broker, "evil", username="mallory")
    broker.run(broker.control.add_banned(BannedEntry(as_=as_, who=who)))
    assert victim.disconnects.get(timeout=5) is not None
    again = Client(broker, "evil", username="mallory", connect=False)
    _, rc, _ = again.connect(expect_ok=False)
    assert rc.value == 0x87  # paho's rendering of the 3.1.1 return code 5, "not authorized"
    v5 = Client(broker, "evil", v5=True, username="mallory", connect=False)
    _, rc, _ = v5.connect(expect_ok=False)
    assert rc.value == 0x8A


def test_ban_expires(broker):
    broker.run(broker.control.add_banned(BannedEntry(as_="clientid", who="brief", until=time.time() + 0.3)))
    time.sleep(0.35)
    Client(broker, "brief")


ACL = """
%% a user may only touch its own tree
{allow, {username, "alice"}, pubsub, ["alice/#", "clients/%c/#"]}.
{deny, all, subscribe, ["$SYS/#", {eq, "#"}]}.
{deny, {username, "alice"}, all, ["#"]}.
{allow, all}.
"""


@pytest.fixture
def acl_broker(make_broker, tmp_path):
    f = tmp_path / "acl.conf"
    f.write_text(ACL)
    return make_broker(acl_file=str(f))


def test_acl_subscribe_denied(acl_broker):
    c = Client(acl_broker, "a1", username="alice")
    assert [rc.value for rc in c.subscribe("alice/x", 1)] == [1]
    assert [rc.value for rc in c.subscribe("clients/a1/y", 1)] == [1]
    assert [rc.value for rc in c.subscribe("other", 1)] == [0x80]
    c5 = Client(acl_broker, "a2", v5=True, username="alice")
    assert [rc.value for rc in c5.subscribe("other", 1)] == [0x87]
    anyone = Client(acl_broker)
    assert [rc.value for rc in anyone.subscribe("#", 0)] == [0x80]
    assert [rc.value for rc in anyone.subscribe("pub/#", 0)] == [0]
    assert acl_broker.metric("packets.subscribe.auth_error") == 3


def test_acl_publish_denied_dropped(acl_broker):
    watcher = Client(acl_broker)
    watcher.subscribe("open/#", 1)
    c5 = Client(acl_broker, "a3", v5=True, username="alice")
    c5.publish("open/x", b"x", qos=1)
    mid, rc = c5.acks.get(timeout=5)
    assert rc.value == 0x87
    c3 = Client(acl_broker, "a4", username="alice")
    c3.publish("open/y", b"y", qos=1)  # 3.1.1: acknowledged, silently dropped
    watcher.expect_none()
    assert acl_broker.metric("authorization.deny") == 2


def test_sys_topics_and_presence(make_broker):
    b = make_broker(sys_interval=1, sys_heartbeat=1)
    w = Client(b)
    w.subscribe("$SYS/brokers/+/clients/#", 0)
    c = Client(b, "present")
    m = w.expect()
    assert m.topic == "$SYS/brokers/emqgw@127.0.0.1/clients/present/connected"
    assert json.loads(m.payload)["clientid"] == "present"
    c.disconnect()
    m = w.expect()
    assert m.topic.endswith("/present/disconnected")
    stats = Client(b)
    stats.subscribe("$SYS/brokers/+/stats/connections/count", 0)
    uptime = Client(b)
    uptime.subscribe("$SYS/brokers/+/uptime", 0)
    assert int(stats.expect(timeout=3).payload) >= 1
    assert uptime.expect(timeout=3).payload.endswith(b"seconds")
    version = Client(b)
    version.subscribe("$SYS/brokers/+/version", 0)
    assert version.expect().retain


def test_presence_events_feature_toggle(make_broker):
    b = make_broker()
    b.run(b.control.set_feature("presence_events", False))
    w = Client(b)
    w.subscribe("$SYS/#", 0)
    Client(b)
    w.expect_none()


def test_slow_authenticator_runs_off_the_loop_and_holds_early_packets(make_broker):
    """A deferred check (an awaitable verdict) must not stall other clients, and packets the client
    sent right behind its CONNECT are handled after the CONNACK, in order."""
    import asyncio

    b = make_broker(allow_anonymous=False)

    async def slow(ok):
        await asyncio.sleep(0.5)
        return ok

    b.call(b.broker.attach_account_check, lambda u, p, cid, host: (u == "fast") or slow(u == "slow" and p == b"pw"))
    b.call(b.broker.authn.set_enabled, "password_based:dashboard_accounts", True)
    other = Client(b, username="fast")
    other.subscribe("t", 0)
    raw = Raw(b.port())
    user, pw = b"slow", b"pw"
    var = b"\x00\x04MQTT\x04\xc2\x00\x3c"
    body = var + b"\x00\x02sc" + len(user).to_bytes(2, "big") + user + len(pw).to_bytes(2, "big") + pw
    sub = bytes([0x82, 6, 0, 7, 0, 1]) + b"z" + b"\x00"
    raw.send(bytes([0x10, len(body)]) + body + sub)  # CONNECT and SUBSCRIBE in one segment
    started = time.monotonic()
    # Meanwhile the loop keeps serving others.
    Client(b, username="fast").publish("t", b"during", qos=1)
    assert other.expect().payload == b"during"
    assert time.monotonic() - started < 0.45
    data = b""
    while len(data) < 9:
        data += raw.recv(64)
    assert data[:4] == b"\x20\x02\x00\x00" and data[4:9] == b"\x90\x03\x00\x07\x00"
    bad = Client(b, username="slow", password="nope", connect=False)
    _, rc, _ = bad.connect(expect_ok=False)
    assert rc.is_failure
