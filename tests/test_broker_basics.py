"""Core MQTT behaviour through real paho clients over TCP and WebSocket."""

import paho.mqtt.client as paho
import pytest

from tests.mqtt_helpers import Client, PacketTypes, v5props, wait_for


@pytest.mark.parametrize("v5", [False, True])
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_publish_reaches_subscriber_at_each_qos(broker, v5, qos):
    sub = Client(broker, v5=v5)
    sub.subscribe("a/b", qos)
    pub = Client(broker, v5=v5)
    pub.publish("a/b", b"hello", qos=qos)
    m = sub.expect()
    assert (m.topic, m.payload, m.qos) == ("a/b", b"hello", qos)


def test_qos_downgraded_to_subscription(broker):
    sub = Client(broker)
    sub.subscribe("t", 0)
    Client(broker).publish("t", b"x", qos=2)
    assert sub.expect().qos == 0


def test_websocket_clients_talk_to_tcp_clients(broker):
    ws = Client(broker, transport="ws")
    ws.subscribe("w/#", 1)
    Client(broker).publish("w/1", b"over tcp", qos=1)
    assert ws.expect().payload == b"over tcp"
    tcp = Client(broker)
    tcp.subscribe("back", 1)
    ws.publish("back", b"over ws", qos=1)
    assert tcp.expect().payload == b"over ws"


def test_mqtt_3_1_client(broker):
    c = Client(broker, protocol=paho.MQTTv31)
    c.subscribe("old", 1)
    c.publish("old", b"v3", qos=1)
    assert c.expect().payload == b"v3"


def test_wildcards_and_dollar_topics(broker):
    sub = Client(broker)
    sub.subscribe("#", 0)
    plus = Client(broker)
    plus.subscribe("+/x", 0)
    sysc = Client(broker)
    sysc.subscribe("$SYS/custom", 0)
    p = Client(broker)
    p.publish("$SYS/custom", b"s")
    assert sysc.expect().topic == "$SYS/custom"
    sub.expect_none()  # [MQTT-4.7.2-1]: '#' does not match $-topics
    p.publish("a/x", b"1")
    assert sub.expect().topic == "a/x"
    assert plus.expect().topic == "a/x"
    p.publish("a", b"parent")
    assert sub.expect().topic == "a"


def test_retained_store_deliver_replace_delete(broker):
    p = Client(broker)
    p.publish("r/1", b"first", qos=1, retain=True)
    p.publish("r/1", b"second", qos=1, retain=True)
    s = Client(broker)
    s.subscribe("r/#", 1)
    m = s.expect()
    assert (m.payload, m.retain) == (b"second", True)
    p.publish("r/1", b"", qos=1, retain=True)
    wait_for(lambda: broker.call(lambda: len(broker.broker.retained)) == 0)
    s2 = Client(broker)
    s2.subscribe("r/#", 1)
    s2.expect_none()


def test_live_forwarding_clears_retain_flag_unless_rap(broker):
    plain = Client(broker, v5=True)
    plain.subscribe("k", 1)
    rap = Client(broker, v5=True)
    rap.subscribe("k", 1, rap=True)
    Client(broker, v5=True).publish("k", b"x", qos=1, retain=True)
    assert plain.expect().retain is False  # [MQTT-3.3.1-12]
    assert rap.expect().retain is True  # [MQTT-3.3.1-13]


def test_retain_handling(broker):
    Client(broker).publish("rh", b"kept", qos=1, retain=True)
    never = Client(broker, v5=True)
    never.subscribe("rh", 1, rh=2)
    never.expect_none()
    once = Client(broker, v5=True)
    once.subscribe("rh", 1, rh=1)
    assert once.expect().payload == b"kept"
    once.subscribe("rh", 1, rh=1)  # existing subscription: not sent again
    once.expect_none()
    always = Client(broker, v5=True)
    always.subscribe("rh", 1, rh=0)
    always.expect()
    always.subscribe("rh", 1, rh=0)
    always.expect()


def test_no_local(broker):
    c = Client(broker, v5=True)
    c.subscribe("nl", 1, no_local=True)
    c.publish("nl", b"me", qos=1)
    c.expect_none()
    Client(broker, v5=True).publish("nl", b"other", qos=1)
    assert c.expect().payload == b"other"
    assert broker.metric("delivery.dropped.no_local") == 1


def test_overlapping_subscriptions_one_copy_highest_qos_all_ids(broker):
    c = Client(broker, v5=True)
    c.subscribe("o/+", 0, properties=v5props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=1))
    c.subscribe("o/#", 2, properties=v5props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=7))
    Client(broker, v5=True).publish("o/1", b"x", qos=2)
    m = c.expect()
    assert m.qos == 2
    assert sorted(m.properties.SubscriptionIdentifier) == [1, 7]
    c.expect_none()


def test_v5_properties_pass_through(broker):
    s = Client(broker, v5=True)
    s.subscribe("p", 1)
    props = v5props(
        PacketTypes.PUBLISH,
        UserProperty=[("a", "1"), ("b", "2")],
        ContentType="text/plain",
        ResponseTopic="reply/here",
        CorrelationData=b"\x01\x02",
        PayloadFormatIndicator=1,
    )
    Client(broker, v5=True).publish("p", b"x", qos=1, properties=props)
    m = s.expect()
    assert m.properties.UserProperty == [("a", "1"), ("b", "2")]
    assert m.properties.ContentType == "text/plain"
    assert m.properties.ResponseTopic == "reply/here"
    assert m.properties.CorrelationData == b"\x01\x02"
    assert m.properties.PayloadFormatIndicator == 1


def test_puback_no_matching_subscribers(broker):
    c = Client(broker, v5=True)
    before = broker.metric("messages.dropped.no_subscribers")
    c.publish("nobody/here", b"x", qos=1)
    mid, rc = c.acks.get(timeout=5)
    assert rc.value == 0x10
    assert broker.metric("messages.dropped.no_subscribers") == before + 1


def test_unsubscribe_stops_delivery(broker):
    c = Client(broker)
    c.subscribe("u", 0)
    c.c.unsubscribe("u")
    wait_for(lambda: broker.call(lambda: broker.broker.subscription_count()) == 0)
    Client(broker).publish("u", b"x")
    c.expect_none()


def test_metrics_move(broker):
    before = broker.call(lambda: dict(broker.broker.metrics.counters))
    s = Client(broker)
    s.subscribe("m", 1)
    Client(broker).publish("m", b"x", qos=1)
    s.expect()
    after = broker.call(lambda: dict(broker.broker.metrics.counters))
    for key in (
        "packets.connect.received",
        "packets.connack.sent",
        "packets.subscribe.received",
        "packets.suback.sent",
        "packets.publish.received",
        "packets.publish.sent",
        "messages.qos1.received",
        "messages.qos1.sent",
        "messages.received",
        "messages.sent",
        "bytes.received",
        "bytes.sent",
        "client.connected",
        "session.created",
        "client.subscribe",
        "packets.puback.sent",
        "messages.publish",
        "messages.delivered",
    ):
        assert after[key] > before[key], key
