"""One MQTT network connection as a state machine: bytes in, bytes out, no asyncio.

The server hands a Channel every chunk it reads (``data_received``) and gives it a ``transport`` with
``write(bytes)`` and ``close()``; the channel never awaits. Protocol failures arrive as MQTTError from
the codec or from the rules here and end the connection the way the spec asks: a CONNACK or DISCONNECT
carrying the reason code (MQTT 5) or a plain close (3.1/3.1.1).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from schemas.topics import topic_name_problem

from . import packets as pk
from .authz_cache import AuthzCache
from .codec import Decoder, encode, encode_puback, encode_publish, patch_publish
from .constants import MQTT_5, Deferred, ReasonCode
from .errors import MQTTError, protocol_error
from .message import Message
from .session import AWAIT_ACK, AWAIT_COMP, Delivery, Session

if TYPE_CHECKING:
    from .core import Broker

# AUTHENTICATING: CONNECT accepted so far, the credential check runs outside the event loop.
CONNECTING, AUTHENTICATING, CONNECTED, CLOSED = 0, 1, 2, 3

# Properties that describe one hop, not the message: never forwarded [MQTT-3.3.2-7, MQTT-3.3.4-6].
_HOP_PROPERTIES = ("topic_alias", "subscription_identifier")
# The frame cache keys (Channel._frame) of MQTT 3.1/3.1.1 receivers, by QoS > 0 and retain: nothing
# else of a receiver changes what these protocol levels send, and constant keys cost no tuple each.
_V3_FORMS = (((False, False), (False, True)), ((True, False), (True, True)))
# Per-QoS message counts of a connection that has had none: shared, a list is made at the first message.
_NO_MESSAGES = (0, 0, 0)


class Channel:
    __slots__ = (
        "broker",
        "transport",
        "peerhost",
        "peerport",
        "listener_id",
        "decoder",
        "state",
        "version",
        "clientid",
        "username",
        "session",
        "keepalive",
        "last_recv",
        "connected_at",
        "will",
        "clean_start",
        "proto_name",
        "writable",
        "paused_at",
        "inflight_limit",
        "client_max_packet",
        "client_alias_max",
        "out_aliases",
        "in_aliases",
        "recv_oct",
        "send_oct",
        "recv_cnt",
        "send_cnt",
        "recv_pkt",
        "send_pkt",
        "recv_msg",
        "recv_qos",
        "send_msg",
        "send_qos",
        "recv_dropped",
        "recv_dropped_rel_timeout",
        "send_dropped",
        "send_dropped_expired",
        "send_dropped_queue_full",
        "send_dropped_too_large",
        "disconnected_at",
        "is_bridge",
        "_metrics",
        "_close_reason",
        "accepted_at",
        "session_expiry",
        "problem_info",
        "outbuf",
        "_held",
        "_deferred",
        "_acks_waiting",
        "is_superuser",
        "authz_cache",
        "keepalive_due",
    )

    def __init__(self, broker: Broker, transport: Any, peer: tuple[str, int], listener_id: str):
        self.broker = broker
        self.transport = transport
        self.peerhost, self.peerport = peer[0], peer[1]
        self.listener_id = listener_id
        cfg = broker.config
        # Both limits are read once, here: a live config change reaches new connections only.
        self.decoder = Decoder(
            server_side=True, max_packet_size=cfg.max_packet_size, max_user_property_size=cfg.max_user_property_size
        )
        self.state = CONNECTING
        self.version = 4
        self.clientid = ""
        self.username: str | None = None
        # None until CONNECT is accepted. Typed as what it is from then on: every packet handler past
        # CONNECT checks the state first, and only the close paths (which test for None) run before.
        self.session: Session = None  # type: ignore[assignment]
        self.keepalive = 0
        self.accepted_at = self.last_recv = time.monotonic()
        self.connected_at: float | None = None
        self.disconnected_at: float | None = None
        self.will: Message | None = None
        self.clean_start = True
        self.proto_name = "MQTT"
        self.writable = True
        self.paused_at = 0.0  # when writes last backed up (time.monotonic()), for send_timeout
        self.inflight_limit = cfg.max_inflight
        self.client_max_packet = 0  # 0 = no limit
        self.client_alias_max = 0
        # Topic alias tables, made when first needed (most clients use no aliases): ours to the client
        # once it allows any (CONNECT), the client's at its first alias.
        self.out_aliases: dict[str, int] | None = None
        self.in_aliases: dict[int, str] | None = None
        self.recv_oct = self.send_oct = self.recv_cnt = self.send_cnt = 0
        self.recv_pkt = self.send_pkt = self.recv_msg = self.send_msg = 0
        self.recv_qos: list[int] | tuple[int, int, int] = _NO_MESSAGES
        self.send_qos: list[int] | tuple[int, int, int] = _NO_MESSAGES
        self.recv_dropped = self.recv_dropped_rel_timeout = 0
        self.send_dropped = self.send_dropped_expired = 0
        self.send_dropped_queue_full = self.send_dropped_too_large = 0
        self.is_bridge = False
        self.session_expiry = 0
        self.problem_info = True
        self._metrics = broker.metrics.counters
        self._close_reason: int | None = None
        # Frames written during one event-loop iteration, sent with one transport write (see flush);
        # None between flushes, so that an idle connection holds no list.
        self.outbuf: list[bytes] | None = None
        # While AUTHENTICATING: packets that arrived after the CONNECT, and the CONNECT's pieces.
        self._held: list | None = None
        self._deferred: tuple | None = None
        # Acknowledgements held until the durability journal's batch is on disk (``sync`` mode);
        # while any is held, later ones queue behind it so that acknowledgements keep their order.
        self._acks_waiting = 0
        # Set by authentication (a superuser skips authorization); the authorizer's verdicts for this
        # connection (``broker.authz_cache``), created on its first check.
        self.is_superuser = False
        self.authz_cache: AuthzCache | None = None
        # The broker's keep alive bucket this connection is filed in (core.KeepaliveDeadlines), or None.
        self.keepalive_due: set[Channel] | None = None

    # ------------------------------------------------------------------ input

    def data_received(self, data: bytes) -> None:
        if self.state == CLOSED:
            return
        m = self._metrics
        n = len(data)
        self.recv_oct += n
        self.recv_cnt += 1
        m["bytes.received"] += n
        self.last_recv = time.monotonic()
        try:
            packets = self.decoder.feed(data)
            if self.state == CONNECTED:
                self._handle(packets)
            elif self.state == AUTHENTICATING:
                assert self._held is not None  # set with the state
                self._held.extend(packets)
            else:
                self._handle_connecting(packets)
        except MQTTError as e:
            self._fail(e)

    def _handle(self, packets: Sequence[Any]) -> None:
        handlers = _HANDLERS
        handled = 0  # counted once for the batch, a packet that raises included
        try:
            for p in packets:
                if self.state == CLOSED:
                    return
                handled += 1
                handlers[p.__class__](self, p)
        finally:
            self.recv_pkt += handled
            self._metrics["packets.received"] += handled

    def _handle_connecting(self, packets: list) -> None:
        """Like _handle, but a CONNECT may park the rest until its credentials are checked."""
        for i, p in enumerate(packets):
            self._handle((p,))
            if self.state == AUTHENTICATING:
                self._held = packets[i + 1 :]
                return
            if self.state == CLOSED:
                return

    def connection_lost(self) -> None:
        """The transport is gone: an abnormal close unless a DISCONNECT already ended us."""
        if self.state == CLOSED:
            return
        self.state = CLOSED
        self._closed(publish_will=True)

    def _closed(self, publish_will: bool) -> None:
        """Tell the broker this connection ended, handing it the will when one is due."""
        if self.session is None:
            self.broker.pending_closed(self)
            return
        self.disconnected_at = time.time()
        will = self.take_will()
        self.broker.channel_closed(self, will if publish_will else None)

    def take_will(self) -> Message | None:
        """The will, which from now on is the caller's to publish or drop."""
        will, self.will = self.will, None
        return will

    def set_keepalive(self, interval: int) -> None:
        self.keepalive = interval

    def count_queue_full_drop(self) -> None:
        """A delivery to this connection's session was dropped because its queue was full."""
        self.send_dropped += 1
        self.send_dropped_queue_full += 1

    def count_rel_timeouts(self, n: int) -> None:
        """``n`` inbound QoS 2 messages were given up waiting for their PUBREL."""
        self.recv_dropped_rel_timeout += n

    # ----------------------------------------------------------------- output

    def _write(self, data: bytes) -> None:
        out = self.outbuf
        if out is None:
            self.outbuf = [data]
            self.broker.mark_dirty(self)
        else:
            out.append(data)

    def flush(self) -> None:
        """Hand everything written since the last flush to the transport in one write, and count it
        (once for the batch: the counters move with every packet, but are read between iterations)."""
        out = self.outbuf
        if out is not None:
            self.outbuf = None
            n = len(out)
            data = out[0] if n == 1 else b"".join(out)
            size = len(data)
            self.send_oct += size
            self.send_cnt += n
            self.send_pkt += n
            m = self._metrics
            m["bytes.sent"] += size
            m["packets.sent"] += n
            if not self.transport.is_closing():
                self.transport.write(data)

    def send_packet(self, packet) -> None:
        self._write(encode(packet, self.version))
        name = _SENT_METRIC.get(packet.__class__)
        if name:
            self._metrics[name] += 1

    def close(self, reason: int | None = None) -> None:
        """Close from our side; MQTT 5 peers are told why with a DISCONNECT first [MQTT-4.13.1-1]."""
        if self.state == CLOSED:
            return
        was_connected = self.state == CONNECTED
        if reason is not None and self.version == MQTT_5 and was_connected:
            self.send_packet(pk.Disconnect(reason_code=reason, properties={}))
        self.state = CLOSED
        self._close_reason = reason
        # A server-initiated close is abnormal for the client: its will is due [MQTT-3.1.2-8].
        self._closed(publish_will=True)
        self.flush()
        self.transport.close()

    def _fail(self, err: MQTTError) -> None:
        reason = err.reason_code
        if self.state == CONNECTING:
            self._metrics["packets.connack.error"] += 1
            if getattr(err, "version_unsupported", False):
                # A level we do not speak: answer in the 3.1.1 form every client can read, return
                # code 0x01 [MQTT-3.1.2-2].
                self.version = 4
                self.send_packet(pk.Connack(reason_code=ReasonCode.UNSUPPORTED_PROTOCOL_VERSION))
            elif self.version == MQTT_5 or (self.decoder.version == MQTT_5 and not getattr(err, "packets", None)):
                # The second case: the decoder read an MQTT 5 CONNECT and refused it (a user property
                # too large; nothing was decoded ahead of it) before _on_connect could learn the
                # version. It is still owed a CONNACK with the reason.
                self.version = MQTT_5
                self.send_packet(pk.Connack(reason_code=reason))
            self.close()
        else:
            self.close(reason)

    # ----------------------------------------------------------------- CONNECT

    def _on_connect(self, p: pk.Connect) -> None:
        if self.state != CONNECTING:
            raise protocol_error("second CONNECT [MQTT-3.1.0-2]")
        broker = self.broker
        cfg = broker.config
        m = self._metrics
        m["packets.connect.received"] += 1
        m["client.connect"] += 1
        self.version = p.proto_ver
        self.proto_name = p.proto_name
        self.clean_start = p.clean_start
        self.username = p.username
        props = p.properties
        v5 = p.proto_ver == MQTT_5
        connack_props: dict[str, Any] = {}

        clientid = p.client_id
        if not clientid:
            if not v5 and not p.clean_start:
                # [MQTT-3.1.3-8]: zero-length id with clean session 0 is refused in 3.1.1.
                return self._refuse(ReasonCode.CLIENT_IDENTIFIER_NOT_VALID)
            clientid = "emqgw-" + uuid.uuid4().hex
            if v5:
                connack_props["assigned_client_identifier"] = clientid
        elif len(clientid) > cfg.max_clientid_len:
            return self._refuse(ReasonCode.CLIENT_IDENTIFIER_NOT_VALID)
        self.clientid = clientid

        # A client that announces no Maximum Packet Size gets the configured one (0 = none); like every
        # connection setting it stays as it was at CONNECT.
        self.client_max_packet = cfg.client_max_packet_size
        if v5:
            if "authentication_method" in props:
                # Enhanced authentication (AUTH exchanges) is not offered [MQTT-4.12.0-1].
                return self._refuse(ReasonCode.BAD_AUTHENTICATION_METHOD)
            self.session_expiry = props.get("session_expiry_interval", 0)
            self.inflight_limit = min(cfg.max_inflight, props.get("receive_maximum", 65535))
            self.client_max_packet = props.get("maximum_packet_size", self.client_max_packet)
            # The client takes up to this many aliases; we keep to our own maximum too, since the
            # table holds a topic per alias for as long as the connection lasts.
            self.client_alias_max = min(props.get("topic_alias_maximum", 0), cfg.max_topic_alias)
            if self.client_alias_max:
                self.out_aliases = {}
            self.problem_info = props.get("request_problem_information", 1) == 1
        else:
            self.session_expiry = 0 if p.clean_start else cfg.session_expiry_interval

        keepalive = p.keepalive
        if v5 and cfg.server_keepalive is not None and (keepalive == 0 or keepalive > cfg.server_keepalive):
            keepalive = cfg.server_keepalive
            connack_props["server_keep_alive"] = keepalive
        self.keepalive = keepalive

        if p.will is not None:
            w = p.will
            if topic_name_problem(w.topic, cfg.max_topic_length) is not None:
                return self._refuse(ReasonCode.TOPIC_NAME_INVALID)
            if w.qos > cfg.max_qos_allowed:
                return self._refuse(ReasonCode.QOS_NOT_SUPPORTED)
            if w.retain and not cfg.retain_available:
                return self._refuse(ReasonCode.RETAIN_NOT_SUPPORTED)
            wprops = dict(w.properties)
            self.will = Message.create(w.topic, w.payload, w.qos, w.retain, wprops, clientid, p.username)

        reason = broker.admit(self, p)
        if isinstance(reason, Deferred):
            self.state = AUTHENTICATING
            self._deferred = (p, connack_props)
            return None
        if reason:
            return self._refuse(reason)
        self._accept(p, connack_props)

    def auth_result(self, ok: bool) -> None:
        """The deferred credential check is done (called by the broker from the shell's callback)."""
        if self.state != AUTHENTICATING:
            return  # the connection went away meanwhile
        deferred = self._deferred
        assert deferred is not None  # set whenever the state is AUTHENTICATING
        p, connack_props = deferred
        self._deferred = None
        reason = self.broker.auth_finished(ok)
        if reason:
            self.state = CONNECTING
            return self._refuse(reason)
        self.state = CONNECTING
        self._accept(p, connack_props)
        held, self._held = self._held, None
        try:
            self._handle(held or ())
        except MQTTError as e:
            self._fail(e)

    def _accept(self, p: pk.Connect, connack_props: dict) -> None:
        broker = self.broker
        cfg = broker.config
        v5 = self.version == MQTT_5
        clientid = self.clientid
        session, present = broker.open_session(self, clientid, p.clean_start, self.session_expiry)
        self.session = session
        if v5:
            if cfg.max_qos_allowed < 2:
                connack_props["maximum_qos"] = cfg.max_qos_allowed
            if not cfg.retain_available:
                connack_props["retain_available"] = 0
            if not cfg.wildcard_subscription:
                connack_props["wildcard_subscription_available"] = 0
            if not cfg.shared_subscription:
                connack_props["shared_subscription_available"] = 0
            connack_props["receive_maximum"] = cfg.max_awaiting_rel
            connack_props["maximum_packet_size"] = cfg.max_packet_size
            connack_props["topic_alias_maximum"] = cfg.max_topic_alias
        self.state = CONNECTED
        self.connected_at = time.time()
        self.send_packet(pk.Connack(session_present=present, reason_code=0, properties=connack_props))
        self._metrics["client.connack"] += 1
        broker.channel_connected(self)
        if present:
            self._resume()

    def _refuse(self, reason: int) -> None:
        m = self._metrics
        m["packets.connack.error"] += 1
        if reason in (ReasonCode.BAD_USERNAME_OR_PASSWORD, ReasonCode.NOT_AUTHORIZED, ReasonCode.BANNED):
            m["packets.connack.auth_error"] += 1
        self.send_packet(pk.Connack(reason_code=reason))
        self.will = None
        self.close()

    def _resume(self) -> None:
        """Redeliver what the session left unacknowledged, with DUP set [MQTT-4.4.0-1], then the queue."""
        now = time.monotonic()
        for pid, entry in list(self.session.inflight.items()):
            self._resend(pid, entry, now)
        self.drain()

    def retry(self, now: float, interval: float) -> None:
        """Resend what has waited ``interval`` seconds for its acknowledgement (EMQX's retry_interval).

        MQTT 3.1/3.1.1 only: MQTT 5 allows resending only on a new connection [MQTT-4.4.0-1], so the
        broker never calls this for an MQTT 5 client."""
        if not self.writable:
            return  # the client is not reading: resends would only queue behind what it has not read
        for pid, entry in list(self.session.inflight.items()):
            if now - entry[2] >= interval:
                self._resend(pid, entry, now)
        self.drain()  # an expired message left the window: let the queue in

    def _resend(self, pid: int, entry: list, now: float) -> None:
        """Send an inflight entry again: its PUBREL, or its PUBLISH with DUP set; a message that can no
        longer be sent (expired) leaves the window."""
        entry[2] = now
        if entry[1] == AWAIT_COMP:
            self.send_packet(pk.Pubrel(packet_id=pid))
        else:
            msg, qos, retain, sub_ids = entry[0]
            if not self._send_publish(msg, qos, retain, sub_ids, pid, True):
                del self.session.inflight[pid]

    # ----------------------------------------------------------------- PUBLISH in

    def _on_publish(self, p: pk.Publish) -> None:
        if self.state != CONNECTED:
            raise protocol_error("PUBLISH before CONNECT [MQTT-3.1.0-1]")
        m = self._metrics
        qos = p.qos
        m["packets.publish.received"] += 1
        m["messages.received"] += 1
        m[_QOS_RECEIVED[qos]] += 1
        self.recv_msg += 1
        counts = self.recv_qos
        if not isinstance(counts, list):  # _NO_MESSAGES
            counts = self.recv_qos = [0, 0, 0]
        counts[qos] += 1
        broker = self.broker
        cfg = broker.config
        v5 = self.version == MQTT_5
        topic = p.topic
        props = p.properties
        alias = None
        if props:
            if "subscription_identifier" in props:
                raise protocol_error("subscription identifier from a client [MQTT-3.3.4-6]")
            alias = props.get("topic_alias")
            if alias is not None:
                if alias == 0 or alias > cfg.max_topic_alias:
                    raise MQTTError(ReasonCode.TOPIC_ALIAS_INVALID, "topic alias out of range [MQTT-3.3.2-9]")
                if not topic:
                    aliased = self.in_aliases.get(alias) if self.in_aliases else None
                    if aliased is None:
                        raise protocol_error("unknown topic alias [MQTT-3.3.2-8]")
                    topic = aliased
            props = {k: v for k, v in props.items() if k not in _HOP_PROPERTIES}
        if qos > cfg.max_qos_allowed:
            raise MQTTError(ReasonCode.QOS_NOT_SUPPORTED, "QoS above Maximum QoS [MQTT-3.2.2-11]")
        if p.retain and not cfg.retain_available:
            raise MQTTError(ReasonCode.RETAIN_NOT_SUPPORTED, "retain not available [MQTT-3.2.2-14]")
        problem = topic_name_problem(topic, cfg.max_topic_length)
        if problem is not None:
            m["packets.publish.error"] += 1
            if not v5:
                raise MQTTError(ReasonCode.TOPIC_NAME_INVALID, problem)
            return self._ack_publish(p, ReasonCode.TOPIC_NAME_INVALID)
        if alias is not None and p.topic:
            # Only a topic we accept is kept for the alias: the table is per connection memory.
            if self.in_aliases is None:
                self.in_aliases = {}
            self.in_aliases[alias] = topic
        if not broker.authorize(self, "publish", topic, qos, p.retain):
            m["packets.publish.auth_error"] += 1
            self.recv_dropped += 1
            if broker.authz.disconnect_on_deny:
                return self.close(ReasonCode.NOT_AUTHORIZED)
            return self._ack_publish(p, ReasonCode.NOT_AUTHORIZED)
        if qos == 2:
            s = self.session
            pid = p.packet_id
            assert pid is not None  # the codec refuses a QoS 2 PUBLISH without one
            if pid in s.awaiting_rel:
                # A retransmission of a QoS 2 message already routed: acknowledge, never route twice.
                m["packets.publish.inuse"] += 1
                return self._ack_publish(p, 0)
            if len(s.awaiting_rel) >= s.max_awaiting_rel:
                if v5:
                    raise MQTTError(ReasonCode.RECEIVE_MAXIMUM_EXCEEDED, "receive maximum exceeded [MQTT-3.3.4-8]")
                self.recv_dropped += 1
                m["messages.dropped"] += 1
                return self._ack_publish(p, ReasonCode.QUOTA_EXCEEDED)
            s.awaiting_rel[pid] = time.monotonic()
            broker.awaiting_release(s)
        expiry = props.get("message_expiry_interval") if props else None
        now = time.time()
        msg = Message(
            topic,
            p.payload,
            qos,
            p.retain,
            props,
            self.clientid,
            self.username,
            now,
            now + expiry if expiry is not None else None,
        )
        journal = broker.sync_journal
        if journal is None or not qos:
            matched = broker.route(msg, self.clientid)
            if qos:
                self._ack_publish(p, 0 if matched else ReasonCode.NO_MATCHING_SUBSCRIBERS)
            return None
        # durability = "sync": a message queued for an offline persistent session (or retained) is
        # acknowledged only once it is on disk (the journal's writer calls back after its group commit).
        before = journal.durable_count
        matched = broker.route(msg, self.clientid)
        reason = 0 if matched else ReasonCode.NO_MATCHING_SUBSCRIBERS
        if journal.durable_count == before and not self._acks_waiting:
            return self._ack_publish(p, reason)
        self._acks_waiting += 1
        journal.when_durable(lambda: self._durable_ack(p, reason))

    def _durable_ack(self, p: pk.Publish, reason: int) -> None:
        self._acks_waiting -= 1
        if self.state == CONNECTED:
            self._ack_publish(p, reason)

    def _ack_publish(self, p: pk.Publish, reason: int) -> None:
        """PUBACK or PUBREC as the QoS asks; nothing for QoS 0 (the codec gives QoS 1/2 a packet id)."""
        qos = p.qos
        if qos:
            pid: int = p.packet_id  # type: ignore[assignment]
            if qos == 1:
                self._write(encode_puback(pid, reason, self.version))
                self._metrics["packets.puback.sent"] += 1
            else:
                if reason >= 0x80 and self.version != MQTT_5:
                    reason = 0
                self.send_packet(pk.Pubrec(pid, reason))

    def _on_pubrel(self, p: pk.Pubrel) -> None:
        self._require_connected()
        self._metrics["packets.pubrel.received"] += 1
        if self.session.awaiting_rel.pop(p.packet_id, None) is None:
            self._metrics["packets.pubrel.missed"] += 1
            self.send_packet(pk.Pubcomp(packet_id=p.packet_id, reason_code=ReasonCode.PACKET_IDENTIFIER_NOT_FOUND))
        else:
            self.send_packet(pk.Pubcomp(packet_id=p.packet_id))

    # ----------------------------------------------------------------- PUBLISH out

    def deliver(self, d: Delivery) -> Delivery | None:
        """Send now if the window and the socket allow, else queue. Returns a dropped delivery."""
        s = self.session
        if d[1] == 0:
            if self.writable and not s.mqueue:
                self._send_publish(d[0], 0, d[2], d[3], 0, False)
                return None
            return s.enqueue(d)
        inflight = s.inflight
        if self.writable and len(inflight) < self.inflight_limit and not s.mqueue:
            pid = s.next_packet_id()
            if self._send_publish(d[0], d[1], d[2], d[3], pid, False):
                if not inflight:
                    self.broker.inflight_started(self)
                inflight[pid] = [d, AWAIT_ACK, time.monotonic()]
            return None
        return s.enqueue(d)

    def drain(self) -> None:
        """Move queued deliveries out while the window and the socket have room."""
        s = self.session
        mq = s.mqueue
        if not mq:
            return
        inflight = s.inflight
        now = time.monotonic()  # one read for the whole batch
        while mq and self.writable and self.state == CONNECTED:
            d = mq[0]
            if d[1] and len(inflight) >= self.inflight_limit:
                return
            mq.popleft()
            if d[1]:
                pid = s.next_packet_id()
                if self._send_publish(d[0], d[1], d[2], d[3], pid, False):
                    if not inflight:
                        self.broker.inflight_started(self)
                    inflight[pid] = [d, AWAIT_ACK, now]
            else:
                self._send_publish(d[0], 0, d[2], d[3], 0, False)
        if not mq:
            s.queue_emptied()

    def _send_publish(self, msg: Message, qos: int, retain: bool, sub_ids, pid: int, dup: bool) -> bool:
        m = self._metrics
        if msg.expires_at is not None and time.time() >= msg.expires_at:
            # [MQTT-3.3.2-5]: an expired message is not delivered.
            m["delivery.dropped"] += 1
            m["delivery.dropped.expired"] += 1
            m["messages.dropped"] += 1
            self.send_dropped += 1
            self.send_dropped_expired += 1
            return False
        frame, offset = self._frame(msg, qos, retain, sub_ids)
        if self.client_max_packet and len(frame) > self.client_max_packet:
            # [MQTT-3.1.2-25]: never send a packet above the client's Maximum Packet Size.
            m["delivery.dropped"] += 1
            m["delivery.dropped.too_large"] += 1
            m["messages.dropped"] += 1
            self.send_dropped += 1
            self.send_dropped_too_large += 1
            return False
        if qos:
            frame = patch_publish(frame, offset, pid, qos, retain, dup)
        self._write(frame)
        self.send_msg += 1
        counts = self.send_qos
        if not isinstance(counts, list):  # _NO_MESSAGES
            counts = self.send_qos = [0, 0, 0]
        counts[qos] += 1
        self.session.deliver_msg += 1
        m["packets.publish.sent"] += 1
        m["messages.sent"] += 1
        m[_QOS_SENT[qos]] += 1
        m["messages.delivered"] += 1
        return True

    def _frame(self, msg: Message, qos: int, retain: bool, sub_ids):
        """The encoded PUBLISH for this receiver, shared with every receiver that wants the same form."""
        v5 = self.version == MQTT_5
        alias = None
        send_topic = True
        remaining = None
        if not v5:
            key: tuple = _V3_FORMS[qos > 0][retain]
        else:
            aliases = self.out_aliases
            if aliases is not None:  # a client that takes aliases
                alias = aliases.get(msg.topic)
                if alias is not None:
                    send_topic = False
                elif len(aliases) < self.client_alias_max:
                    alias = len(aliases) + 1
                    aliases[msg.topic] = alias
            if msg.expires_at is not None:
                remaining = max(1, math.ceil(msg.expires_at - time.time()))
            key = (v5, qos > 0, retain, sub_ids, alias, send_topic, remaining)
        frames = msg.frames
        if frames is None:
            frames = msg.frames = {}
        else:
            hit = frames.get(key)
            if hit is not None:
                return hit
        props = {}
        if v5:
            props = dict(msg.properties)
            if remaining is not None:
                props["message_expiry_interval"] = remaining
            if sub_ids:
                props["subscription_identifier"] = list(sub_ids)
            if alias is not None:
                props["topic_alias"] = alias
        # Positional: half the cost of keywords for an attrs record, once per message and form.
        pub = pk.Publish(msg.topic if send_topic else "", msg.payload, 1 if qos else 0, retain, False, None, props)
        hit = encode_publish(pub, self.version)
        if qos == 0:
            hit = (bytes(hit[0]), hit[1])
        frames[key] = hit
        return hit

    def _on_puback(self, p: pk.Puback) -> None:
        self._require_connected()
        m = self._metrics
        m["packets.puback.received"] += 1
        entry = self.session.inflight.get(p.packet_id)
        if entry is None or entry[0][1] != 1:
            m["packets.puback.missed"] += 1
            return
        del self.session.inflight[p.packet_id]
        m["messages.acked"] += 1
        self.drain()

    def _on_pubrec(self, p: pk.Pubrec) -> None:
        self._require_connected()
        m = self._metrics
        m["packets.pubrec.received"] += 1
        inflight = self.session.inflight
        entry = inflight.get(p.packet_id)
        if entry is None or entry[0][1] != 2:
            m["packets.pubrec.missed"] += 1
            self.send_packet(pk.Pubrel(packet_id=p.packet_id, reason_code=ReasonCode.PACKET_IDENTIFIER_NOT_FOUND))
            return
        if p.reason_code >= 0x80:
            # The receiver refused it: the exchange ends here, no PUBREL [MQTT-4.3.3-4, MQTT-4.4.0-2].
            del inflight[p.packet_id]
            self.drain()
            return
        if entry[1] == AWAIT_COMP:
            m["packets.pubrec.inuse"] += 1
        entry[1] = AWAIT_COMP
        entry[2] = self.last_recv  # when this PUBREC arrived: the PUBREL's retry clock starts now
        self.send_packet(pk.Pubrel(packet_id=p.packet_id))

    def _on_pubcomp(self, p: pk.Pubcomp) -> None:
        self._require_connected()
        m = self._metrics
        m["packets.pubcomp.received"] += 1
        inflight = self.session.inflight
        entry = inflight.get(p.packet_id)
        if entry is None or entry[1] != AWAIT_COMP:
            m["packets.pubcomp.missed"] += 1
            return
        del inflight[p.packet_id]
        m["messages.acked"] += 1
        self.drain()

    # ----------------------------------------------------------------- SUBSCRIBE

    def _on_subscribe(self, p: pk.Subscribe) -> None:
        self._require_connected()
        m = self._metrics
        m["packets.subscribe.received"] += 1
        sub_id = p.properties.get("subscription_identifier")
        codes, retained = self.broker.subscribe_client(self, p.subscriptions, sub_id)
        for code in codes:
            if code >= 0x80:
                m["packets.subscribe.error"] += 1
                if code == ReasonCode.NOT_AUTHORIZED:
                    m["packets.subscribe.auth_error"] += 1
        self.send_packet(pk.Suback(packet_id=p.packet_id, reason_codes=codes))
        # Retained messages follow the SUBACK [MQTT-3.3.1-9: sent with RETAIN set].
        for d in retained:
            self.session.deliver(d)

    def _on_unsubscribe(self, p: pk.Unsubscribe) -> None:
        self._require_connected()
        self._metrics["packets.unsubscribe.received"] += 1
        existed = self.broker.unsubscribe(self.session, p.topic_filters, "mqtt")
        codes = [0 if was else ReasonCode.NO_SUBSCRIPTION_EXISTED for was in existed]
        self.send_packet(pk.Unsuback(packet_id=p.packet_id, reason_codes=codes if self.version == MQTT_5 else []))

    # ----------------------------------------------------------------- misc

    def _on_pingreq(self, p: pk.Pingreq) -> None:
        self._require_connected()
        self._metrics["packets.pingreq.received"] += 1
        self.send_packet(pk.Pingresp())

    def _on_disconnect(self, p: pk.Disconnect) -> None:
        self._require_connected()
        self._metrics["packets.disconnect.received"] += 1
        expiry = p.properties.get("session_expiry_interval")
        if expiry is not None:
            if self.session_expiry == 0 and expiry != 0:
                # [MQTT-3.14.2-2]: a session that was to end at disconnect cannot be revived here.
                raise protocol_error("session expiry set on DISCONNECT after 0 in CONNECT")
            self.session_expiry = expiry
            self.session.expiry_interval = expiry
        self.state = CLOSED
        # [MQTT-3.1.2-10]: a normal DISCONNECT discards the will.
        self._closed(publish_will=p.reason_code == ReasonCode.DISCONNECT_WITH_WILL)
        self.flush()
        self.transport.close()

    def _on_auth(self, p: pk.Auth) -> None:
        self._metrics["packets.auth.received"] += 1
        # No authentication method was agreed in CONNECT, so any AUTH is a protocol error [MQTT-4.12.0-7].
        raise protocol_error("AUTH without an authentication method")

    def _on_unexpected(self, p) -> None:
        raise protocol_error(f"{p.__class__.__name__} is not sent by clients")

    def _require_connected(self) -> None:
        if self.state != CONNECTED:
            raise protocol_error("packet before CONNECT [MQTT-3.1.0-1]")

    # ----------------------------------------------------------------- flow control

    def pause_writing(self) -> None:
        self.writable = False
        self.paused_at = time.monotonic()
        self.broker.channel_paused(self)

    def resume_writing(self) -> None:
        self.writable = True
        self.broker.channel_resumed(self)
        if self.state == CONNECTED and self.session is not None:
            self.drain()


