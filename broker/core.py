"""The broker proper: sessions, routing, retained messages, wills and timers. Sans-IO.

Channels call in when packets arrive; ``tick(now)`` is called about once a second by the server for
everything time-driven (keep alive, QoS 1/2 retry, will delay, session expiry, QoS 2 release timeout). Nothing
here awaits or touches a socket.

The broker is the only writer of its state. Whatever else changes it (the control layer for the APIs,
the state store at start, the alarm monitor, the shell) calls one of its commands, and each command
applies the rules the MQTT door applies and tells the observers (``observe``) with one event:

- ``client.connected`` / ``client.disconnected`` (channel), ``session.dropped`` (session);
- ``client.subscribed`` (clientid, subscriptions, origin) / ``client.unsubscribed`` (clientid, filters,
  origin), origin ``"mqtt"`` or ``"api"``; ``client.kicked`` (clientid, discarded);
- ``retained.changed`` (topic, message or None);
- ``banned.added`` (entry) / ``banned.deleted`` (kind, who) / ``banned.cleared``;
- ``alarm.activated`` / ``alarm.deactivated`` (alarm) / ``alarm.history_cleared``;
- ``config.changed`` (config); ``state.restored`` (sessions, retained, bans: counts);
- from the authenticator chain and the authorizer (``broker.authn``, ``broker.authz``, whose commands
  change them): ``authn.chain``, ``authn.user``, ``authn.user_deleted``, ``authn.users_cleared``,
  ``authz.config``, ``authz.rules``, ``authz.rules_deleted``, ``authz.rules_purged``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, cast

import attrs

from schemas.records import Alarm, BannedEntry, BrokerConfig
from schemas.topics import parse_share

from . import packets as pk
from .acl import parse_acl, read_acl_text
from .admission import ClientIdentity, Identity, Refusal, admit
from .alarms import AlarmBook
from .authn import AccountCheck, Answer, AuthnChain, Credentials, is_pending
from .authz import Authorization
from .bans import BanList, ban_matches
from .channel import Channel
from .client_index import ClientIndex
from .constants import DEFERRED, MQTT_5, Deferred, ReasonCode
from .errors import protocol_error
from .message import Message
from .metrics import Metrics
from .persistence import Journal, SavedSession
from .retained import RetainedStore
from .session import Delivery, Session, SubOptions
from .topics import SubscriptionTrie

# A connection that has not sent CONNECT by then is closed (EMQX: mqtt.idle_timeout, 15 s).
CONNECT_TIMEOUT = 15.0
# Session expiry meaning "never" (MQTT 5.0 section 3.1.2.11.2: 0xFFFFFFFF, the session does not expire).
EXPIRY_NEVER = 0xFFFFFFFF
# Switches of BrokerConfig that are listed and toggled as features, with what each does.
FEATURES = {
    "retainer": "Stores retained messages and delivers them on subscribe",
    "presence_events": "Publishes $SYS/brokers/<node>/clients/<id>/connected|disconnected",
}
# Fields of BrokerConfig that only take effect when the listeners are restarted.
RESTART_FIELDS = ("listeners", "node_name")


class SharedGroup:
    """Members of one `$share/<group>/<filter>`; each message goes to one member, round robin."""

    __slots__ = ("members", "next")

    def __init__(self) -> None:
        self.members: list[tuple[Session, SubOptions]] = []
        self.next = 0

    def pick(self) -> tuple[Session, SubOptions] | None:
        members = self.members
        n = len(members)
        if not n:
            return None
        # Prefer a connected member; fall back to queueing in an offline persistent one.
        for i in range(n):
            cand = members[(self.next + i) % n]
            if cand[0].channel is not None:
                self.next = (self.next + i + 1) % n
                return cand
        cand = members[self.next % n]
        self.next = (self.next + 1) % n
        return cand


class KeepaliveDeadlines:
    """Channels filed by the second their keep alive must next be checked, so that the tick looks at
    the connections whose deadline has come, not at every connection.

    Walking 10,000 connections every second held the event loop about 5 ms each time, and the
    deliveries that arrived meanwhile waited. A channel is filed under the first whole second after
    its deadline; when that second has come it is checked, and closed or filed again under its new
    deadline (it has sent something since): an idle client with keep alive 600 is looked at every 900
    seconds. ``Channel.keepalive_due`` is the bucket a channel is in, so that it leaves when it closes.
    """

    __slots__ = ("_buckets",)

    def __init__(self) -> None:
        # A few hundred seconds at most (the spread of the deadlines), so ``due`` scans the keys.
        self._buckets: dict[int, set[Channel]] = {}

    def file(self, ch: Channel, deadline: float) -> None:
        """Check ``ch`` once ``deadline`` (time.monotonic()) has passed; an earlier filing is undone."""
        self.cancel(ch)
        second = int(deadline) + 1  # strictly after: a channel is never found due before its time
        bucket = self._buckets.get(second)
        if bucket is None:
            bucket = self._buckets[second] = set()
        bucket.add(ch)
        ch.keepalive_due = bucket

    def cancel(self, ch: Channel) -> None:
        bucket = ch.keepalive_due
        if bucket is not None:
            bucket.discard(ch)
            ch.keepalive_due = None

    def due(self, now: float) -> list[Channel]:
        """Take out every channel filed under a second that has passed by ``now``."""
        out: list[Channel] = []
        buckets = self._buckets
        for second in [second for second in buckets if second <= now]:
            for ch in buckets.pop(second):
                ch.keepalive_due = None
                out.append(ch)
        return out


class Broker:
    def __init__(self, config: BrokerConfig | None = None):
        self.config = config or BrokerConfig()
        self.metrics = Metrics()
        self.started_at = time.time()
        self.sessions: dict[str, Session] = {}
        # What listings filter and page by, kept current by every change below (O(page) listings).
        self.index = ClientIndex()
        self.channels: dict[str, Channel] = {}
        # The last connection of each offline session, so listings still show its address and protocol.
        self.last_channels: dict[str, Channel] = {}
        self.pending: set[Channel] = set()
        # What the tick looks at, so that it never walks every connection or session: keep alive
        # deadlines by the second; MQTT 3 connections with messages in flight (to resend); offline
        # sessions (to expire); sessions holding inbound QoS 2 ids (to time out).
        self.keepalive_deadlines = KeepaliveDeadlines()
        self._keepalive_multiplier = self.config.keepalive_multiplier
        self._resending: set[Channel] = set()
        self._offline: set[Session] = set()
        self._awaiting_rel: set[Session] = set()
        self.trie = SubscriptionTrie()  # filter -> {clientid: (session, SubOptions)}
        self.shared = SubscriptionTrie()  # filter -> {group: SharedGroup}
        self.shared_count = 0
        self.retained = RetainedStore()
        self.pending_wills: dict[str, tuple[float, Message]] = {}
        self.banned = BanList()
        self.alarms = AlarmBook()
        # Channels whose writes backed up (paused by their transport), for the congestion alarm.
        self._congested: set[Channel] = set()
        acl_file = self.config.acl_file
        acl_text = read_acl_text(acl_file) if acl_file else ""
        # Who may connect (``authn``) and what they may touch (``authz``); each changes by its own commands.
        self.authz = Authorization(self._emit, acl_text, parse_acl(acl_text, acl_file or "<acl>"))
        self.authn = AuthnChain(self._emit)
        # Observers (presence events, durability, $SYS): called with (event, **data); see ``observe``.
        self._observers: list[Callable[..., None]] = []
        self.running = True
        # Channels with unsent frames, and the shell's way of asking for a flush soon (once per
        # event-loop iteration, so a burst of deliveries becomes one write per receiver).
        self.dirty: list[Channel] = []
        self.request_flush: Callable[[], None] = self.flush
        # Set by the shell: run an awaitable and call back with its bool result (False if it failed).
        self.spawn: Callable[[Awaitable, Callable[[bool], None]], None] | None = None
        # Durability (broker.persistence): set by the shell before the listeners open. ``sync_journal``
        # is the same journal when PUBACK/PUBREC must wait for the disk, else None.
        self.journal: Journal | None = None
        self.sync_journal: Journal | None = None

    # ------------------------------------------------------------------ the shell's hooks

    def attach_shell(
        self, request_flush: Callable[[], None], spawn: Callable[[Awaitable, Callable[[bool], None]], None]
    ) -> None:
        self.request_flush = request_flush
        self.spawn = spawn

    def attach_journal(self, journal: Journal) -> None:
        self.journal = journal
        self.sync_journal = journal if journal.sync else None
        for s in self.sessions.values():
            s.journal = journal

    def observe(self, callback: Callable[..., None]) -> None:
        """Call ``callback(event, **data)`` for every event (see the module docstring)."""
        self._observers.append(callback)

    def attach_account_check(self, check: AccountCheck | None) -> None:
        """The account store behind the ``dashboard_accounts`` authenticator (None: no account store)."""
        self.authn.account_check = check

    def start_accepting(self) -> None:
        self.running = True

    def stop_accepting(self) -> None:
        """Refuse new connections, and publish every connected client's will while all of them can
        still receive it (closing connections one by one would let early ones miss later wills)."""
        self.running = False
        for ch in list(self.channels.values()):
            will = ch.take_will()
            if will is not None:
                will.properties.pop("will_delay_interval", None)
                self._publish_will(will)

    def channel_opened(self, ch: Channel) -> None:
        """A connection was accepted; it has until CONNECT_TIMEOUT to send CONNECT."""
        self.pending.add(ch)

    def channel_paused(self, ch: Channel) -> None:
        self._congested.add(ch)

    def channel_resumed(self, ch: Channel) -> None:
        self._congested.discard(ch)

    def congested_channels(self) -> list[Channel]:
        """Connected channels whose writes are backed up (ones that closed meanwhile are forgotten)."""
        channels = self.channels
        gone = [ch for ch in self._congested if channels.get(ch.clientid) is not ch]
        self._congested.difference_update(gone)
        return list(self._congested)

    # ------------------------------------------------------------------ output

    def mark_dirty(self, ch: Channel) -> None:
        dirty = self.dirty
        dirty.append(ch)
        if len(dirty) == 1:
            self.request_flush()

    def flush(self) -> None:
        dirty, self.dirty = self.dirty, []
        for ch in dirty:
            ch.flush()

    # ------------------------------------------------------------------ admission

    def admit(self, ch: Channel, p: pk.Connect) -> int | Deferred:
        """Banned, then the authenticator chain (``broker.authn``). Returns 0, the CONNACK reason code to
        refuse with, or DEFERRED while the credentials are checked off the loop."""
        m = self.metrics.counters
        if not self.running:
            return ReasonCode.SERVER_UNAVAILABLE
        if self.banned and self.banned.matches(ch.clientid, p.username, ch.peerhost):
            return ReasonCode.BANNED if ch.version == MQTT_5 else ReasonCode.NOT_AUTHORIZED
        m["client.authenticate"] += 1
        if p.username is None and p.password is None:
            if self.config.allow_anonymous:
                m["client.auth.anonymous"] += 1
                m["authentication.success.anonymous"] += 1
                return 0
            m["authentication.failure"] += 1
            return ReasonCode.NOT_AUTHORIZED
        answer = self.authn.authenticate(Credentials(ch.clientid, p.username, p.password, ch.peerhost))
        if not is_pending(answer):
            return self._settle(ch, cast(Answer, answer))
        if self.spawn is None:
            raise RuntimeError("a deferred authenticator needs a shell that sets Broker.spawn")
        self.spawn(self._settle_later(ch, cast(Awaitable[Answer], answer)), ch.auth_result)
        return DEFERRED

    def _settle(self, ch: Channel, answer: Answer) -> int:
        if answer is None:
            # No authenticator knows the client: its credentials pass only where anonymous access would.
            m = self.metrics.counters
            if self.config.allow_anonymous:
                m["authentication.success.anonymous"] += 1
                return 0
            m["authentication.failure"] += 1
            return ReasonCode.NOT_AUTHORIZED
        ch.is_superuser = answer.superuser
        return self.auth_finished(answer.accepted)

    async def _settle_later(self, ch: Channel, pending: Awaitable[Answer]) -> bool:
        """The deferred check's verdict for ``Channel.auth_result`` (which counts it)."""
        answer = await pending
        if answer is None:
            return self.config.allow_anonymous
        ch.is_superuser = answer.superuser
        return answer.accepted

    def auth_finished(self, ok: bool) -> int:
        m = self.metrics.counters
        if ok:
            m["authentication.success"] += 1
            return 0
        m["authentication.failure"] += 1
        return ReasonCode.BAD_USERNAME_OR_PASSWORD

    def authorize(self, who: Identity, action: str, topic: str, qos: int, retain: bool) -> bool:
        """Whether ``who`` may publish to ``topic`` (with this QoS and retain flag) or subscribe to it."""
        authz = self.authz
        no_match = self.config.acl_no_match
        if authz.idle and no_match == "allow":
            return True  # no rule anywhere: nothing to check, nothing to count
        return authz.check(who, action, topic, qos, retain, no_match, self.metrics.counters)

    def identity(self, s: Session) -> Identity:
        """Who a session's client is for the rules: its live connection, else its last one."""
        ch = s.channel or self.last_channels.get(s.clientid)
        if ch is not None:
            return ch
        return ClientIdentity(s.clientid, s.username, "")

    # ------------------------------------------------------------------ sessions

    def open_session(self, ch: Channel, clientid: str, clean_start: bool, expiry: int) -> tuple[Session, bool]:
        m = self.metrics.counters
        old_channel = self.channels.get(clientid)
        if old_channel is not None:
            # [MQTT-3.1.4-3]: the existing connection is closed, with 0x8E for MQTT 5.
            m["session.takenover"] += 1
            old_channel.close(ReasonCode.SESSION_TAKEN_OVER)
        self.pending.discard(ch)
        existing = self.sessions.get(clientid)
        pending = self.pending_wills.pop(clientid, None)
        if pending is not None and clean_start:
            # The old session ends now, and the will is due at the end of a session [MQTT-3.1.3-9].
            self.route(pending[1], clientid)
        if existing is not None and not clean_start:
            existing.clean_start = clean_start
            existing.expiry_interval = expiry
            existing.username = ch.username
            existing.channel = ch
            existing.disconnected_at = None
            self._offline.discard(existing)
            self.last_channels.pop(clientid, None)
            existing.max_inflight = self.config.max_inflight
            m["session.resumed"] += 1
            self.channels[clientid] = ch
            if self.journal is not None:
                self.journal.session_online(existing)
            return existing, True
        if existing is not None:
            m["session.discarded"] += 1
            self._drop_session(existing)
        s = self._new_session(clientid, clean_start, expiry, ch.username)
        s.channel = ch
        self.sessions[clientid] = s
        self.index.session_added(s)
        self.channels[clientid] = ch
        m["session.created"] += 1
        journal = self.journal
        if journal is not None:
            s.journal = journal
            journal.session_saved(s)
        return s, False

    def _new_session(self, clientid: str, clean_start: bool, expiry: int, username: str | None) -> Session:
        cfg = self.config
        return Session(
            clientid,
            clean_start=clean_start,
            expiry_interval=expiry,
            max_inflight=cfg.max_inflight,
            max_mqueue_len=cfg.max_mqueue_len,
            max_awaiting_rel=cfg.max_awaiting_rel,
            store_qos0=cfg.mqueue_store_qos0,
            username=username,
        )

    def channel_connected(self, ch: Channel) -> None:
        self._file_keepalive(ch)
        if ch.session.inflight:  # resumed with messages to resend
            self.inflight_started(ch)
        m = self.metrics
        m.counters["client.connected"] += 1
        m.observe("live_connections", len(self.channels))
        m.observe("connections", len(self.sessions))
        m.observe("sessions", len(self.sessions))
        self.index.session_connected(ch.session, ch)
        self._emit("client.connected", channel=ch)

    def pending_closed(self, ch: Channel) -> None:
        self.pending.discard(ch)

    def channel_closed(self, ch: Channel, will: Message | None) -> None:
        """``ch`` closed; ``will`` is the will now due, if any (the channel has already let go of it)."""
        m = self.metrics.counters
        s = ch.session
        cid = ch.clientid
        self.keepalive_deadlines.cancel(ch)
        self._resending.discard(ch)
        if s is None or s.channel is not ch:
            return
        m["client.disconnected"] += 1
        s.channel = None
        self._offline.add(s)
        s.disconnected_at = ch.disconnected_at
        self.index.session_disconnected(s, ch)
        if self.channels.get(cid) is ch:
            del self.channels[cid]
        self.last_channels[cid] = ch
        expiry = s.expiry_interval
        if will is not None:
            delay = will.properties.pop("will_delay_interval", 0) if ch.version == MQTT_5 else 0
            delay = min(delay, expiry)
            if delay > 0:
                self.pending_wills[cid] = (time.monotonic() + delay, will)
            else:
                self._publish_will(will)
        if expiry == 0:
            m["session.terminated"] += 1
            self._drop_session(s)
        elif self.journal is not None:
            self.journal.session_offline(s)
        self._emit("client.disconnected", channel=ch)

    def _publish_will(self, will: Message) -> None:
        will.timestamp = time.time()
        if "message_expiry_interval" in will.properties:
            will.expires_at = will.timestamp + will.properties["message_expiry_interval"]
        self.route(will, will.from_clientid)

    def _drop_session(self, s: Session) -> None:
        self._offline.discard(s)
        self._awaiting_rel.discard(s)
        journal = s.journal
        if journal is not None:
            s.journal = None  # first, so that the unsubscribes below record nothing
            journal.session_dropped(s.clientid)
        for f in list(s.subscriptions):
            self._remove_subscription(s, f)
        if self.sessions.get(s.clientid) is s:
            del self.sessions[s.clientid]
            self.last_channels.pop(s.clientid, None)
            self.index.session_dropped(s)
        self._emit("session.dropped", session=s)

    def kick(self, clientid: str, discard_session: bool = True) -> bool:
        """Disconnect a client and, unless told otherwise, discard its session (EMQX 4/5 discard it;
        EMQ 2.x only closed the connection, leaving a persistent session to its expiry)."""
        s = self.sessions.get(clientid)
        if s is None:
            return False
        ch = s.channel
        if ch is not None:
            # An administrative kick is not the client's fault, but its will still goes out as EMQX does.
            ch.close(ReasonCode.ADMINISTRATIVE_ACTION)
        s = self.sessions.get(clientid)
        discarded = s is not None and discard_session
        if s is not None and discard_session:
            self.metrics.counters["session.discarded"] += 1
            self._drop_session(s)
        self._emit("client.kicked", clientid=clientid, discarded=discarded)
        return True

    def set_keepalive(self, clientid: str, interval: int) -> bool:
        """A connected client's keep alive, from now on; False when it is not connected."""
        ch = self.channels.get(clientid)
        if ch is None:
            return False
        ch.set_keepalive(interval)
        self._file_keepalive(ch)
        return True

    def _file_keepalive(self, ch: Channel) -> None:
        if ch.keepalive:
            self.keepalive_deadlines.file(ch, ch.last_recv + ch.keepalive * self._keepalive_multiplier)
        else:
            self.keepalive_deadlines.cancel(ch)

    def inflight_started(self, ch: Channel) -> None:
        """``ch`` has sent a QoS 1/2 message into an empty window: the tick resends what stays unacknowledged."""
        if ch.version != MQTT_5:  # MQTT 5 resends only on a new connection [MQTT-4.4.0-1]
            self._resending.add(ch)

    def awaiting_release(self, s: Session) -> None:
        """``s`` holds an inbound QoS 2 id until its PUBREL: the tick gives it up after await_rel_timeout."""
        self._awaiting_rel.add(s)

    def restore(
        self, *, bans: Iterable[BannedEntry], retained: Iterable[Message], sessions: Iterable[SavedSession]
    ) -> None:
        """Put back what a durable store kept, before the listeners open: bans, retained messages, and
        offline persistent sessions with their subscriptions and queues. Nothing is re-checked (it was
        all admitted once) and nothing is journalled (the store holds it already)."""
        n_bans = n_retained = 0
        for entry in bans:
            self.banned.add(entry)
            n_bans += 1
        for msg in retained:
            self.retained.set(msg.topic, msg)
            n_retained += 1
        restored = []
        for saved in sessions:
            s = self._new_session(saved.clientid, False, saved.expiry_interval, saved.username)
            s.created_at = saved.created_at
            s.disconnected_at = saved.disconnected_at
            s.restore_queue(saved.inflight, saved.queued)
            self.sessions[s.clientid] = s
            self.index.session_added(s)
            for f, qos, no_local, rap, rh, sub_id in saved.subscriptions:
                group, real = parse_share(f)
                self._add_subscription(s, SubOptions(f, real, group, qos, no_local, rap, rh, sub_id))
            self._offline.add(s)
            restored.append(s)
        self.metrics.observe("retained", len(self.retained))
        self._emit("state.restored", sessions=len(restored), retained=n_retained, bans=n_bans)

    # ------------------------------------------------------------------ subscriptions

    def subscribe_client(
        self, ch: Channel, requests: Sequence[pk.SubscriptionRequest], sub_id: int | None
    ) -> tuple[list[int], list[Delivery]]:
        """A SUBSCRIBE: one reason code per request, and the retained deliveries due after the SUBACK.

        Each request stands alone, as the SUBACK answers each; ``no_local`` on a shared subscription
        is a protocol error for the whole packet [MQTT-3.8.3-4], and then nothing is applied.
        """
        s = ch.session
        assert s is not None
        verdicts = admit(self.config, self.authorize, s, ch, requests, sub_id)
        for v in verdicts:
            if isinstance(v, Refusal) and v.reason_code == ReasonCode.PROTOCOL_ERROR:
                raise protocol_error(v.message)
        granted = [v for v in verdicts if isinstance(v, SubOptions)]
        retained = self._apply_subscriptions(s, granted, "mqtt")
        return [v.qos if isinstance(v, SubOptions) else v.reason_code for v in verdicts], retained

    def subscribe_for(self, s: Session, requests: Sequence[pk.SubscriptionRequest]) -> list[SubOptions] | Refusal:
        """Subscribe on a client's behalf (an API): the same rules as SUBSCRIBE, checked with the
        client's identity, but all or nothing: the first refusal is returned and nothing is applied.
        Retained messages due go to the session at once."""
        verdicts = admit(self.config, self.authorize, s, self.identity(s), requests, None)
        for v in verdicts:
            if isinstance(v, Refusal):
                return v
        granted = [v for v in verdicts if isinstance(v, SubOptions)]
        for d in self._apply_subscriptions(s, granted, "api"):
            s.deliver(d)
        return granted

    def _apply_subscriptions(self, s: Session, granted: list[SubOptions], origin: str) -> list[Delivery]:
        retained: list[Delivery] = []
        retainer = self.config.retainer
        for opts in granted:
            is_new = self._add_subscription(s, opts)
            self.metrics.counters["client.subscribe"] += 1
            rh = opts.retain_handling
            if opts.group is None and retainer and (rh == 0 or (rh == 1 and is_new)):
                retained.extend(self.retained_for(opts.topic_filter, opts.qos, (opts.sub_id,) if opts.sub_id else None))
        if granted:
            self._emit("client.subscribed", clientid=s.clientid, subscriptions=granted, origin=origin)
        return retained

    def _add_subscription(self, s: Session, opts: SubOptions) -> bool:
        """Add or replace a subscription [MQTT-3.8.4-3]; True if it did not exist before."""
        existing = s.subscriptions.get(opts.filter)
        s.subscriptions[opts.filter] = opts
        self.index.subscribed_to(s, opts, existing)
        if opts.group is None:
            self.trie.add(opts.topic_filter, s.clientid, (s, opts))
        else:
            groups = self.shared.get(opts.topic_filter)
            group = groups.get(opts.group) if groups else None
            if group is None:
                group = SharedGroup()
                self.shared.add(opts.topic_filter, opts.group, group)
            group.members = [mem for mem in group.members if mem[0] is not s]
            group.members.append((s, opts))
            if existing is None:
                self.shared_count += 1
        m = self.metrics
        m.observe("subscriptions", self.subscription_count())
        m.observe("topics", len(self.trie) + len(self.shared))
        if s.journal is not None:
            s.journal.session_saved(s)
        return existing is None

    def unsubscribe(self, s: Session, filters: Sequence[str], origin: str) -> list[bool]:
        """Remove subscriptions (an UNSUBSCRIBE, or an API on the client's behalf); for each filter,
        whether it existed."""
        existed = [self._remove_subscription(s, f) for f in filters]
        removed = [f for f, was in zip(filters, existed, strict=True) if was]
        if removed:
            self._emit("client.unsubscribed", clientid=s.clientid, filters=removed, origin=origin)
        return existed

    def _remove_subscription(self, s: Session, f: str) -> bool:
        opts = s.subscriptions.pop(f, None)
        if opts is None:
            return False
        self.index.unsubscribed_from(s, opts)
        self.metrics.counters["client.unsubscribe"] += 1
        if s.journal is not None:
            s.journal.session_saved(s)
        if opts.group is None:
            self.trie.remove(opts.topic_filter, s.clientid)
        else:
            groups = self.shared.get(opts.topic_filter)
            group = groups.get(opts.group) if groups else None
            if group is not None:
                group.members = [mem for mem in group.members if mem[0] is not s]
                if not group.members:
                    self.shared.remove(opts.topic_filter, opts.group)
            self.shared_count -= 1
        return True

    def subscription_count(self) -> int:
        return self.trie.count() + self.shared_count

    def retained_for(self, topic_filter: str, qos: int, sub_ids) -> list[Delivery]:
        now = time.time()
        out = []
        for msg in self.retained.match(topic_filter):
            if msg.expired(now):
                self.delete_retained(msg.topic)
                continue
            out.append((msg, min(qos, msg.qos), True, sub_ids))
        return out

    # ------------------------------------------------------------------ routing

    def route(self, msg: Message, sender: str) -> int:
        """Deliver to every matching subscription; returns how many sessions it reached."""
        m = self.metrics.counters
        topic = msg.topic
        if not topic.startswith("$SYS/"):
            m["messages.publish"] += 1
        if msg.retain and self.config.retainer:
            self._retain(msg)
        matches = self.trie.match(topic)
        shared = self.shared.match(topic) if self.shared_count else None
        if not matches and not shared:
            m["messages.dropped"] += 1
            m["messages.dropped.no_subscribers"] += 1
            return 0
        upgrade = self.config.upgrade_qos
        mqos = msg.qos
        n = 0
        if len(matches) == 1:
            # One matching filter (the common case): no per-client merge needed.
            for cid, (s, o) in matches[0].items():
                if o.no_local and cid == sender:
                    m["delivery.dropped"] += 1
                    m["delivery.dropped.no_local"] += 1
                    continue
                qos = o.qos if upgrade else (o.qos if o.qos < mqos else mqos)
                dropped = s.deliver((msg, qos, msg.retain and o.retain_as_published, (o.sub_id,) if o.sub_id else None))
                if dropped is not None:
                    self._count_drop(dropped, s)
                n += 1
        elif matches:
            # Overlapping filters of one client: one copy at the highest QoS with every
            # subscription identifier [MQTT-3.3.4-2, MQTT-3.3.4-3].
            merged: dict[str, list] = {}
            for entries in matches:
                for cid, (s, o) in entries.items():
                    if o.no_local and cid == sender:
                        m["delivery.dropped"] += 1
                        m["delivery.dropped.no_local"] += 1
                        continue
                    qos = o.qos if upgrade else min(o.qos, mqos)
                    cur = merged.get(cid)
                    if cur is None:
                        merged[cid] = [s, qos, msg.retain and o.retain_as_published, [o.sub_id] if o.sub_id else []]
                    else:
                        if qos > cur[1]:
                            cur[1] = qos
                        if o.retain_as_published and msg.retain:
                            cur[2] = True
                        if o.sub_id:
                            cur[3].append(o.sub_id)
            for s, qos, retain, ids in merged.values():
                dropped = s.deliver((msg, qos, retain, tuple(sorted(ids)) if ids else None))
                if dropped is not None:
                    self._count_drop(dropped, s)
                n += 1
        if shared:
            for groups in shared:
                for group in groups.values():
                    picked = group.pick()
                    if picked is None:
                        continue
                    s, o = picked
                    qos = o.qos if upgrade else min(o.qos, mqos)
                    dropped = s.deliver((msg, qos, False, (o.sub_id,) if o.sub_id else None))
                    if dropped is not None:
                        self._count_drop(dropped, s)
                    n += 1
        return n

    def _count_drop(self, d: Delivery, s: Session) -> None:
        m = self.metrics.counters
        m["messages.dropped"] += 1
        m["delivery.dropped"] += 1
        ch = s.channel
        if d[1] == 0 and ch is None:
            m["delivery.dropped.qos0_msg"] += 1
        else:
            m["delivery.dropped.queue_full"] += 1
            if ch is not None:
                ch.count_queue_full_drop()

    def _retain(self, msg: Message) -> None:
        """[MQTT-3.3.1-5..7]: store, replace, or with an empty payload delete the retained message."""
        if msg.payload:
            self.retained.set(msg.topic, msg)
            self.metrics.observe("retained", len(self.retained))
        else:
            self.retained.delete(msg.topic)
        self._emit("retained.changed", topic=msg.topic, message=msg if msg.payload else None)

    def publish_internal(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> int:
        """Messages the broker itself originates ($SYS)."""
        return self.route(Message.create(topic, payload, qos, retain, None, self.config.node_name), "")

    def delete_retained(self, topic: str) -> bool:
        """Forget the message retained for ``topic``; False when there was none."""
        if not self.retained.delete(topic):
            return False
        self._emit("retained.changed", topic=topic, message=None)
        return True

    def clear_retained(self) -> None:
        for topic in self.retained.topics():
            self.delete_retained(topic)

    # ------------------------------------------------------------------ bans

    def add_ban(self, entry: BannedEntry) -> list[str]:
        """Store a ban and kick the connected clients it covers; returns their ids."""
        self.banned.add(entry)
        self._emit("banned.added", entry=entry)
        kicked = [
            cid for cid, ch in self.channels.items() if ban_matches(entry.as_, entry.who, cid, ch.username, ch.peerhost)
        ]
        for cid in kicked:
            self.kick(cid)
        return kicked

    def delete_ban(self, kind: str, who: str) -> bool:
        if not self.banned.delete(kind, who):
            return False
        self._emit("banned.deleted", kind=kind, who=who)
        return True

    def clear_bans(self) -> None:
        self.banned.clear()
        self._emit("banned.cleared")

    # ------------------------------------------------------------------ alarms

    def raise_alarm(self, name: str, message: str, details: dict, now: float | None = None) -> bool:
        """Activate ``name`` unless it is already up; True when this call raised it."""
        alarm = Alarm(
            name=name,
            message=message,
            details=details,
            node=self.config.node_name,
            activate_at=time.time() if now is None else now,
        )
        if not self.alarms.activate(alarm):
            return False
        self._emit("alarm.activated", alarm=alarm)
        return True

    def clear_alarm(self, name: str, now: float | None = None) -> Alarm | None:
        """Deactivate ``name`` into the history; the deactivated record, or None when it was not up."""
        done = self.alarms.deactivate(name, time.time() if now is None else now, self.config.alarm_size_limit)
        if done is not None:
            self._emit("alarm.deactivated", alarm=done)
        return done

    def clear_alarm_history(self) -> None:
        self.alarms.clear_history()
        self._emit("alarm.history_cleared")

    def expire_alarms(self, now: float) -> None:
        """Forget history older than ``alarm_validity_period`` (the alarm monitor's tick)."""
        self.alarms.expire(now - self.config.alarm_validity_period)

    # ------------------------------------------------------------------ configuration

    def set_feature(self, name: str, enabled: bool) -> bool:
        """Switch one of FEATURES on or off; False for a name that is not one."""
        if name not in FEATURES:
            return False
        switch: dict[str, Any] = {name: bool(enabled)}
        self.config = attrs.evolve(self.config, **switch)
        self._emit("config.changed", config=self.config)
        return True

    def apply_config(
        self, config: BrokerConfig, *, restarting: bool = False, in_effect: tuple[str, ...] = ()
    ) -> list[str]:
        """Take ``config``: every field when ``restarting`` (the listeners are down), else the ones that
        can change live and the RESTART_FIELDS the shell has already put ``in_effect`` (a listener
        created or removed on its own). Returns the RESTART_FIELDS that differ and so wait for a
        restart. What is recorded is the configuration asked for, restart-only fields included."""
        old = self.config
        pending = [f for f in RESTART_FIELDS if f not in in_effect and getattr(old, f) != getattr(config, f)]
        if restarting:
            self.config = config
            pending = []
        else:
            live = {
                f.name: getattr(config, f.name)
                for f in attrs.fields(BrokerConfig)
                if f.name not in RESTART_FIELDS or f.name in in_effect
            }
            self.config = attrs.evolve(old, **live)
        self._emit("config.changed", config=config)
        return pending

    # ------------------------------------------------------------------ time

    def tick(self, now_mono: float | None = None) -> None:
        now_mono = time.monotonic() if now_mono is None else now_mono
        now = time.time()
        mult = self.config.keepalive_multiplier
        channels = self.channels
        if mult != self._keepalive_multiplier:  # changed by a config update: every deadline moves
            self._keepalive_multiplier = mult
            for ch in channels.values():
                self._file_keepalive(ch)
        for ch in self.keepalive_deadlines.due(now_mono):
            ka = ch.keepalive
            if not ka or channels.get(ch.clientid) is not ch:
                continue
            if now_mono - ch.last_recv > ka * mult:
                # [MQTT-3.1.2-24]: one and a half keep alive periods of silence end the connection.
                ch.close(ReasonCode.KEEP_ALIVE_TIMEOUT)
            else:
                self._file_keepalive(ch)  # it has sent something since: its deadline moved
        retry = self.config.retry_interval
        for ch in list(self._resending):
            if not ch.session.inflight:
                self._resending.discard(ch)
            elif retry:
                ch.retry(now_mono, retry)
        send_timeout = self.config.send_timeout
        if send_timeout:
            for ch in self.congested_channels():
                if now_mono - ch.paused_at >= send_timeout:
                    # Its peer has read nothing of what it was sent for that long (EMQX:
                    # tcp_options.send_timeout with send_timeout_close); what waits for it stays
                    # in its session's bounded queue.
                    ch.close(ReasonCode.QUOTA_EXCEEDED)
        for ch in list(self.pending):
            if now_mono - ch.accepted_at > CONNECT_TIMEOUT:
                ch.close()
        for cid, (due, will) in list(self.pending_wills.items()):
            if due <= now_mono:
                del self.pending_wills[cid]
                self._publish_will(will)
        self.authn.tick(now_mono)
        self.authz.tick(now_mono)
        timeout = self.config.await_rel_timeout
        m = self.metrics.counters
        for s in list(self._offline):
            exp = s.expiry_interval
            if exp != EXPIRY_NEVER and s.disconnected_at is not None and now - s.disconnected_at >= exp:
                pending = self.pending_wills.pop(s.clientid, None)
                if pending is not None:
                    self._publish_will(pending[1])
                m["session.terminated"] += 1
                self._drop_session(s)
        for s in list(self._awaiting_rel):
            if not s.awaiting_rel:
                self._awaiting_rel.discard(s)
                continue
            expired = s.expire_awaiting_rel(now_mono - timeout)
            if expired:
                m["messages.dropped.await_pubrel_timeout"] += expired
                if s.channel is not None:
                    s.channel.count_rel_timeouts(expired)

    # ------------------------------------------------------------------ events

    def _emit(self, event: str, **data) -> None:
        for cb in self._observers:
            cb(event, **data)
