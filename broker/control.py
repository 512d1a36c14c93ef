"""``schemas.control.BrokerControl`` implemented over the in-process Broker and its MQTTServer.

Everything the dialects show is derived here from live broker state; nothing is invented, and the
one thing remembered (ClientRecords) is handed out only while the state it came from is unchanged.
Listings walk the broker's sorted client-id index, so an unfiltered page costs O(page).

This layer reads broker state to build records, and checks the shape of what it is asked; every
change is a Broker command, which applies the broker's own rules. A refusal by those rules (an MQTT
reason code) becomes a ``schemas.errors`` type in one place, ``refusal_error``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import ipaddress
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from itertools import islice

import attrs

from schemas.errors import (
    Conflict,
    ControlError,
    Denied,
    InvalidArgument,
    LimitExceeded,
    NotFound,
    NotSupported,
    Unavailable,
)
from schemas.records import (
    BAN_KINDS,
    CONN_STATES,
    Alarm,
    BannedEntry,
    BrokerConfig,
    ClientInfo,
    ClientQuery,
    Feature,
    ListenerInfo,
    MetricsSnapshot,
    NodeInfo,
    Page,
    PublishRequest,
    PublishResult,
    RetainedMessage,
    Route,
    StatsSnapshot,
    SubscribeRequest,
    Subscription,
    SubscriptionQuery,
    TopicTreeNode,
)

from . import osinfo
from . import packets as pk
from .admission import Refusal
from .channel import Channel
from .constants import ReasonCode
from .core import FEATURES, Broker
from .errors import MQTTError
from .message import Message
from .server import MQTTServer
from .session import Session, SubOptions
from .stats import gauges
from .sys_topics import SYSDESCR, VERSION
from .topics import parse_share, topic_matches, validate_topic_filter, validate_topic_name


def _client_info(b: Broker, s: Session, ch: Channel | None) -> ClientInfo:
    cfg = b.config
    info = ClientInfo(
        clientid=s.clientid,
        username=s.username,
        node=cfg.node_name,
        ip_address=None,
        port=None,
        listener=None,
        connected=s.channel is not None,
        connected_at=None,
        disconnected_at=s.disconnected_at,
        created_at=s.created_at,
        keepalive=0,
        clean_start=s.clean_start,
        expiry_interval=s.expiry_interval,
        proto_name="MQTT",
        proto_ver=4,
        subscriptions_cnt=len(s.subscriptions),
        subscriptions_max=cfg.max_subscriptions,
        inflight_cnt=len(s.inflight),
        inflight_max=s.max_inflight,
        mqueue_len=len(s.mqueue),
        mqueue_max=s.max_mqueue_len,
        mqueue_dropped=s.mqueue_dropped,
        awaiting_rel_cnt=len(s.awaiting_rel),
        awaiting_rel_max=s.max_awaiting_rel,
        deliver_msg=s.deliver_msg,
        enqueue_msg=s.enqueue_msg,
    )
    if ch is not None:
        info.ip_address, info.port, info.listener = ch.peerhost, ch.peerport, ch.listener_id
        info.connected_at, info.keepalive = ch.connected_at, ch.keepalive
        info.proto_name, info.proto_ver, info.is_bridge = ch.proto_name, ch.version, ch.is_bridge
        info.inflight_max = min(s.max_inflight, ch.inflight_limit)
        info.recv_oct, info.send_oct, info.recv_cnt, info.send_cnt = ch.recv_oct, ch.send_oct, ch.recv_cnt, ch.send_cnt
        info.recv_pkt, info.send_pkt, info.recv_msg, info.send_msg = ch.recv_pkt, ch.send_pkt, ch.recv_msg, ch.send_msg
        info.recv_msg_qos0, info.recv_msg_qos1, info.recv_msg_qos2 = ch.recv_qos
        info.send_msg_qos0, info.send_msg_qos1, info.send_msg_qos2 = ch.send_qos
        info.recv_msg_dropped = ch.recv_dropped + ch.recv_dropped_rel_timeout
        info.recv_msg_dropped_await_pubrel_timeout = ch.recv_dropped_rel_timeout
        info.send_msg_dropped = ch.send_dropped
        info.send_msg_dropped_expired = ch.send_dropped_expired
        info.send_msg_dropped_queue_full = ch.send_dropped_queue_full
        info.send_msg_dropped_too_large = ch.send_dropped_too_large
        if ch.will is not None and s.channel is not None:
            info.will_topic, info.will_msg = ch.will.topic, ch.will.payload
    return info


class ClientRecords:
    """ClientInfo records, each rebuilt only when the state it is derived from has moved.

    Dashboards list the same page of mostly idle clients again and again; handing out the same record
    while nothing changed lets a dialect keep the row it rendered from it (records are shared: never
    mutated after they leave here). The stamp holds every input of the record that can change while
    the session and its channel stay the same: the byte counters move with every packet in or out
    (and with them every packet and message counter), the rest change without traffic (queue and
    table sizes, drops on a full queue or a timeout, keepalive set over the API, the config object).
    """

    MAX = 10_000  # remembered records; beyond that the memo starts over rather than grow with the clients

    __slots__ = ("broker", "memo")

    def __init__(self, broker: Broker):
        self.broker = broker
        self.memo: dict[str, tuple[tuple, ClientInfo]] = {}

    def __call__(self, s: Session) -> ClientInfo:
        b = self.broker
        live = s.channel
        ch = live or b.last_channels.get(s.clientid)
        stamp: tuple = (
            s,
            ch,
            b.config,
            s.username,
            s.disconnected_at,
            s.expiry_interval,
            s.enqueue_msg,
            s.deliver_msg,
            s.mqueue_dropped,
            len(s.subscriptions),
            len(s.inflight),
            len(s.mqueue),
            len(s.awaiting_rel),
        )
        if ch is not None:
            stamp += (
                live is None,
                ch.will,
                ch.recv_oct,
                ch.send_oct,
                ch.keepalive,
                ch.send_dropped,
                ch.recv_dropped,
                ch.recv_dropped_rel_timeout,
            )
        memo = self.memo
        hit = memo.get(s.clientid)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        if len(memo) >= self.MAX:
            memo.clear()
        info = memo[s.clientid] = (stamp, _client_info(b, s, ch))
        return info[1]


def _sub_record(b: Broker, clientid: str, o: SubOptions) -> Subscription:
    return Subscription(
        clientid=clientid,
        topic=o.filter,
        qos=o.qos,
        node=b.config.node_name,
        share_group=o.group,
        no_local=o.no_local,
        retain_as_published=o.retain_as_published,
        retain_handling=o.retain_handling,
        subscription_id=o.sub_id,
    )


def _retained_record(msg: Message, with_payload: bool = True) -> RetainedMessage:
    return RetainedMessage(
        topic=msg.topic,
        qos=msg.qos,
        payload=msg.payload if with_payload else b"",
        msgid=msg.msgid_hex,
        publish_at=msg.timestamp,
        from_clientid=msg.from_clientid,
        from_username=msg.from_username,
        properties=dict(msg.properties),
    )


def _client_matches(q: ClientQuery, info_src: Session, b: Broker) -> bool:
    s = info_src
    ch = s.channel or b.last_channels.get(s.clientid)
    if q.clientid is not None and s.clientid not in q.clientid:
        return False
    if q.username is not None and s.username not in q.username:
        return False
    if q.like_clientid is not None and q.like_clientid not in s.clientid:
        return False
    if q.like_username is not None and (s.username is None or q.like_username not in s.username):
        return False
    if q.conn_state is not None:
        state = "connected" if s.channel is not None else "disconnected"
        if q.conn_state != state:
            return False
    if q.clean_start is not None and s.clean_start != q.clean_start:
        return False
    if q.ip_address is not None and (ch is None or ch.peerhost != q.ip_address):
        return False
    if q.proto_ver is not None and (ch is None or ch.version != q.proto_ver):
        return False
    if q.gte_created_at is not None and s.created_at < q.gte_created_at:
        return False
    if q.lte_created_at is not None and s.created_at > q.lte_created_at:
        return False
    if q.proto_name is not None and (ch is None or ch.proto_name != q.proto_name):
        return False
    if q.gte_mqueue_len is not None and len(s.mqueue) < q.gte_mqueue_len:
        return False
    if q.lte_mqueue_len is not None and len(s.mqueue) > q.lte_mqueue_len:
        return False
    if q.gte_mqueue_dropped is not None and s.mqueue_dropped < q.gte_mqueue_dropped:
        return False
    if q.lte_mqueue_dropped is not None and s.mqueue_dropped > q.lte_mqueue_dropped:
        return False
    if q.gte_connected_at is not None or q.lte_connected_at is not None:
        at = ch.connected_at if ch is not None else None
        if at is None:
            return False
        if q.gte_connected_at is not None and at < q.gte_connected_at:
            return False
        if q.lte_connected_at is not None and at > q.lte_connected_at:
            return False
    return True


def _is_unfiltered(q: ClientQuery) -> bool:
    return all(v is None for v in attrs.astuple(q))


def _encode_cursor(clientid: str) -> str:
    return base64.urlsafe_b64encode(clientid.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise InvalidArgument("bad cursor", field="cursor") from e


def refusal_error(refusal: Refusal) -> ControlError:
    """The error for a request the broker's rules refused, with the reason code MQTT would answer."""
    code = refusal.reason_code
    if code == ReasonCode.TOPIC_FILTER_INVALID:
        return InvalidArgument(refusal.message, field="topic", reason_code=code)
    if code == ReasonCode.PROTOCOL_ERROR:
        return InvalidArgument(refusal.message, field="no_local", reason_code=code)
    if code in (ReasonCode.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED, ReasonCode.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED):
        return NotSupported(refusal.message, kind="subscription", reason_code=code)
    if code == ReasonCode.NOT_AUTHORIZED:
        return Denied(refusal.message, kind="subscription", reason_code=code)
    if code == ReasonCode.QUOTA_EXCEEDED:
        return LimitExceeded(refusal.message, kind="subscription", reason_code=code)
    raise AssertionError(f"no error type for reason code 0x{code:02X}")


