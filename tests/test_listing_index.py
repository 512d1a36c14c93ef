"""Listings read from the broker's index (broker.client_index, broker.control.plan) answer exactly what a
plain scan of every session's record answers: every filter alone and in combinations, every page, the
totals and the cursor form, over sessions real clients put through connects, resumes under a new
username, takeovers, queues filling and draining, drops, kicks, and other addresses and protocol levels.
"""

import socket
import time

import pytest

from broker.topics import topic_matches
from schemas.records import ClientInfo, ClientQuery, Subscription, SubscriptionQuery
from schemas.topics import parse_share
from tests.mqtt_helpers import TIMEOUT, Client, PacketTypes, connect_bytes, v5props, wait_for


def raw_client(rb, clientid: str, *, source: str, level: int, clean: bool) -> socket.socket:
    """A 3.1 / 3.1.1 client from another loopback address (paho cannot choose its source address)."""
    s = socket.create_connection(("127.0.0.1", rb.port()), timeout=TIMEOUT, source_address=(source, 0))
    s.sendall(connect_bytes(clientid, level=level, clean=clean))
    assert s.recv(4)[3] == 0
    return s


def offline(rb, clientid):
    wait_for(lambda: rb.call(lambda: clientid not in rb.broker.channels))


@pytest.fixture
def crowd(make_broker):
    """A broker whose sessions differ in every way a client filter looks at; returns (broker, marks)."""
    rb = make_broker(max_mqueue_len=3)
    keep = []
    for i, user in enumerate(["ann", "bob", None, "ann", "carol"]):
        keep.append(Client(rb, f"live-{i}", username=user))
    time.sleep(0.02)
    marks = {"mid": time.time()}
    time.sleep(0.02)
    keep.append(Client(rb, "v5-a", v5=True, username="bob"))
    keep.append(Client(rb, "v5-b", v5=True, properties=v5props(PacketTypes.CONNECT, SessionExpiryInterval=300)))
    for i, topic in enumerate(["q/#", "q/#", "q/1", None]):
        c = Client(rb, f"sleep-{i}", clean=False, username="dora")
        if topic:
            c.subscribe(topic, 1)
        c.disconnect()
        offline(rb, f"sleep-{i}")
    publisher = Client(rb, "pub", username="bob")
    keep.append(publisher)
    for n in range(5):  # sleep-0 and -1 keep 3 of 5 and drop 2; sleep-2 keeps 1
        publisher.publish(f"q/{n}", b"x", qos=1)
    wait_for(lambda: rb.call(lambda: len(rb.broker.sessions["sleep-0"].mqueue) == 3))
    marks["late"] = time.time()
    # Resumed under another username: its queue drains to it, it leaves the old username's bucket.
    keep.append(Client(rb, "sleep-1", clean=False, username="erin"))
    wait_for(lambda: rb.call(lambda: not rb.broker.sessions["sleep-1"].mqueue))
    # Another address and protocol level (3.1: "MQIsdp"), one gone offline with its session kept.
    keep.append(raw_client(rb, "old-live", source="127.0.0.2", level=3, clean=True))
    raw_client(rb, "old-gone", source="127.0.0.2", level=3, clean=False).close()
    offline(rb, "old-gone")
    # A takeover, and kicked sessions (one live, one offline) that must leave every index. The clients
    # that lose their connection stop their loop first, or paho would connect them again.
    Client(rb, "twin", username="ann").c.loop_stop()
    keep.append(Client(rb, "twin", username="bob"))
    Client(rb, "doomed", username="carol").c.loop_stop()
    rb.run(rb.control.kick_client("doomed"))
    Client(rb, "doomed-later", clean=False).disconnect()
    offline(rb, "doomed-later")
    rb.run(rb.control.kick_client("doomed-later"))
    for c in keep[:3]:
        if isinstance(c, Client):
            c.subscribe("a/b", 2)
    keep[0].subscribe("$share/g1/q/+", 1)
    keep[1].subscribe("$queue/q/1", 0)
    keep[5].subscribe("+/b", 1)
    yield rb, marks, keep
    for c in keep:
        if isinstance(c, Client):
            c.disconnect()
        else:
            c.close()


def records(rb) -> list[ClientInfo]:
    ids = rb.call(lambda: sorted(rb.broker.sessions, reverse=True))
    return [rb.run(rb.control.get_client(cid)) for cid in ids]


