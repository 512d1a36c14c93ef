"""A client can read why it was disconnected, even while it is still sending (issue "Hold up under
abuse", item 6).

Closing a socket that has unread input makes the kernel answer with a reset, and a reset destroys
what the client had not read yet: the DISCONNECT or CONNACK that says why. The broker closes the way
web servers do (lingering close: FIN after the last packet, then it reads and drops input for a
while), so the reason arrives however eagerly the client keeps sending.
"""

import socket
import threading
import time

import pytest

from tests.mqtt_helpers import Client, connect_bytes


class Eager:
    """A raw client that keeps sending in a thread of its own, and reads only when asked."""

    def __init__(self, broker, connect: bytes):
        self.s = socket.socket()
        # A small receive window, so that what the broker sends us backs up in its socket, not ours.
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.s.settimeout(5)
        self.s.connect(("127.0.0.1", broker.port()))
        self.s.sendall(connect)
        self.buf = b""
        self.stop = threading.Event()

    def keep_sending(self, packets) -> None:
        def run():
            try:
                for p in packets:
                    if self.stop.is_set():
                        return
                    self.s.sendall(p)
            except OSError:
                pass

        threading.Thread(target=run, daemon=True).start()

    def packets(self) -> list[tuple[int, bytes]]:
        """Everything the broker sent, as (first byte, body), up to its end of the stream."""
        while True:
            data = self.s.recv(65536)  # a reset raises here: the test fails
            if not data:
                break
            self.buf += data
        out, buf = [], self.buf
        while buf:
            size, shift, i = 0, 0, 1
            while True:
                size |= (buf[i] & 0x7F) << shift
                i += 1
                if buf[i - 1] < 0x80:
                    break
                shift += 7
            out.append((buf[0], buf[i : i + size]))
            buf = buf[i + size :]
        return out

    def close(self) -> None:
        self.stop.set()
        self.s.close()


def qos2_publishes(payload: bytes):
    """QoS 2 PUBLISHes on topic "t" (MQTT 5, no properties) with packet ids 1, 2, 3 ... forever."""
    pid = 0
    while True:
        pid = pid % 65535 + 1
        body = b"\x00\x01t" + pid.to_bytes(2, "big") + b"\x00" + payload
        n = len(body)
        yield b"\x34" + (bytes([n]) if n < 128 else bytes([n & 0x7F | 0x80, n >> 7])) + body


def test_receive_maximum_exceeded_reaches_a_client_still_sending(broker):
    c = Eager(broker, connect_bytes("eager", level=5) + b"\x82\x07\x00\x01\x00\x00\x01t\x00")
    # Subscribed to what it publishes, the client is sent more than its window takes, so the
    # DISCONNECT waits in the broker's socket behind it; a close with unread input (what we keep
    # sending) would reset the connection and throw that away.
    # Never a PUBREL: past our Receive Maximum (100) the broker must disconnect with 0x93.
    c.keep_sending(qos2_publishes(b"x" * 1000))
    time.sleep(0.5)  # the broker has given up on us by now, and we went on sending
    got = c.packets()
    c.close()
    assert got[0][0] == 0x20 and got[0][1][1] == 0  # CONNACK, accepted
    assert got[1][0] == 0x90  # SUBACK
    assert [b0 for b0, _ in got if b0 == 0x50] == [0x50] * 100  # a PUBREC for each within the maximum
    assert got[-1] == (0xE0, b"\x93")  # DISCONNECT, Receive Maximum exceeded


@pytest.mark.parametrize("level, refusal", [(4, b"\x20\x02\x00\x02"), (5, b"\x20\x03\x00\x85\x00")])
def test_connack_refusal_reaches_a_client_still_sending(make_broker, level, refusal):
    # A client id longer than allowed: refused (3.1.1: 0x02; MQTT 5: 0x85).
    c = Eager(make_broker(max_clientid_len=3), connect_bytes("eager", level=level))
    c.keep_sending(b"\xc0\x00" * 8192 for _ in range(2000))
    time.sleep(0.5)
    got = c.packets()
    c.close()
    assert got and bytes([got[0][0], len(got[0][1])]) + got[0][1] == refusal


def test_a_closed_client_is_let_go_once_it_closes_too(broker):
    c = Eager(broker, connect_bytes("eager", level=5))
    c.keep_sending(qos2_publishes(b"y"))
    time.sleep(0.3)
    assert c.packets()[-1] == (0xE0, b"\x93")
    c.close()
    # Its end of the connection closed, the broker's lingering one ends with it: the listener's
    # count goes back to what the other clients hold.
    other = Client(broker)
    for _ in range(100):
        if broker.call(lambda: broker.server.listeners["tcp:default"].current) == 1:
            break
        time.sleep(0.02)
    assert broker.call(lambda: broker.server.listeners["tcp:default"].current) == 1
    other.disconnect()
