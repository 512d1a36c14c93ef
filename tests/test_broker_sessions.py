"""Sessions: persistence, queueing, redelivery, takeover, expiry, wills, keep alive."""

import time

from tests.mqtt_helpers import Client, PacketTypes, Raw, connect_bytes, v5props, wait_for


def test_persistent_session_keeps_subscriptions_and_queues_qos1(broker):
    s = Client(broker, "keeper", clean=False)
    s.subscribe("q/#", 1)
    s.disconnect()
    wait_for(lambda: broker.call(lambda: "keeper" not in broker.broker.channels))
    p = Client(broker)
    for i in range(3):
        p.publish(f"q/{i}", str(i).encode(), qos=1)
    assert broker.call(lambda: len(broker.broker.sessions["keeper"].mqueue)) == 3
    back = Client(broker, "keeper", clean=False, connect=False)
    flags, rc, _ = back.connect()
    assert flags.session_present
    got = [back.expect().payload for _ in range(3)]
    assert got == [b"0", b"1", b"2"]


def test_clean_session_discards_state(broker):
    s = Client(broker, "fresh", clean=False)
    s.subscribe("c", 1)
    s.disconnect()
    again = Client(broker, "fresh", clean=True, connect=False)
    flags, _, _ = again.connect()
    assert not flags.session_present
    assert broker.call(lambda: broker.broker.sessions["fresh"].subscriptions) == {}


def test_mqueue_bounded_and_drops_counted(make_broker):
    b = make_broker(max_mqueue_len=5)
    s = Client(b, "slow", clean=False)
    s.subscribe("d", 1)
    s.disconnect()
    wait_for(lambda: b.call(lambda: "slow" not in b.broker.channels))
    p = Client(b)
    for i in range(8):
        p.publish("d", str(i).encode(), qos=1)
    assert b.call(lambda: len(b.broker.sessions["slow"].mqueue)) == 5
    assert b.call(lambda: b.broker.sessions["slow"].mqueue_dropped) == 3
    assert b.metric("delivery.dropped.queue_full") == 3
    back = Client(b, "slow", clean=False)
    # The oldest gave way: what remains are the five newest.
    assert [back.expect().payload for _ in range(5)] == [b"3", b"4", b"5", b"6", b"7"]


def test_unacked_qos1_redelivered_with_dup_on_reconnect(broker):
    port = broker.port()
    Client(broker, "sub1", clean=False).subscribe("r", 1)
    # Reconnect the same id as a raw client that never acknowledges.
    raw = Raw(port)
    raw.send(connect_bytes("sub1", clean=False))
    assert raw.recv(4)[:2] == b"\x20\x02"
    Client(broker).publish("r", b"payload", qos=1)
    first = raw.recv()
    assert first[0] & 0xF0 == 0x30 and not first[0] & 0x08
    raw.close()
    wait_for(lambda: broker.call(lambda: "sub1" not in broker.broker.channels))
    again = Raw(port)
    again.send(connect_bytes("sub1", clean=False))
    data = again.recv()
    assert data[:4] == b"\x20\x02\x01\x00"  # session present
    rest = data[4:] or again.recv()
    assert rest[0] & 0x08, "DUP must be set on redelivery [MQTT-3.3.1-1]"
    assert rest[0] & 0x06 == 0x02
    again.close()


def test_inflight_window_holds_the_rest_in_queue(make_broker):
    b = make_broker(max_inflight=2)
    port = b.port()
    raw = Raw(port)
    raw.send(connect_bytes("win"))
    raw.recv(4)
    raw.send(bytes([0x82, 6, 0, 1, 0, 1]) + b"w" + b"\x01")
    assert raw.recv(5)[0] == 0x90
    p = Client(b)
    for i in range(5):
        p.publish("w", str(i).encode(), qos=1)
    wait_for(lambda: b.call(lambda: len(b.broker.sessions["win"].mqueue)) == 3)
    assert b.call(lambda: len(b.broker.sessions["win"].inflight)) == 2
    raw.close()


def test_session_takeover(broker):
    first = Client(broker, "dup", v5=True)
    second = Client(broker, "dup", v5=True)
    rc = first.disconnects.get(timeout=5)
    assert rc.value == 0x8E
    assert broker.metric("session.takenover") == 1
    second.subscribe("still", 0)


def test_session_expiry_v5(broker):
    c = Client(broker, "exp", v5=True, clean=False, properties=v5props(PacketTypes.CONNECT, SessionExpiryInterval=1))
    c.subscribe("e", 1)
    c.disconnect()
    wait_for(lambda: broker.call(lambda: "exp" not in broker.broker.channels))
    assert broker.call(lambda: "exp" in broker.broker.sessions)
    time.sleep(1.1)
    broker.tick()
    assert broker.call(lambda: "exp" not in broker.broker.sessions)
    assert broker.metric("session.terminated") >= 1


def test_v5_zero_session_expiry_ends_at_disconnect(broker):
    c = Client(broker, "zero", v5=True, clean=False)
    c.disconnect()
    wait_for(lambda: broker.call(lambda: "zero" not in broker.broker.sessions))


def test_will_published_on_abnormal_close_not_on_disconnect(broker):
    w = Client(broker)
    w.subscribe("will/#", 1)
    gone = Client(broker, will=("will/a", b"bye", 1, False))
    gone.drop()
    m = w.expect()
    assert (m.topic, m.payload) == ("will/a", b"bye")
    polite = Client(broker, will=("will/b", b"nope", 1, False))
    polite.disconnect()
    w.expect_none()


