"""The sans-IO side of durability: what the journal records, and PUBACKs held for the disk in sync mode."""

from broker import packets as pk
from broker.channel import Channel
from broker.codec import Decoder, encode
from broker.core import Broker
from broker.persistence import Journal
from schemas.records import BrokerConfig


class FakeTransport:
    def __init__(self):
        self.out = b""
        self.closed = False

    def write(self, data):
        self.out += data

    def is_closing(self):
        return self.closed

    def close(self):
        self.closed = True


def _client(broker, clientid, clean=True, level=4):
    t = FakeTransport()
    ch = Channel(broker, t, ("127.0.0.1", 1), "tcp:default")
    ch.data_received(encode(pk.Connect(client_id=clientid, clean_start=clean, proto_ver=level, keepalive=0), level))
    broker.flush()
    return ch, t


def _packets(t):
    dec = Decoder(server_side=False)
    dec.version = 4
    out = dec.feed(t.out)
    t.out = b""
    return out


def _offline_subscriber(b):
    """A persistent session "s" on topic "t" (QoS 1) whose client has disconnected."""
    sub, _ = _client(b, "s", clean=False)
    sub.data_received(encode(pk.Subscribe(packet_id=1, subscriptions=[pk.SubscriptionRequest("t", 1)]), 4))
    sub.data_received(encode(pk.Disconnect(), 4))


def _broker(mode):
    b = Broker(BrokerConfig())
    j = Journal(mode)
    b.attach_journal(j)
    return b, j


def test_clean_sessions_and_online_deliveries_record_nothing():
    b, j = _broker("periodic")
    sub, _ = _client(b, "s")
    sub.data_received(encode(pk.Subscribe(packet_id=1, subscriptions=[pk.SubscriptionRequest("t", 1)]), 4))
    pub, _ = _client(b, "p")
    pub.data_received(encode(pk.Publish(topic="t", payload=b"x", qos=1, packet_id=1), 4))
    assert j.ops == []


def test_offline_queue_is_recorded_in_order():
    b, j = _broker("periodic")
    _offline_subscriber(b)
    pub, _ = _client(b, "p")
    pub.data_received(encode(pk.Publish(topic="t", payload=b"x", qos=1, packet_id=1), 4))
    kinds = [op[0] for op in j.ops]
    assert kinds == ["session", "session", "session", "queue_reset", "enqueue"]
    assert j.ops[-1][2][0].payload == b"x"
    j.take()
    _client(b, "s", clean=False)
    assert [op[0] for op in j.ops] == ["queue_clear", "session"]


def test_sync_mode_holds_puback_until_durable_and_keeps_order():
    b, j = _broker("sync")
    _offline_subscriber(b)
    pub, t = _client(b, "p")
    _packets(t)
    pub.data_received(encode(pk.Publish(topic="t", payload=b"x", qos=1, packet_id=1), 4))
    pub.data_received(encode(pk.Publish(topic="nobody", payload=b"y", qos=1, packet_id=2), 4))
    b.flush()
    assert _packets(t) == []  # the second waits behind the first
    _ops, waiters = j.take()
    for cb in waiters:
        cb()
    b.flush()
    assert [(p.__class__, p.packet_id) for p in _packets(t)] == [(pk.Puback, 1), (pk.Puback, 2)]
    pub.data_received(encode(pk.Publish(topic="nobody", payload=b"z", qos=1, packet_id=3), 4))
    b.flush()
    assert [p.packet_id for p in _packets(t)] == [3]  # nothing queued: acknowledged at once
