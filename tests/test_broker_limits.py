"""retry_interval, max_user_property_size and client_max_packet_size, seen from real clients.

Resends are watched byte by byte on a raw socket (DUP flag, packet id), the limits through paho.
Where a test drives ``Broker.tick`` itself it passes a clock far ahead, with keep alive 0 everywhere,
so only the retry rule can act; the real-time test leaves it to the server's own ticker.
"""

import time

import attrs
import pytest
from paho.mqtt.packettypes import PacketTypes

from tests.mqtt_helpers import Client, Raw, connect_bytes, v5props

PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, PINGRESP = 3, 4, 5, 6, 7, 13


class Peer:
    """A raw-socket client that frames what it reads, so resends can be told apart byte by byte."""

    def __init__(self, broker, clientid: str, level: int = 4):
        self.raw = Raw(broker.port())
        self.level = level
        self.buf = b""
        self.raw.send(connect_bytes(clientid, level=level, keepalive=0))
        b0, body = self.read()
        assert b0 >> 4 == 2 and body[1] == 0, "CONNACK refused"

    def read(self, timeout: float = 5.0) -> tuple[int, bytes]:
        """The next packet as (first byte, body); socket.timeout when none comes."""
        end = time.monotonic() + timeout
        while True:
            packet = self._frame()
            if packet is not None:
                return packet
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            chunk = self.raw.recv(65536, timeout=remaining)
            assert chunk, "the broker closed the connection"
            self.buf += chunk

    def _frame(self):
        buf = self.buf
        size, shift, i = 0, 0, 1
        while True:
            if i >= len(buf):
                return None
            size |= (buf[i] & 0x7F) << shift
            i += 1
            if buf[i - 1] < 0x80:
                break
            shift += 7
        if len(buf) < i + size:
            return None
        self.buf = buf[i + size :]
        return buf[0], buf[i : i + size]

    def quiet(self, wait: float = 0.3) -> bool:
        try:
            b0, _ = self.read(wait)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected packet type {b0 >> 4}")

    def subscribe(self, topic: str, qos: int) -> None:
        t = topic.encode()
        props = b"\x00" if self.level == 5 else b""
        body = b"\x00\x01" + props + len(t).to_bytes(2, "big") + t + bytes([qos])
        self.raw.send(bytes([0x82, len(body)]) + body)
        b0, body = self.read()
        assert b0 >> 4 == 9 and body[-1] == qos

    def publish_in(self, timeout: float = 5.0) -> tuple[bool, int, bytes]:
        """The next PUBLISH: (DUP, packet id, payload)."""
        b0, body = self.read(timeout)
        assert b0 >> 4 == PUBLISH, f"packet type {b0 >> 4}"
        tl = int.from_bytes(body[:2], "big")
        pid = int.from_bytes(body[2 + tl : 4 + tl], "big")
        rest = body[4 + tl :]
        if self.level == 5:
            rest = rest[1 + rest[0] :]  # property length (one byte here) and the properties
        return bool(b0 & 0x08), pid, rest

    def ack(self, kind: int, pid: int) -> None:
        self.raw.send(bytes([kind << 4 | (0x02 if kind == PUBREL else 0), 2]) + pid.to_bytes(2, "big"))

    def sync(self) -> list[tuple[int, bytes]]:
        """PINGREQ and wait for PINGRESP: whatever we sent before is handled. Returns what came first."""
        self.raw.send(b"\xc0\x00")
        before = []
        while True:
            b0, body = self.read()
            if b0 >> 4 == PINGRESP:
                return before
            before.append((b0, body))


def unacked(b, clientid: str, qos: int, level: int = 4) -> tuple[Peer, int]:
    """A raw subscriber holding one first delivery it has not acknowledged; returns it and the packet id."""
    sub = Peer(b, clientid, level)
    sub.subscribe("r/" + clientid, qos)
    Client(b, keepalive=0).publish("r/" + clientid, b"hello", qos=qos)
    dup, pid, payload = sub.publish_in()
    assert (dup, payload) == (False, b"hello")
    return sub, pid


def far_tick(b, ahead: float) -> None:
    b.tick(time.monotonic() + ahead)


# ------------------------------------------------------------------------------------------ retry


def test_qos1_resent_with_dup_by_the_servers_ticker_until_acked(make_broker):
    b = make_broker(retry_interval=1)
    sub, pid = unacked(b, "r1", 1)
    dup2, pid2, payload2 = sub.publish_in(timeout=4)  # the ticker runs once a second
    assert (dup2, pid2, payload2) == (True, pid, b"hello")
    sub.ack(PUBACK, pid)
    received = 2 + len(sub.sync())  # a resend may cross our PUBACK
    assert sub.quiet(2.5)  # acknowledged: no more
    info = b.run(b.control.get_client("r1"))
    assert info.send_msg == info.send_msg_qos1 == received
    # counted as any send is
    assert b.metric("packets.publish.sent") == b.metric("messages.qos1.sent") == received


def test_qos2_publish_then_pubrel_resent(make_broker):
    b = make_broker(retry_interval=30)
    sub, pid = unacked(b, "r2", 2)
    assert sub.quiet()
    far_tick(b, 10)
    assert sub.quiet()  # not due yet
    far_tick(b, 31)
    assert sub.publish_in()[:2] == (True, pid)  # no PUBREC: the PUBLISH again
    sub.ack(PUBREC, pid)
    b0, body = sub.read()
    assert (b0, body) == (0x62, pid.to_bytes(2, "big"))
    sent = b.metric("packets.pubrel.sent")
    far_tick(b, 31)
    assert sub.read() == (0x62, pid.to_bytes(2, "big"))  # no PUBCOMP: the PUBREL again
    assert b.metric("packets.pubrel.sent") == sent + 1
    sub.ack(PUBCOMP, pid)
    assert sub.sync() == []
    far_tick(b, 1000)
    assert sub.quiet()
    assert b.metric("messages.acked") == 1


