"""A client's memory has a ceiling below the protocol's (issue "Hold up under abuse", item 8).

Topic aliases, subscriptions and the topics they hold are per-connection memory the protocol lets a
client ask for by the gigabyte (65535 aliases of 65535-byte topics). The defaults bound them:
``max_topic_alias`` 64 each way, ``max_topic_length`` 4096 bytes, ``max_subscriptions`` 1000, and
beyond them the client is refused with the reason code the spec has for it. (The subscription rules
hold at the API door too: tests/test_subscription_doors.py.)
"""

import socket

import pytest

from gateway import config
from schemas.records import BrokerConfig
from tests.mqtt_helpers import Client, PacketTypes, Raw, connect_bytes, v5props

LONG = "t/" + "x" * 4095  # 4097 bytes: one past max_topic_length


def test_defaults_bound_what_one_client_holds():
    cfg = BrokerConfig()
    assert (cfg.max_topic_alias, cfg.max_topic_length, cfg.max_subscriptions) == (64, 4096, 1000)


def test_connack_announces_the_alias_maximum(broker):
    _, _, props = Client(broker, v5=True, connect=False).connect()
    assert props.TopicAliasMaximum == 64


def test_an_alias_past_the_maximum_disconnects_0x94(broker):
    p = Client(broker, v5=True)
    p.publish("a/64", b"ok", qos=1, properties=v5props(PacketTypes.PUBLISH, TopicAlias=64))
    p.c.publish("a/65", b"no", qos=1, properties=v5props(PacketTypes.PUBLISH, TopicAlias=65))
    assert p.disconnects.get(timeout=5).value == 0x94  # Topic Alias invalid


def test_a_topic_too_long_is_refused_0x90_and_its_alias_not_kept(broker):
    s = Client(broker, v5=True)
    s.subscribe("t/#", 1)
    p = Client(broker, v5=True)
    info = p.publish(LONG, b"long", qos=1, properties=v5props(PacketTypes.PUBLISH, TopicAlias=1))
    assert p.acks.get(timeout=5)[1].value == 0x90  # Topic Name invalid: correct, but not accepted
    assert info.is_published()
    s.expect_none()
    # The alias was not registered with the refused topic: using it is an unknown alias.
    p.c.publish("", b"by alias", qos=1, properties=v5props(PacketTypes.PUBLISH, TopicAlias=1))
    assert p.disconnects.get(timeout=5).value == 0x82  # Protocol Error
    s.expect_none()
    ok = Client(broker, v5=True)
    ok.publish("t/" + "x" * 4094, b"at the limit", qos=1)
    assert s.expect().payload == b"at the limit"


def test_a_topic_too_long_closes_a_3_1_1_client(broker):
    raw = Raw(broker.port())
    raw.send(connect_bytes("long311"))
    assert raw.recv(4) == b"\x20\x02\x00\x00"
    topic = LONG.encode()
    body = len(topic).to_bytes(2, "big") + topic + b"\x00\x01" + b"payload"
    raw.send(bytes([0x32, len(body) & 0x7F | 0x80, len(body) >> 7]) + body)
    assert raw.closed()  # 3.1.1 has no way to say why: the connection ends [MQTT-4.8.0-1]


def test_a_will_topic_too_long_is_refused(broker):
    c = Client(broker, v5=True, will=(LONG, b"bye", 0, False), connect=False)
    _, rc, _ = c.connect(expect_ok=False)
    assert rc.value == 0x90


def test_a_filter_too_long_is_refused(broker):
    for v5, code in ((True, 0x8F), (False, 0x80)):
        c = Client(broker, v5=v5)
        [rc] = c.subscribe(LONG + "/#", 0)
        assert rc.value == code
        c.disconnect()


def test_subscriptions_past_the_maximum_are_refused(broker):
    c = Client(broker, v5=True)
    filters = [(f"s/{i}", 0) for i in range(1001)]
    c.c.subscribe(filters)
    codes = c.subacks.get(timeout=5)
    assert [rc.value for rc in codes[:1000]] == [0] * 1000
    assert codes[1000].value == 0x97  # Quota exceeded
    assert len(broker.run(broker.control.client_subscriptions(c.clientid))) == 1000


def test_aliases_we_send_stay_within_our_maximum(broker):
    """A subscriber allowing 1000 aliases still gets at most 64 from us: each is a topic we keep."""
    s = socket.create_connection(("127.0.0.1", broker.port()), timeout=5)
    var = b"\x00\x04MQTT\x05\x02\x00\x00" + b"\x03\x22\x03\xe8"  # properties: Topic Alias Maximum 1000
    body = var + b"\x00\x05alias"
    s.sendall(bytes([0x10, len(body)]) + body)
    s.sendall(b"\x82\x07\x00\x01\x00\x00\x01#\x00")  # SUBSCRIBE "#" QoS 0
    p = Client(broker, v5=True)
    for i in range(70):
        p.publish(f"topic/{i}", b"m", qos=1)
    aliases = []
    buf = b""
    while len(aliases) < 70:
        data = s.recv(65536)
        assert data, "the broker closed the connection"
        buf += data
        while len(buf) >= 2 and len(buf) >= 2 + buf[1]:
            packet, buf = buf[: 2 + buf[1]], buf[2 + buf[1] :]
            if packet[0] >> 4 == 3:
                tl = int.from_bytes(packet[2:4], "big")
                props = packet[5 + tl : 5 + tl + packet[4 + tl]]
                aliases.append(int.from_bytes(props[1:3], "big") if props[:1] == b"\x23" else None)
    assert aliases[:64] == list(range(1, 65))
    assert aliases[64:] == [None] * 6  # the rest go with their topic name
    s.close()


@pytest.mark.parametrize(
    "key, value",
    [("max_topic_length", 0), ("max_topic_length", 65536), ("max_topic_alias", 65536), ("max_subscriptions", -1)],
)
def test_limits_out_of_range_name_the_key(tmp_path, key, value):
    f = tmp_path / "c.toml"
    f.write_text(f"[mqtt]\n{key} = {value}\n")
    with pytest.raises(config.ConfigError, match=f"mqtt.{key}': (between|must be)"):
        config.load(str(f), environ={})  # not an unknown key: a value out of range
