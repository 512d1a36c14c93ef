"""The records the dialects see, built from live broker state (and the one memo of them)."""

from __future__ import annotations

from collections.abc import Iterable

from schemas.records import (
    ClientInfo,
    RetainedMessage,
    Subscription,
)

from ..channel import Channel
from ..core import Broker
from ..message import Message
from ..session import Session, SubOptions


def client_info(b: Broker, s: Session, ch: Channel | None) -> ClientInfo:
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


class _NoChannel:
    """What a stamp reads for a session that has had no connection here (restored from disk)."""

    will = None
    recv_oct = send_oct = keepalive = send_dropped = recv_dropped = recv_dropped_rel_timeout = 0


_NO_CHANNEL = _NoChannel()


class ClientRecords:
    """ClientInfo records, each rebuilt only when the state it is derived from has moved.

    Dashboards list the same page of mostly idle clients again and again; handing out the same record
    while nothing changed lets a dialect keep the row it rendered from it (records are shared: never
    mutated after they leave here). The stamp holds every input of the record that can change while
    the session and its channel stay the same: the byte counters move with every packet in or out
    (and with them every packet and message counter), the rest change without traffic (queue and
    table sizes, drops on a full queue or a timeout, keepalive set over the API, the config object).
    """

    # Remembered records (about 1 KiB each). Past that, the ones remembered stay (each renewed in place
    # as its client changes, forgotten when its session ends) and the other clients' records are built
    # for the one request: a listing longer than the memo still finds MAX of its records in it, where
    # starting over would find none on every pass.
    MAX = 10_000

    __slots__ = ("broker", "memo")

    def __init__(self, broker: Broker):
        self.broker = broker
        self.memo: dict[str, tuple[tuple, ClientInfo]] = {}

    def __call__(self, s: Session) -> ClientInfo:
        return self.many((s,))[0]

    def many(self, sessions: Iterable[Session]) -> list[ClientInfo]:
        """The records of ``sessions``, in order: a listing's page in one pass."""
        b = self.broker
        config = b.config
        last_channels = b.last_channels
        memo = self.memo
        out = []
        for s in sessions:
            live = s.channel
            ch = live or last_channels.get(s.clientid)
            c = ch or _NO_CHANNEL
            stamp = (
                s,
                ch,
                config,
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
                live is None,
                c.will,
                c.recv_oct,
                c.send_oct,
                c.keepalive,
                c.send_dropped,
                c.recv_dropped,
                c.recv_dropped_rel_timeout,
            )
            hit = memo.get(s.clientid)
            if hit is not None and hit[0] == stamp:
                out.append(hit[1])
                continue
            info = client_info(b, s, ch)
            if hit is not None or len(memo) < self.MAX:
                memo[s.clientid] = (stamp, info)
            out.append(info)
        return out

    def forget(self, clientid: str) -> None:
        """The client's session ended: its record can never be asked for again."""
        self.memo.pop(clientid, None)


def subscription_record(b: Broker, clientid: str, o: SubOptions) -> Subscription:
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


def retained_record(msg: Message, with_payload: bool = True) -> RetainedMessage:
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