def test_will_delay_and_cancel_on_reconnect(broker):
    w = Client(broker)
    w.subscribe("wd/#", 1)
    props = v5props(PacketTypes.WILLMESSAGE, WillDelayInterval=1)
    expiry = v5props(PacketTypes.CONNECT, SessionExpiryInterval=60)
    c = Client(broker, "delayed", v5=True, clean=False, properties=expiry, will=("wd/x", b"late", 1, False, props))
    c.drop()
    wait_for(lambda: broker.call(lambda: "delayed" in broker.broker.pending_wills))
    w.expect_none(0.2)
    time.sleep(1.05)
    broker.tick()
    assert w.expect().payload == b"late"
    # A reconnect before the delay cancels the will [MQTT-3.1.3-9].
    c2 = Client(
        broker,
        "delayed2",
        v5=True,
        clean=False,
        properties=expiry,
        will=("wd/y", b"cancelled", 1, False, v5props(PacketTypes.WILLMESSAGE, WillDelayInterval=30)),
    )
    c2.drop()
    wait_for(lambda: broker.call(lambda: "delayed2" in broker.broker.pending_wills))
    Client(broker, "delayed2", v5=True, clean=False, properties=expiry)
    assert broker.call(lambda: "delayed2" not in broker.broker.pending_wills)


def test_will_at_min_of_delay_and_session_expiry(broker):
    w = Client(broker)
    w.subscribe("mn", 1)
    c = Client(
        broker,
        "short",
        v5=True,
        clean=True,
        properties=v5props(PacketTypes.CONNECT, SessionExpiryInterval=0),
        will=("mn", b"now", 1, False, v5props(PacketTypes.WILLMESSAGE, WillDelayInterval=100)),
    )
    c.drop()
    assert w.expect().payload == b"now"  # session expiry 0 < will delay: published at once


def test_keepalive_timeout_closes_and_publishes_will(broker):
    w = Client(broker)
    w.subscribe("ka", 0)
    raw = Raw(broker.port())
    will_topic, will_msg = b"ka", b"dead"
    var = b"\x00\x04MQTT\x04" + bytes([0x02 | 0x04]) + (1).to_bytes(2, "big")
    body = (
        var
        + b"\x00\x02ka"
        + len(will_topic).to_bytes(2, "big")
        + will_topic
        + len(will_msg).to_bytes(2, "big")
        + will_msg
    )
    raw.send(bytes([0x10, len(body)]) + body)
    assert raw.recv(4) == b"\x20\x02\x00\x00"
    broker.tick(time.monotonic() + 1.6)
    assert raw.closed()
    assert w.expect().payload == b"dead"


def test_server_keepalive(make_broker):
    b = make_broker(server_keepalive=10)
    c = Client(b, v5=True, keepalive=120, connect=False)
    _, _, props = c.connect()
    assert props.ServerKeepAlive == 10


def test_assigned_client_identifier_v5(broker):
    c = Client(broker, "", v5=True, connect=False)
    _, _, props = c.connect()
    assert props.AssignedClientIdentifier.startswith("emqgw-")


def test_empty_client_id_without_clean_session_refused_311(broker):
    raw = Raw(broker.port())
    raw.send(connect_bytes("", clean=False))
    assert raw.recv(4) == b"\x20\x02\x00\x02"
    assert raw.closed()


def test_connack_receive_maximum_and_limits_v5(broker):
    c = Client(broker, v5=True, connect=False)
    _, _, props = c.connect()
    assert props.ReceiveMaximum == 100
    assert props.MaximumPacketSize == 1024 * 1024
    assert props.TopicAliasMaximum == 64


def test_message_expiry(broker):
    s = Client(broker, "mexp", v5=True, clean=False, properties=v5props(PacketTypes.CONNECT, SessionExpiryInterval=60))
    s.subscribe("mx", 1)
    s.disconnect()
    wait_for(lambda: broker.call(lambda: "mexp" not in broker.broker.channels))
    p = Client(broker, v5=True)
    p.publish("mx", b"short", qos=1, properties=v5props(PacketTypes.PUBLISH, MessageExpiryInterval=1))
    p.publish("mx", b"long", qos=1, properties=v5props(PacketTypes.PUBLISH, MessageExpiryInterval=100))
    time.sleep(1.1)
    back = Client(
        broker, "mexp", v5=True, clean=False, properties=v5props(PacketTypes.CONNECT, SessionExpiryInterval=60)
    )
    m = back.expect()
    assert m.payload == b"long"
    assert 0 < m.properties.MessageExpiryInterval <= 100  # remaining lifetime [MQTT-3.3.2-6]
    back.expect_none()
    assert broker.metric("delivery.dropped.expired") == 1


def test_topic_alias_inbound_and_outbound(broker):
    s = Client(broker, v5=True, properties=v5props(PacketTypes.CONNECT, TopicAliasMaximum=10))
    s.subscribe("alias/t", 1)
    p = Client(broker, v5=True)
    p.publish("alias/t", b"1", qos=1, properties=v5props(PacketTypes.PUBLISH, TopicAlias=3))
    p.publish("", b"2", qos=1, properties=v5props(PacketTypes.PUBLISH, TopicAlias=3))
    m1, m2 = s.expect(), s.expect()
    # Inbound: the second PUBLISH named its topic by alias only and was routed to "alias/t".
    assert (m1.payload, m2.payload) == (b"1", b"2")
    # Outbound: the server set an alias on first use and sent only the alias afterwards
    # (paho hands the aliased form through as it came off the wire).
    assert m1.topic == "alias/t" and m1.properties.TopicAlias == 1
    assert m2.topic == "" and m2.properties.TopicAlias == 1