_QOS_RECEIVED = ("messages.qos0.received", "messages.qos1.received", "messages.qos2.received")
_QOS_SENT = ("messages.qos0.sent", "messages.qos1.sent", "messages.qos2.sent")
_SENT_METRIC = {
    pk.Connack: "packets.connack.sent",
    pk.Puback: "packets.puback.sent",
    pk.Pubrec: "packets.pubrec.sent",
    pk.Pubrel: "packets.pubrel.sent",
    pk.Pubcomp: "packets.pubcomp.sent",
    pk.Suback: "packets.suback.sent",
    pk.Unsuback: "packets.unsuback.sent",
    pk.Pingresp: "packets.pingresp.sent",
    pk.Disconnect: "packets.disconnect.sent",
    pk.Auth: "packets.auth.sent",
}
_HANDLERS: dict[type, Callable[[Channel, Any], None]] = {
    pk.Connect: Channel._on_connect,
    pk.Publish: Channel._on_publish,
    pk.Puback: Channel._on_puback,
    pk.Pubrec: Channel._on_pubrec,
    pk.Pubrel: Channel._on_pubrel,
    pk.Pubcomp: Channel._on_pubcomp,
    pk.Subscribe: Channel._on_subscribe,
    pk.Unsubscribe: Channel._on_unsubscribe,
    pk.Pingreq: Channel._on_pingreq,
    pk.Disconnect: Channel._on_disconnect,
    pk.Auth: Channel._on_auth,
    pk.Connack: Channel._on_unexpected,
    pk.Suback: Channel._on_unexpected,
    pk.Unsuback: Channel._on_unexpected,
    pk.Pingresp: Channel._on_unexpected,
}