def passes(q: ClientQuery, c: ClientInfo) -> bool:
    """The filter rules, read off the records (a session never connected here has no address)."""
    here = c.ip_address is not None

    def within(value, lo, hi):
        return value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)

    return all(
        (
            q.clientid is None or c.clientid in q.clientid,
            q.username is None or c.username in q.username,
            q.like_clientid is None or q.like_clientid in c.clientid,
            q.like_username is None or (c.username is not None and q.like_username in c.username),
            q.conn_state is None or q.conn_state == ("connected" if c.connected else "disconnected"),
            q.clean_start is None or c.clean_start == q.clean_start,
            q.ip_address is None or c.ip_address == q.ip_address,
            q.proto_ver is None or (here and c.proto_ver == q.proto_ver),
            q.proto_name is None or (here and c.proto_name == q.proto_name),
            within(c.created_at, q.gte_created_at, q.lte_created_at),
            (q.gte_connected_at, q.lte_connected_at) == (None, None)
            or within(c.connected_at, q.gte_connected_at, q.lte_connected_at),
            within(c.mqueue_len, q.gte_mqueue_len, q.lte_mqueue_len),
            within(c.mqueue_dropped, q.gte_mqueue_dropped, q.lte_mqueue_dropped),
        )
    )


def client_queries(marks) -> list[ClientQuery]:
    mid, late = marks["mid"], marks["late"]
    return [
        ClientQuery(),
        ClientQuery(clientid=["live-1", "sleep-2", "nope", "live-1"]),
        ClientQuery(username=["ann"]),
        ClientQuery(username=["ann", "bob", "zed"]),
        ClientQuery(username=["dora"]),
        ClientQuery(username=["erin"]),
        ClientQuery(like_clientid="eep"),
        ClientQuery(like_username="o"),
        ClientQuery(conn_state="connected"),
        ClientQuery(conn_state="disconnected"),
        ClientQuery(conn_state="idle"),
        ClientQuery(clean_start=True),
        ClientQuery(clean_start=False),
        ClientQuery(ip_address="127.0.0.2"),
        ClientQuery(ip_address="127.0.0.1"),
        ClientQuery(proto_ver=3),
        ClientQuery(proto_ver=4),
        ClientQuery(proto_ver=5),
        ClientQuery(proto_name="MQIsdp"),
        ClientQuery(proto_name="MQTT"),
        ClientQuery(gte_created_at=mid),
        ClientQuery(lte_created_at=mid),
        ClientQuery(gte_created_at=mid, lte_created_at=late),
        ClientQuery(gte_connected_at=late),
        ClientQuery(lte_connected_at=mid),
        ClientQuery(gte_created_at=late, lte_created_at=mid),
        ClientQuery(gte_mqueue_len=1),
        ClientQuery(gte_mqueue_len=3),
        ClientQuery(lte_mqueue_len=0),
        ClientQuery(lte_mqueue_len=2),
        ClientQuery(gte_mqueue_len=1, lte_mqueue_len=2),
        ClientQuery(lte_mqueue_len=-1),
        ClientQuery(gte_mqueue_len=0),
        ClientQuery(gte_mqueue_dropped=1),
        ClientQuery(lte_mqueue_dropped=0),
        ClientQuery(conn_state="disconnected", username=["dora"]),
        ClientQuery(clean_start=False, gte_mqueue_len=1),
        ClientQuery(like_clientid="live", conn_state="connected"),
        ClientQuery(proto_ver=4, ip_address="127.0.0.1", lte_created_at=mid),
        ClientQuery(username=["bob"], gte_created_at=mid, like_clientid="-"),
        ClientQuery(conn_state="connected", clean_start=True, proto_name="MQTT", lte_mqueue_dropped=0),
        ClientQuery(conn_state="disconnected", proto_ver=3),
        ClientQuery(conn_state="connected", clean_start=False, proto_name="MQTT"),
        ClientQuery(conn_state="idle", proto_ver=4),
        ClientQuery(clean_start=False, proto_ver=4, like_clientid="s"),
    ]


def pages(rb, q: ClientQuery, size: int) -> tuple[list[str], set]:
    """Every page of the offset listing: the ids in order, and the (total, hasnext) each page said."""
    seen, said, offset = [], set(), 0
    while True:
        page = rb.run(rb.control.list_clients(q, offset=offset, limit=size))
        seen += [c.clientid for c in page.items]
        said.add(page.total)
        if not page.hasnext:
            assert len(page.items) <= size
            return seen, said
        assert len(page.items) == size
        offset += size


def cursor_pages(rb, q: ClientQuery, size: int) -> list[str]:
    seen, cursor = [], None
    while True:
        page = rb.run(rb.control.list_clients_cursor(q, cursor=cursor, limit=size))
        seen += [c.clientid for c in page.items]
        if page.cursor is None:
            return seen
        cursor = page.cursor


