"""ClientInfo records are remembered per client (broker.control.records.ClientRecords) and handed out again
while the client is unchanged. Every kind of change a client goes through must yield a new record equal
to one built afresh from the broker's state; no change must yield the very same record.
"""

import attrs

from broker.control.records import client_info
from schemas.records import ClientQuery, SubscribeRequest
from tests.mqtt_helpers import Client, PacketTypes, v5props, wait_for


def record(broker, clientid):
    return broker.run(broker.control.get_client(clientid))


def fresh(broker, clientid):
    def build():
        b = broker.broker
        s = b.sessions[clientid]
        return client_info(b, s, s.channel or b.last_channels.get(clientid))

    return broker.call(build)


def changed(broker, clientid, before):
    """The record after a change: a new object, equal to a fresh build, and different from before."""

    def settled():
        now = record(broker, clientid)
        return now is not before and now == fresh(broker, clientid)

    wait_for(settled)
    after = record(broker, clientid)
    assert after != before
    return after


def test_unchanged_client_gets_the_same_record(broker):
    Client(broker, "idle")
    first = record(broker, "idle")
    assert record(broker, "idle") is first
    page = broker.run(broker.control.list_clients(ClientQuery(), offset=0, limit=10))
    assert page.items[0] is first


def test_every_kind_of_change_renews_the_record(broker):
    ctl = broker.control
    sub = Client(
        broker, "watched", v5=True, clean=False, properties=v5props(PacketTypes.CONNECT, SessionExpiryInterval=300)
    )
    sub.subscribe("w/#", 1)
    pub = Client(broker, "talker")
    r = record(broker, "watched")

    pub.publish("w/1", b"x", qos=1)  # delivered: send counters, inflight and back
    sub.expect()
    r = changed(broker, "watched", r)
    assert r.send_msg == 1 and r.send_msg_qos1 == 1

    broker.run(ctl.set_keepalive("watched", 77))  # no packet at all
    r = changed(broker, "watched", r)
    assert r.keepalive == 77

    broker.run(ctl.subscribe("watched", [SubscribeRequest(topic="more/#")]))  # on behalf: no packet
    r = changed(broker, "watched", r)
    assert r.subscriptions_cnt == 2

    config = broker.run(ctl.get_config())
    broker.run(ctl.apply_config(attrs.evolve(config, max_subscriptions=9)))
    r = changed(broker, "watched", r)
    assert r.subscriptions_max == 9

    sub.disconnect()
    r = changed(broker, "watched", r)
    assert not r.connected and r.disconnected_at is not None

    pub.publish("w/2", b"queued", qos=1)  # offline: into the queue, no channel involved
    r = changed(broker, "watched", r)
    assert r.mqueue_len == 1 and r.enqueue_msg == 1
    assert record(broker, "watched") is r


def test_full_queue_drops_renew_the_record(make_broker):
    broker = make_broker(max_mqueue_len=1)
    c = Client(broker, "full", clean=False)
    c.subscribe("q/#", 1)
    c.disconnect()
    wait_for(lambda: not record(broker, "full").connected)
    pub = Client(broker)
    r = record(broker, "full")
    pub.publish("q/1", b"1", qos=1)
    r = changed(broker, "full", r)
    pub.publish("q/2", b"2", qos=1)  # the queue is full: the oldest gives way, the length stays 1
    r = changed(broker, "full", r)
    assert r.mqueue_len == 1 and r.mqueue_dropped == 1


def test_an_ended_session_leaves_the_memo_and_a_new_one_gets_its_own_record(broker):
    first = Client(broker, "gone", clean=False)
    old = record(broker, "gone")
    assert broker.call(lambda: "gone" in broker.control.records.memo)
    first.disconnect()
    broker.run(broker.control.kick_client("gone"))  # the offline session is discarded
    assert broker.call(lambda: "gone" not in broker.control.records.memo)
    again = Client(broker, "gone")
    try:
        new = record(broker, "gone")
        assert new is not old and new == fresh(broker, "gone") and new.connected
    finally:
        again.disconnect()
