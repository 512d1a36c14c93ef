"""Malformed input closes only the offending connection; everyone else keeps flowing."""

import socket
import time

import pytest

from tests.mqtt_helpers import Client, Raw, connect_bytes

BAD_INPUTS = {
    "truncated_connect_then_close": connect_bytes()[:7],
    "bad_remaining_length": b"\x10\xff\xff\xff\xff\x7f",
    "invalid_utf8_client_id": b"\x10\x0e\x00\x04MQTT\x04\x02\x00\x3c\x00\x02\xc3\x28",
    "reserved_connect_flag": b"\x10\x0e\x00\x04MQTT\x04\x03\x00\x3c\x00\x02ab",
    "publish_before_connect": b"\x30\x05\x00\x01a\x68\x69",
    "subscribe_before_connect": b"\x82\x06\x00\x01\x00\x01a\x00",
    "bad_protocol_name": b"\x10\x0e\x00\x04MQTX\x04\x02\x00\x3c\x00\x02ab",
}


def _bystander(broker):
    s = Client(broker)
    s.subscribe("alive", 0)
    p = Client(broker)
    return s, p


def _still_flowing(s, p):
    p.publish("alive", b"yes")
    assert s.expect().payload == b"yes"


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_bytes_close_only_that_connection(broker, name):
    s, p = _bystander(broker)
    raw = Raw(broker.port())
    raw.send(BAD_INPUTS[name])
    if name == "truncated_connect_then_close":
        raw.close()
    else:
        assert raw.closed()
    _still_flowing(s, p)


@pytest.mark.parametrize("level", [4, 5])
def test_second_connect_closes(broker, level):
    s, p = _bystander(broker)
    raw = Raw(broker.port())
    raw.send(connect_bytes("twice", level=level))
    raw.recv(64)
    raw.send(connect_bytes("twice", level=level))
    if level == 5:
        data = raw.recv(64)
        assert data[0] == 0xE0 and data[2] == 0x82  # DISCONNECT, protocol error
    assert raw.closed()
    _still_flowing(s, p)


def test_reserved_flags_after_connect(broker):
    raw = Raw(broker.port())
    raw.send(connect_bytes("rf"))
    raw.recv(4)
    raw.send(b"\xc1\x00")  # PINGREQ with a reserved flag set [MQTT-2.1.3-1]
    assert raw.closed()


def test_unsupported_protocol_version(broker):
    raw = Raw(broker.port())
    raw.send(connect_bytes("v9", level=9))
    assert raw.recv(4) == b"\x20\x02\x00\x01"
    assert raw.closed()


def test_oversize_packet_v5_gets_disconnect_0x95(make_broker):
    b = make_broker(max_packet_size=1024)
    s, p = _bystander(b)
    raw = Raw(b.port())
    raw.send(connect_bytes("big", level=5))
    raw.recv(64)
    payload = b"x" * 2000
    body = b"\x00\x01t" + b"\x00" + payload
    rl = len(body)
    raw.send(bytes([0x30, (rl & 0x7F) | 0x80, rl >> 7]) + body)
    data = raw.recv(64)
    assert data[0] == 0xE0 and data[2] == 0x95
    assert raw.closed()
    _still_flowing(s, p)


def test_bad_topic_alias_v5_gets_disconnect_0x94(broker):
    raw = Raw(broker.port())
    raw.send(connect_bytes("al", level=5))
    raw.recv(64)
    # PUBLISH qos0 topic "t", properties: topic alias 0 (never valid)
    body = b"\x00\x01t" + b"\x03\x23\x00\x00" + b"p"
    raw.send(bytes([0x30, len(body)]) + body)
    data = raw.recv(64)
    assert data[0] == 0xE0 and data[2] == 0x94
    assert raw.closed()


def test_receive_maximum_exceeded_gets_disconnect_0x93(make_broker):
    b = make_broker(max_awaiting_rel=2)
    raw = Raw(b.port())
    raw.send(connect_bytes("rm", level=5))
    raw.recv(64)
    for pid in (1, 2, 3):
        body = b"\x00\x01t" + pid.to_bytes(2, "big") + b"\x00" + b"p"
        raw.send(bytes([0x34, len(body)]) + body)
    data = b""
    while b"\xe0" not in data:
        chunk = raw.recv(64)
        assert chunk
        data += chunk
    i = data.index(b"\xe0")
    assert data[i + 2] == 0x93
    assert raw.closed()


def test_client_that_never_sends_connect_is_closed(broker):
    import broker.core as core

    raw = Raw(broker.port())
    time.sleep(0.1)
    broker.tick(time.monotonic() + core.CONNECT_TIMEOUT + 1)
    assert raw.closed()


def test_auth_packet_rejected(broker):
    raw = Raw(broker.port())
    raw.send(connect_bytes("auth", level=5))
    raw.recv(64)
    raw.send(b"\xf0\x02\x18\x00")
    data = raw.recv(64)
    assert data[0] == 0xE0 and data[2] == 0x82
    assert raw.closed()


def test_slow_subscriber_does_not_stall_others(make_broker):
    b = make_broker(max_mqueue_len=50, write_buffer_high=16 * 1024)
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect, so the window stays small
    slow.connect(("127.0.0.1", b.port()))
    slow.sendall(connect_bytes("slow"))
    slow.recv(4)
    slow.sendall(bytes([0x82, 6, 0, 1, 0, 1]) + b"f" + b"\x00")
    time.sleep(0.1)
    fast = Client(b)
    fast.subscribe("f", 0)
    p = Client(b)
    payload = b"x" * 4096
    # The fast reader keeps up batch by batch while the slow one never reads at all.
    for _ in range(40):
        for _ in range(100):
            p.publish("f", payload)
        for _ in range(100):
            fast.expect()
    assert b.metric("delivery.dropped.queue_full") > 0
    assert b.call(lambda: len(b.broker.sessions["slow"].mqueue)) <= 50
    slow.close()