def test_mqtt5_client_is_never_resent_on_a_live_connection(make_broker):
    b = make_broker(retry_interval=1)
    sub, _ = unacked(b, "r5", 1, level=5)
    far_tick(b, 1000)
    assert sub.quiet(1.5)  # nor by the server's own ticker
    assert b.metric("packets.publish.sent") == 1


def test_retry_interval_zero_never_and_a_live_change_acts_at_the_next_tick(make_broker):
    b = make_broker(retry_interval=0)
    sub, pid = unacked(b, "r0", 1)
    far_tick(b, 10**6)
    assert sub.quiet()
    cfg = b.run(b.control.get_config())
    b.run(b.control.apply_config(attrs.evolve(cfg, retry_interval=5)))
    far_tick(b, 6)
    assert sub.publish_in()[:2] == (True, pid)


def test_expired_message_leaves_the_window_on_retry(make_broker):
    b = make_broker(retry_interval=30, max_inflight=1)
    sub = Peer(b, "rx")
    sub.subscribe("r/x", 1)
    p = Client(b, v5=True, keepalive=0)
    p.publish("r/x", b"short-lived", qos=1, properties=v5props(PacketTypes.PUBLISH, MessageExpiryInterval=1))
    p.publish("r/x", b"next", qos=1)
    first = sub.publish_in()
    assert first[2] == b"short-lived"
    time.sleep(1.1)
    far_tick(b, 31)
    # the expired one is dropped, not resent, and the queued one takes its place in the window
    dup, _, payload = sub.publish_in()
    assert (dup, payload) == (False, b"next")
    assert b.metric("delivery.dropped.expired") == 1


# ------------------------------------------------------------------------------- user properties


def test_user_property_over_the_limit_is_too_large(make_broker):
    b = make_broker(max_user_property_size=16)
    sub = Client(b, v5=True)
    sub.subscribe("u/#", 0)
    pub = Client(b, v5=True)
    exact = v5props(PacketTypes.PUBLISH, UserProperty=[("k", "v" * 15)])  # 16 bytes: the limit itself
    pub.publish("u/1", b"ok", properties=exact)
    m = sub.expect()
    assert m.payload == b"ok" and m.properties.UserProperty == [("k", "v" * 15)]
    over = v5props(PacketTypes.PUBLISH, UserProperty=[("k", "v"), ("key", "é" * 7)])  # 3 + 14 bytes
    pub.publish("u/2", b"no", properties=over, wait=False)
    assert pub.disconnects.get(timeout=5).value == 0x95
    sub.expect_none()
    assert b.metric("packets.disconnect.sent") == 1


@pytest.mark.parametrize("where", ["connect", "will"])
def test_connect_with_a_user_property_over_the_limit_gets_connack_0x95(make_broker, where):
    b = make_broker(max_user_property_size=8)
    big = [("name", "value")]  # 9 bytes
    if where == "connect":
        c = Client(b, v5=True, properties=v5props(PacketTypes.CONNECT, UserProperty=big), connect=False)
    else:
        c = Client(
            b, v5=True, will=("w", b"x", 0, False, v5props(PacketTypes.WILLMESSAGE, UserProperty=big)), connect=False
        )
    _, rc, _ = c.connect(expect_ok=False)
    assert rc.value == 0x95
    c.c.loop_stop()
    ok = Client(b, v5=True, properties=v5props(PacketTypes.CONNECT, UserProperty=[("name", "val")]))
    ok.disconnect()


def test_user_property_limit_reaches_new_connections_after_a_live_change(make_broker):
    b = make_broker()
    old = Client(b, v5=True)
    cfg = b.run(b.control.get_config())
    b.run(b.control.apply_config(attrs.evolve(cfg, max_user_property_size=4)))
    props = v5props(PacketTypes.PUBLISH, UserProperty=[("long", "value")])
    new = Client(b, v5=True)
    new.publish("u/new", b"x", properties=props, wait=False)
    assert new.disconnects.get(timeout=5).value == 0x95
    old.publish("u/old", b"x", qos=1, properties=props)  # connected before: keeps its limit
    old.disconnect()


# ------------------------------------------------------------------------ client_max_packet_size


def test_client_max_packet_size_drops_for_clients_without_their_own(make_broker):
    b = make_broker(client_max_packet_size=100)
    v3 = Client(b, "cm-v3")
    v3.subscribe("cm/#", 1)
    v5_plain = Client(b, "cm-v5", v5=True)
    v5_plain.subscribe("cm/#", 1)
    v5_own = Client(b, "cm-own", v5=True, properties=v5props(PacketTypes.CONNECT, MaximumPacketSize=4096))
    v5_own.subscribe("cm/#", 1)
    pub = Client(b)
    pub.publish("cm/small", b"s" * 50, qos=1)
    for c in (v3, v5_plain, v5_own):
        assert c.expect().payload == b"s" * 50
    pub.publish("cm/big", b"b" * 200, qos=1)
    assert v5_own.expect().payload == b"b" * 200  # its own limit, larger, wins
    v3.expect_none()
    v5_plain.expect_none()
    for cid in ("cm-v3", "cm-v5"):
        info = b.run(b.control.get_client(cid))
        assert (info.send_msg, info.send_msg_dropped, info.send_msg_dropped_too_large) == (1, 1, 1)
    assert b.metric("delivery.dropped.too_large") == 2
    pub.publish("cm/small", b"after", qos=1)
    assert v3.expect().payload == b"after"  # the connection goes on