class BrokerController:
    """The broker as the adapters see it."""

    def __init__(self, broker: Broker, server: MQTTServer):
        self.broker = broker
        self.server = server
        self.records = ClientRecords(broker)
        # Features the gateway owns (e.g. MQTT auth against its account store): name -> (description,
        # getter, setter). They are listed and toggled exactly like the broker's own.
        self._extra_features: dict[str, tuple[str, Callable[[], bool], Callable[[bool], None]]] = {}
        self.pending_config: BrokerConfig | None = None

    def register_feature(
        self, name: str, description: str, get: Callable[[], bool], set_: Callable[[bool], None]
    ) -> None:
        self._extra_features[name] = (description, get, set_)

    # ------------------------------------------------------------------ node

    @property
    def node_name(self) -> str:
        return self.broker.config.node_name

    @property
    def running(self) -> bool:
        return self.broker.running

    async def node_info(self) -> NodeInfo:
        b = self.broker
        now = time.time()
        total, used = osinfo.memory_total(), osinfo.process_rss()
        load1, load5, load15 = os.getloadavg()
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        try:
            fds = len(os.listdir(f"/proc/{os.getpid()}/fd"))
        except OSError:
            fds = 0
        return NodeInfo(
            node=b.config.node_name,
            node_status="running" if b.running else "stopped",
            version=VERSION,
            sysdescr=SYSDESCR,
            uptime=now - b.started_at,
            started_at=b.started_at,
            datetime=now,
            connections=len(b.sessions),
            live_connections=len(b.channels),
            load1=load1,
            load5=load5,
            load15=load15,
            memory_total=total,
            memory_used=used,
            max_fds=soft,
            process_available=soft,
            process_used=fds,
            os_pid=os.getpid(),
            python_version=sys.version.split()[0],
        )

    async def metrics(self) -> MetricsSnapshot:
        return MetricsSnapshot(node=self.node_name, counters=dict(self.broker.metrics.counters))

    async def stats(self) -> StatsSnapshot:
        b = self.broker
        return StatsSnapshot(node=self.node_name, stats=b.metrics.stats(gauges(b)))

    # ------------------------------------------------------------------ clients

    def _session(self, clientid: str) -> Session:
        s = self.broker.sessions.get(clientid)
        if s is None:
            raise NotFound(f"client {clientid!r} not found", kind="client")
        return s

    def _descending(self, before: str | None = None) -> Iterator[str]:
        ids = self.broker.sorted_ids
        end = len(ids) if before is None else bisect.bisect_left(ids, before)
        for i in range(end - 1, -1, -1):
            yield ids[i]

    def _validate_query(self, q: ClientQuery) -> None:
        if q.ip_address is not None:
            try:
                ipaddress.ip_address(q.ip_address)
            except ValueError as e:
                raise InvalidArgument(
                    f"the ip_address parameter expected type is ip, but the value is {q.ip_address}", field="ip_address"
                ) from e
        if q.conn_state is not None and q.conn_state not in CONN_STATES:
            raise InvalidArgument(f"bad conn_state {q.conn_state!r}", field="conn_state")

    async def list_clients(self, query: ClientQuery, *, offset: int, limit: int) -> Page[ClientInfo]:
        b = self.broker
        records = self.records
        self._validate_query(query)
        ids = b.sorted_ids
        if _is_unfiltered(query):
            n = len(ids)
            hi = max(n - offset, 0)
            lo = max(hi - limit, 0)
            items = [records(b.sessions[cid]) for cid in reversed(ids[lo:hi])]
            return Page(items=items, total=n, hasnext=lo > 0)
        if query.clientid is not None:
            # Exact ids: look them up rather than scan.
            found = sorted({cid for cid in query.clientid if cid in b.sessions}, reverse=True)
            rows = [b.sessions[cid] for cid in found if _client_matches(query, b.sessions[cid], b)]
            return Page(
                items=[records(s) for s in rows[offset : offset + limit]],
                total=len(rows),
                hasnext=offset + limit < len(rows),
            )
        matching = (b.sessions[cid] for cid in self._descending() if _client_matches(query, b.sessions[cid], b))
        if query.exact_only:
            rows = list(matching)
            page = rows[offset : offset + limit]
            return Page(items=[records(s) for s in page], total=len(rows), hasnext=offset + limit < len(rows))
        page = list(islice(matching, offset, offset + limit + 1))
        return Page(items=[records(s) for s in page[:limit]], total=None, hasnext=len(page) > limit)

    async def list_clients_cursor(self, query: ClientQuery, *, cursor: str | None, limit: int) -> Page[ClientInfo]:
        b = self.broker
        records = self.records
        self._validate_query(query)
        before = _decode_cursor(cursor) if cursor else None
        rows = list(
            islice(
                (b.sessions[cid] for cid in self._descending(before) if _client_matches(query, b.sessions[cid], b)),
                limit + 1,
            )
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            items=[records(s) for s in rows],
            total=len(rows),
            hasnext=more,
            cursor=_encode_cursor(rows[-1].clientid) if more else None,
        )

    async def get_client(self, clientid: str) -> ClientInfo:
        return self.records(self._session(clientid))

    async def clients_by_username(self, username: str) -> list[ClientInfo]:
        b = self.broker
        records = self.records
        return [records(b.sessions[cid]) for cid in self._descending() if b.sessions[cid].username == username]

    async def kick_client(self, clientid: str, *, discard_session: bool = True) -> None:
        if not self.broker.kick(clientid, discard_session):
            raise NotFound(f"client {clientid!r} not found", kind="client")

    async def set_keepalive(self, clientid: str, interval: int) -> ClientInfo:
        if not 0 <= interval <= 65535:
            raise InvalidArgument("keepalive must be 0..65535", field="interval")
        s = self._session(clientid)
        if not self.broker.set_keepalive(clientid, interval):
            raise NotFound(f"client {clientid!r} is not connected", kind="client")
        return self.records(s)

    # ------------------------------------------------------------------ subscriptions

    def _all_subscriptions(self) -> Iterator[tuple[str, SubOptions]]:
        b = self.broker
        for cid in self._descending():
            for o in b.sessions[cid].subscriptions.values():
                yield cid, o

    async def list_subscriptions(self, query: SubscriptionQuery, *, offset: int, limit: int) -> Page[Subscription]:
        b = self.broker
        q = query
        if q.match_topic is not None:
            try:
                validate_topic_name(q.match_topic)
            except MQTTError as e:
                raise InvalidArgument("match_topic_invalid", field="match_topic") from e
            if q.match_topic.startswith(("$share/", "$queue/")):
                raise InvalidArgument("match_topic_invalid", field="match_topic")
        if q.qos is not None and q.qos not in (0, 1, 2):
            raise InvalidArgument("qos must be 0, 1 or 2", field="qos")

        def keep(cid: str, o: SubOptions) -> bool:
            if q.clientid is not None and cid != q.clientid:
                return False
            if q.qos is not None and o.qos != q.qos:
                return False
            if q.topic is not None and (o.group is not None or o.topic_filter != q.topic) and o.filter != q.topic:
                return False
            if q.share_group is not None and o.group != q.share_group:
                return False
            if q.match_topic is not None and not topic_matches(o.topic_filter, q.match_topic):
                return False
            return True

        source: Iterator[tuple[str, SubOptions]]
        if q.clientid is not None:
            s = b.sessions.get(q.clientid)
            source = ((q.clientid, o) for o in (s.subscriptions.values() if s else ()))
        else:
            source = self._all_subscriptions()
        unfiltered = all(v is None for v in attrs.astuple(q))
        if unfiltered:
            total = b.subscription_count()
            page = list(islice(source, offset, offset + limit))
            return Page(items=[_sub_record(b, c, o) for c, o in page], total=total, hasnext=offset + len(page) < total)
        matching = ((c, o) for c, o in source if keep(c, o))
        if q.match_topic is None:
            rows = list(matching)
            return Page(
                items=[_sub_record(b, c, o) for c, o in rows[offset : offset + limit]],
                total=len(rows),
                hasnext=offset + limit < len(rows),
            )
        page = list(islice(matching, offset, offset + limit + 1))
        return Page(items=[_sub_record(b, c, o) for c, o in page[:limit]], total=None, hasnext=len(page) > limit)

    async def client_subscriptions(self, clientid: str) -> list[Subscription]:
        s = self._session(clientid)
        return [_sub_record(self.broker, clientid, o) for o in s.subscriptions.values()]

    async def subscribe(self, clientid: str, requests: list[SubscribeRequest]) -> list[Subscription]:
        s = self._session(clientid)
        for r in requests:
            if r.qos not in (0, 1, 2) or r.retain_handling not in (0, 1, 2):
                raise InvalidArgument("qos and retain handling must be 0, 1 or 2", field="qos")
        granted = self.broker.subscribe_for(
            s,
            [
                pk.SubscriptionRequest(r.topic, r.qos, r.no_local, r.retain_as_published, r.retain_handling)
                for r in requests
            ],
        )
        if isinstance(granted, Refusal):
            raise refusal_error(granted)
        return [_sub_record(self.broker, clientid, o) for o in granted]

    async def unsubscribe(self, clientid: str, topics: list[str]) -> None:
        self.broker.unsubscribe(self._session(clientid), topics, "api")

    # ------------------------------------------------------------------ routing

    async def publish(self, request: PublishRequest) -> PublishResult:
        try:
            validate_topic_name(request.topic)
        except MQTTError as e:
            raise InvalidArgument(f"invalid topic name {request.topic!r}", field="topic") from e
        if request.qos not in (0, 1, 2):
            raise InvalidArgument("qos must be 0, 1 or 2", field="qos")
        if not self.broker.running:
            raise Unavailable("broker is stopped", kind="node")
        msg = Message.create(
            request.topic,
            request.payload,
            request.qos,
            request.retain,
            dict(request.properties),
            request.clientid,
            request.username,
        )
        matched = self.broker.route(msg, request.clientid)
        return PublishResult(id=msg.msgid_hex, matched=matched)

    def _route_keys(self) -> Iterator[str]:
        b = self.broker
        yield from b.trie.filters()
        for f in b.shared.filters():
            for group in b.shared.get(f) or ():
                yield f"$share/{group}/{f}" if group != "$queue" else f"$queue/{f}"

    async def list_routes(self, *, topic: str | None, offset: int, limit: int) -> Page[Route]:
        node = self.node_name
        if topic is not None:
            try:
                validate_topic_filter(topic)
            except MQTTError as e:
                raise InvalidArgument("topic_filter_invalid", field="topic") from e
            rows = [Route(topic=topic, node=node)] if topic in set(self._route_keys()) else []
            return Page(items=rows[offset : offset + limit], total=len(rows), hasnext=False)
        total = self._route_count()
        page = list(islice(self._route_keys(), offset, offset + limit))
        return Page(items=[Route(topic=t, node=node) for t in page], total=total, hasnext=offset + len(page) < total)

    def _route_count(self) -> int:
        b = self.broker
        return len(b.trie) + sum(len(b.shared.get(f) or ()) for f in b.shared.filters())

    async def get_routes(self, topic: str) -> list[Route]:
        b = self.broker
        group, real = parse_share(topic)
        if group is None:
            found = bool(b.trie.get(topic))
        else:
            groups = b.shared.get(real)
            found = bool(groups and group in groups)
        if not found:
            raise NotFound("Topic not found", kind="topic")
        return [Route(topic=topic, node=self.node_name)]

    async def topic_tree(self) -> list[list[TopicTreeNode]]:
        b = self.broker
        # Rebuild the level tree of every plain filter with the ids subscribed exactly there.
        root: dict = {}
        for f in b.trie.filters():
            node = root
            for level in f.split("/"):
                node = node.setdefault(level, {})
            node.setdefault(None, []).extend(sorted((b.trie.get(f) or {}).keys()))
        levels: list[list[TopicTreeNode]] = [
            [TopicTreeNode(topic="", cld_cnt=len([k for k in root if k is not None]), clientid=[])]
        ]
        current = [root]
        while True:
            nxt_nodes, row = [], []
            for node in current:
                for name, child in node.items():
                    if name is None:
                        continue
                    row.append(
                        TopicTreeNode(
                            topic=name,
                            cld_cnt=len([k for k in child if k is not None]),
                            clientid=list(child.get(None, [])),
                        )
                    )
                    nxt_nodes.append(child)
            if not row:
                return levels
            levels.append(row)
            current = nxt_nodes

    # ------------------------------------------------------------------ retained

    async def list_retained(self, *, topic: str | None, offset: int, limit: int) -> Page[RetainedMessage]:
        store = self.broker.retained
        if topic is not None:
            try:
                validate_topic_filter(topic)
            except MQTTError as e:
                raise InvalidArgument("topic_filter_invalid", field="topic") from e
            rows = store.match(topic)
            return Page(
                items=[_retained_record(m, False) for m in rows[offset : offset + limit]],
                total=None,
                hasnext=offset + limit < len(rows),
            )
        page = store.page(offset, limit)
        total = len(store)
        return Page(
            items=[_retained_record(m, False) for _t, m in page], total=total, hasnext=offset + len(page) < total
        )

    async def get_retained(self, topic: str) -> RetainedMessage:
        msg = self.broker.retained.get(topic)
        if msg is None or msg.expired(time.time()):
            raise NotFound("Viewed message doesn't exist", kind="retained")
        return _retained_record(msg)

    async def delete_retained(self, topic: str) -> None:
        if not self.broker.delete_retained(topic):
            raise NotFound("Viewed message doesn't exist", kind="retained")

    async def clear_retained(self) -> None:
        self.broker.clear_retained()

    # ------------------------------------------------------------------ listeners

    def _listener_info(self, lst) -> ListenerInfo:
        c = lst.config
        return ListenerInfo(
            id=c.id,
            type=c.type,
            name=c.name,
            bind=c.bind,
            port=lst.port,
            enable=c.enable,
            running=lst.running,
            max_connections=c.max_connections,
            current_connections=lst.current,
            shutdown_count=lst.shutdown_count,
            path=c.path if c.type in ("ws", "wss") else None,
        )

    async def listeners(self) -> list[ListenerInfo]:
        return [self._listener_info(lst) for lst in self.server.listeners.values()]

    async def listener_action(self, listener_id: str, action: str) -> ListenerInfo:
        lst = self.server.listeners.get(listener_id)
        if lst is None:
            raise NotFound("Listener id not found", kind="listener")
        if action not in ("start", "stop", "restart"):
            raise InvalidArgument(f"unknown action {action!r}", field="action")
        if action in ("stop", "restart"):
            await lst.stop()
        if action in ("start", "restart"):
            await lst.start()
        return self._listener_info(lst)

    # ------------------------------------------------------------------ features

    async def features(self) -> list[Feature]:
        cfg = self.broker.config
        own = [Feature(name=n, description=d, enabled=getattr(cfg, n), version=VERSION) for n, d in FEATURES.items()]
        return own + [
            Feature(name=n, description=d, enabled=get(), version=VERSION)
            for n, (d, get, _set) in self._extra_features.items()
        ]

    async def set_feature(self, name: str, enabled: bool) -> Feature:
        if self.broker.set_feature(name, enabled):
            return Feature(name=name, description=FEATURES[name], enabled=bool(enabled), version=VERSION)
        if name in self._extra_features:
            description, get, set_ = self._extra_features[name]
            set_(bool(enabled))
            return Feature(name=name, description=description, enabled=get(), version=VERSION)
        raise NotFound(f"feature {name!r} not found", kind="feature")

    # ------------------------------------------------------------------ banned

    async def list_banned(self, *, offset: int, limit: int) -> Page[BannedEntry]:
        rows = self.broker.banned.entries()
        return Page(items=rows[offset : offset + limit], total=len(rows), hasnext=offset + limit < len(rows))

    async def add_banned(self, entry: BannedEntry) -> BannedEntry:
        if entry.as_ not in BAN_KINDS:
            raise InvalidArgument(f"bad 'as' {entry.as_!r}", field="as")
        if not entry.who:
            raise InvalidArgument("'who' is required", field="who")
        if (entry.as_, entry.who) in self.broker.banned:
            raise Conflict(f"{entry.as_}: {entry.who} already exists", kind="banned")
        if entry.as_ == "peerhost_net":
            try:
                ipaddress.ip_network(entry.who, strict=False)
            except ValueError as e:
                raise InvalidArgument(f"bad network {entry.who!r}", field="who") from e
        if not entry.at:
            entry = attrs.evolve(entry, at=time.time())
        self.broker.add_ban(entry)
        return entry

    async def delete_banned(self, as_: str, who: str) -> None:
        if not self.broker.delete_ban(as_, who):
            raise NotFound(f"{as_}: {who} not found", kind="banned")

    async def clear_banned(self) -> None:
        self.broker.clear_bans()

    # ------------------------------------------------------------------ alarms

    async def list_alarms(self, *, activated: bool | None = None) -> list[Alarm]:
        return self.broker.alarms.listing(activated)

    async def deactivate_alarm(self, name: str) -> Alarm:
        done = self.broker.clear_alarm(name)
        if done is None:
            raise NotFound(f"alarm {name!r} is not activated", kind="alarm")
        return done

    async def clear_alarm_history(self) -> None:
        self.broker.clear_alarm_history()

    # ------------------------------------------------------------------ config and lifecycle

    async def get_config(self) -> BrokerConfig:
        return attrs.evolve(self.broker.config)

    async def apply_config(self, config: BrokerConfig) -> list[str]:
        pending = self.broker.apply_config(config)
        self.pending_config = config if pending else None
        return pending

    async def stop(self) -> None:
        await self.server.stop_listeners()

    async def start(self) -> None:
        pending = self.pending_config
        if pending is not None:
            self.broker.apply_config(pending, restarting=True)
            self.server.reconfigure()
            self.pending_config = None
        await self.server.start()

    async def restart(self) -> None:
        await self.stop()
        await self.start()
