"""One client can neither stall the broker nor grow it without bound (issue "Hold up under abuse", items 1-2).

Input is handled at a bounded pace per event-loop turn, so a flood from one connection leaves the
others their turns; a client that does not read what it is sent is not read either, and is closed
once that has lasted ``send_timeout``. Abusers are raw sockets; the flood test runs the broker on
uvloop, the loop `emqgw serve` runs on, whose reads are the largest.
"""

import socket
import threading
import time

import uvloop

from tests.mqtt_helpers import Client, Raw, connect_bytes, wait_for

CONNACK_OK = b"\x20\x02\x00\x00"
PINGREQ, PINGRESP = b"\xc0\x00", b"\xd0\x00"
ESTABLISHED, CLOSED = 1, 7  # Linux TCP states (TCP_INFO); CLOSED after a reset


def tcp_state(s: socket.socket) -> int:
    return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


def send_until_refused(s: socket.socket, block: bytes, most: int) -> int:
    """Send ``block`` after ``block`` until ``most`` bytes went or the broker takes nothing for 1 s."""
    s.settimeout(1.0)
    sent = 0
    try:
        while sent < most:
            sent += s.send(block)
    except TimeoutError:
        pass
    return sent


def test_a_flood_leaves_the_other_clients_their_turn(make_broker):
    b = make_broker(loop_factory=uvloop.new_event_loop)
    flood = Raw(b.port())
    flood.send(connect_bytes("flood"))
    assert flood.recv(4) == CONNACK_OK
    answered = [0]

    def read_answers():
        while answered[0] < FLOOD:
            data = flood.s.recv(1 << 20)
            if not data:
                return
            answered[0] += len(data)

    FLOOD = 4_000_000  # bytes of PINGREQ, as many of PINGRESP back
    reader = threading.Thread(target=read_answers, daemon=True)
    reader.start()
    sender = threading.Thread(target=flood.s.sendall, args=(PINGREQ * (FLOOD // 2),))
    good = Raw(b.port())
    good.send(connect_bytes("good"))
    assert good.recv(4) == CONNACK_OK
    sender.start()
    worst = 0.0
    pings = 0
    while reader.is_alive():  # until the broker has answered the whole flood
        t = time.monotonic()
        good.send(PINGREQ)
        assert good.recv(2, timeout=10) == PINGRESP
        worst = max(worst, time.monotonic() - t)
        pings += 1
    sender.join()
    assert answered[0] == FLOOD  # every ping of the flood was answered too
    assert pings > 1
    # Unbounded, one 4 MB burst held the others for seconds; bounded, a turn is milliseconds.
    assert worst < 1.0, f"a ping waited {worst:.2f} s behind the flood"


def settled(read, quiet: float = 0.5, timeout: float = 10.0) -> int:
    """``read()`` once it has stopped changing for ``quiet`` seconds."""
    end = time.monotonic() + timeout
    last = read()
    while time.monotonic() < end:
        time.sleep(quiet)
        now = read()
        if now == last:
            return now
        last = now
    raise AssertionError(f"still changing after {timeout} s")


def test_a_client_that_does_not_read_is_not_read_then_closed(make_broker):
    b = make_broker(send_timeout=2, write_buffer_high=16384)
    s = socket.socket()
    # Small buffers on both sides, so that the answers back up (rather than fill the kernel's
    # buffers) long before a slow machine could make our sends stall for their own sake.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.connect(("127.0.0.1", b.port()))
    s.sendall(connect_bytes("deaf"))
    assert s.recv(4) == CONNACK_OK
    # Every PINGREQ earns a PINGRESP it never reads: once they back up the broker stops reading it,
    # so the kernel's buffers fill and our sends stall long before the whole offer is taken.
    offer = 24_000_000
    sent = send_until_refused(s, PINGREQ * 32768, offer)
    assert sent < offer
    handled = settled(lambda: b.metric("packets.pingreq.received"))
    assert sent - 2 * handled > 100_000  # what it sent last lies unread in the kernel's buffers
    # After send_timeout (2 s; the broker checks once a second) it is closed, and cut with a reset
    # once the lingering close finds it still not reading.
    wait_for(lambda: tcp_state(s) != ESTABLISHED, timeout=8)
    assert tcp_state(s) == CLOSED
    assert b.call(lambda: "deaf" not in b.broker.channels)
    other = Client(b)  # everyone else was served all along
    other.disconnect()
    s.close()


def test_a_subscriber_that_does_not_read_is_closed_its_queue_kept(make_broker):
    b = make_broker(send_timeout=1, max_mqueue_len=20)
    sub = socket.create_connection(("127.0.0.1", b.port()))
    sub.sendall(connect_bytes("slow", clean=False, keepalive=0))
    assert sub.recv(4) == CONNACK_OK
    sub.sendall(b"\x82\x08\x00\x01\x00\x03s/t\x00")
    assert sub.recv(5) == b"\x90\x03\x00\x01\x00"
    pub = Client(b)
    big = b"x" * 65536
    for i in range(200):  # 13 MB: far more than the kernel buffers while nobody reads
        pub.publish("s/t", big + str(i).encode())
    pub.publish("s/t", b"last", qos=1)  # acknowledged once routed: everything before was routed too
    # Its queue, not a socket buffer, is where the undelivered wait: at most max_mqueue_len of them.
    assert b.call(lambda: len(b.broker.sessions["slow"].mqueue)) == 20
    wait_for(lambda: tcp_state(sub) != ESTABLISHED, timeout=8)
    assert tcp_state(sub) == CLOSED
    sub.close()
    back = Client(b, "slow", clean=False, connect=False)
    flags, _, _ = back.connect()
    assert flags.session_present
    got = [back.expect().payload for _ in range(20)]
    assert got[-1] == b"last"  # the queue kept the newest; the oldest gave way
    back.expect_none()
    back.disconnect()
    pub.disconnect()


def ws_frame(payload: bytes) -> bytes:
    """A masked binary WebSocket frame, as a client sends it (RFC 6455 5.2)."""
    mask = b"\x01\x02\x03\x04"
    n = len(payload)
    head = bytes([0x82, 0x80 | n]) if n < 126 else bytes([0x82, 0x80 | 126]) + n.to_bytes(2, "big")
    return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


def test_a_websocket_subscriber_that_does_not_read_is_closed(make_broker):
    b = make_broker(send_timeout=1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.connect(("127.0.0.1", b.port("ws")))
    s.sendall(
        b"GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Protocol: mqtt\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    s.sendall(ws_frame(connect_bytes("ws-slow")) + ws_frame(b"\x82\x08\x00\x01\x00\x03w/t\x00"))
    pub = Client(b)
    wait_for(lambda: b.call(lambda: bool(b.broker.trie.match("w/t"))))  # subscribed
    for _ in range(100):  # 6.5 MB: far more than the buffers hold while nobody reads
        pub.publish("w/t", b"x" * 65536)
    pub.publish("w/t", b"last", qos=1)
    wait_for(lambda: tcp_state(s) != ESTABLISHED, timeout=8)
    assert tcp_state(s) == CLOSED
    assert b.call(lambda: "ws-slow" not in b.broker.channels)
    assert b.call(lambda: b.server.listeners["ws:default"].current) == 0
    pub.disconnect()
    s.close()