def test_every_client_filter_lists_what_a_scan_finds(crowd):
    rb, marks, _ = crowd
    everyone = records(rb)
    assert {"doomed", "doomed-later"} & {c.clientid for c in everyone} == set()
    assert len(everyone) == 15
    for q in client_queries(marks):
        expected = [c.clientid for c in everyone if passes(q, c)]
        counted = q.exact_only or q.clientid is not None
        for size in (1, 2, 5, 100):
            got, totals = pages(rb, q, size)
            assert got == expected, (q, size)
            assert totals == ({len(expected)} if counted else {None}), q
        assert cursor_pages(rb, q, 2) == expected, q
        beyond = rb.run(rb.control.list_clients(q, offset=len(expected) + 3, limit=5))
        assert beyond.items == [] and not beyond.hasnext
    # The queue sets hold exactly the sessions with a queue / with drops (a stale member would only cost
    # time, so the listings above cannot tell).
    queued = {c.clientid for c in everyone if c.mqueue_len}
    dropping = {c.clientid for c in everyone if c.mqueue_dropped}
    assert (queued, dropping) == ({"sleep-0", "sleep-2"}, {"sleep-0", "sleep-1"})
    assert rb.call(lambda: (rb.broker.index.queued, rb.broker.index.dropping)) == (queued, dropping)
    by_user = rb.run(rb.control.clients_by_username("bob"))
    assert [c.clientid for c in by_user] == [c.clientid for c in everyone if c.username == "bob"]


def sub_rows(rb) -> list[Subscription]:
    out = []
    for c in records(rb):
        out += rb.run(rb.control.client_subscriptions(c.clientid))
    return out


def keeps(q: SubscriptionQuery, s: Subscription) -> bool:
    return all(
        (
            q.clientid is None or s.clientid == q.clientid,
            q.qos is None or s.qos == q.qos,
            q.topic is None or s.topic == q.topic,
            q.share_group is None or s.share_group == q.share_group,
            q.match_topic is None or topic_matches(parse_share(s.topic)[1], q.match_topic),
        )
    )


def test_every_subscription_filter_lists_what_a_scan_finds(crowd):
    rb, _, _ = crowd
    everything = sub_rows(rb)
    assert len(everything) == 9
    queries = [
        SubscriptionQuery(),
        SubscriptionQuery(clientid="sleep-0"),
        SubscriptionQuery(clientid="live-0"),
        SubscriptionQuery(clientid="nobody"),
        SubscriptionQuery(topic="q/#"),
        SubscriptionQuery(topic="a/b"),
        SubscriptionQuery(topic="$share/g1/q/+"),
        SubscriptionQuery(topic="$queue/q/1"),
        SubscriptionQuery(topic="none/such"),
        SubscriptionQuery(qos=0),
        SubscriptionQuery(qos=1),
        SubscriptionQuery(qos=2),
        SubscriptionQuery(share_group="g1"),
        SubscriptionQuery(share_group="$queue"),
        SubscriptionQuery(match_topic="q/1"),
        SubscriptionQuery(match_topic="a/b"),
        SubscriptionQuery(qos=1, match_topic="q/1"),
        SubscriptionQuery(clientid="live-0", qos=2),
        SubscriptionQuery(topic="a/b", qos=2, clientid="live-1"),
        SubscriptionQuery(share_group="g1", qos=0),
    ]
    for q in queries:
        expected = [(s.clientid, s.topic) for s in everything if keeps(q, s)]
        for size in (1, 3, 100):
            got, offset = [], 0
            while True:
                page = rb.run(rb.control.list_subscriptions(q, offset=offset, limit=size))
                got += [(s.clientid, s.topic) for s in page.items]
                assert page.total == (None if q.match_topic is not None else len(expected)), q
                if not page.hasnext:
                    break
                offset += size
            assert got == expected, (q, size)


def test_the_index_lets_go_of_every_session(crowd):
    rb, _, clients = crowd
    for c in clients:
        if isinstance(c, Client):
            c.disconnect()
        else:
            c.close()
    wait_for(lambda: rb.call(lambda: not rb.broker.channels))
    for cid in rb.call(lambda: list(rb.broker.sessions)):
        rb.run(rb.control.kick_client(cid))
    index = rb.broker.index
    assert rb.call(
        lambda: (
            len(index),
            len(index.subscribed),
            index.qos_counts,
            index.queued,
            index.dropping,
            len(index.created),
            len(index.connected),
            index.by_state.count("connected") + index.by_state.count("disconnected"),
            index.by_kind.values() + index.by_username.values() + index.by_peerhost.values(),
        )
    ) == (0, 0, [0, 0, 0], set(), set(), 0, 0, 0, [])
