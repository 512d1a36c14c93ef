"""Indexes over the broker's sessions, kept current by the broker, so that listings cost O(page).

What each client filter of the three dialects reads (``broker.control.queries`` plans with them):

- equality filters (connection state, username, clean start, peer address, protocol name and
  version): ``Buckets``, value -> the client ids having it, sorted, so a page is a slice and a
  total is a length;
- created-at and connected-at ranges: ``(time, clientid)`` kept sorted, so a total is two ranks;
- EMQX 4's queue-length and queue-drop ranges: the sessions whose queue is not empty and those that
  ever dropped from it (every other session has 0), kept as sets;
- every client id, sorted (the unfiltered listing), those with a subscription (the subscription
  listing) and the subscriptions per QoS (its QoS filter's total).

A ``like`` substring has no index (nothing orders strings by what they contain): queries test it
while walking the most selective index they have.

The broker calls in at each session's life events, the session at its queue's edges (empty to one,
one to empty, the first drop: not on every message) and the subscription commands on every change.
Each call costs O(log n) for the ordered parts and O(1) for the rest, never a walk; the memory is a
few pointers per session and index, plus one small record of what each session is filed under.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import TYPE_CHECKING, Any

from .sorted_keys import LOAD, SortedKeys

if TYPE_CHECKING:
    from .channel import Channel
    from .session import Session, SubOptions

CONNECTED, DISCONNECTED = "connected", "disconnected"
_NOTHING = SortedKeys()


class Buckets:
    """value -> the client ids having it, ascending.

    Most values are held by few clients (a username, an address), so a bucket is a plain sorted list
    until it outgrows one chunk and only then a SortedKeys: a one-client bucket costs one small list.
    """

    __slots__ = ("_by_value",)

    def __init__(self) -> None:
        self._by_value: dict[Any, list[str] | SortedKeys] = {}

    def add(self, value: Any, clientid: str) -> None:
        bucket = self._by_value.get(value)
        if bucket is None:
            self._by_value[value] = [clientid]
        elif isinstance(bucket, list):
            insort(bucket, clientid)
            if len(bucket) > LOAD:
                self._by_value[value] = SortedKeys(bucket)
        else:
            bucket.add(clientid)

    def remove(self, value: Any, clientid: str) -> None:
        bucket = self._by_value[value]
        if isinstance(bucket, list):
            del bucket[bisect_left(bucket, clientid)]
        else:
            bucket.remove(clientid)
        if not bucket:
            del self._by_value[value]

    def move(self, old: Any, new: Any, clientid: str) -> None:
        if old != new:
            self.remove(old, clientid)
            self.add(new, clientid)

    def ids(self, value: Any) -> SortedKeys:
        """The client ids filed under ``value`` (read-only)."""
        bucket = self._by_value.get(value)
        if bucket is None:
            return _NOTHING
        return SortedKeys.view(bucket) if isinstance(bucket, list) else bucket

    def count(self, value: Any) -> int:
        bucket = self._by_value.get(value)
        return 0 if bucket is None else len(bucket)


class _Filed:
    """Where one session is filed, so that a change can take it out of its old buckets."""

    __slots__ = ("state", "username", "clean_start", "peerhost", "proto_ver", "proto_name", "created", "connected")

    def __init__(self, s: Session) -> None:
        self.state = DISCONNECTED
        self.username = s.username
        self.clean_start = s.clean_start
        self.peerhost: str | None = None
        self.proto_ver: int | None = None
        self.proto_name: str | None = None
        self.created = (s.created_at, s.clientid)
        self.connected: tuple[float, str] | None = None


class ClientIndex:
    __slots__ = (
        "all",
        "subscribed",
        "by_state",
        "by_username",
        "by_clean_start",
        "by_peerhost",
        "by_proto_ver",
        "by_proto_name",
        "created",
        "connected",
        "queued",
        "dropping",
        "qos_counts",
        "_filed",
    )

    def __init__(self) -> None:
        self.all = SortedKeys()
        self.subscribed = SortedKeys()
        self.by_state = Buckets()
        self.by_username = Buckets()
        self.by_clean_start = Buckets()
        self.by_peerhost = Buckets()
        self.by_proto_ver = Buckets()
        self.by_proto_name = Buckets()
        self.created = SortedKeys()  # (created_at, clientid)
        self.connected = SortedKeys()  # (connected_at of the live or last connection, clientid)
        self.queued: set[str] = set()  # a non-empty queue
        self.dropping: set[str] = set()  # mqueue_dropped > 0
        self.qos_counts = [0, 0, 0]  # subscriptions per granted QoS
        self._filed: dict[str, _Filed] = {}

    def __len__(self) -> int:
        return len(self.all)

    # -- the broker's calls ----------------------------------------------------------------------

    def session_added(self, s: Session) -> None:
        """A session is registered (created at CONNECT, or restored before its subscriptions are put
        back): filed as disconnected, with its queue if one was restored; its connection is filed by
        ``session_connected``."""
        cid = s.clientid
        filed = self._filed[cid] = _Filed(s)
        self.all.add(cid)
        self.by_state.add(DISCONNECTED, cid)
        self.by_username.add(filed.username, cid)
        self.by_clean_start.add(filed.clean_start, cid)
        self.created.add(filed.created)
        if s.mqueue:
            self.queued.add(cid)
        s.index = self

    def session_connected(self, s: Session, ch: Channel) -> None:
        """``ch`` is the session's connection now; a resumed session may also have a new username and
        clean start flag (``Broker.open_session``)."""
        cid = s.clientid
        filed = self._filed[cid]
        self.by_state.move(filed.state, CONNECTED, cid)
        self.by_username.move(filed.username, s.username, cid)
        self.by_clean_start.move(filed.clean_start, s.clean_start, cid)
        filed.state, filed.username, filed.clean_start = CONNECTED, s.username, s.clean_start
        first = filed.connected is None
        for buckets, old, new in (
            (self.by_peerhost, filed.peerhost, ch.peerhost),
            (self.by_proto_ver, filed.proto_ver, ch.version),
            (self.by_proto_name, filed.proto_name, ch.proto_name),
        ):
            if first:
                buckets.add(new, cid)
            else:
                buckets.move(old, new, cid)
        filed.peerhost, filed.proto_ver, filed.proto_name = ch.peerhost, ch.version, ch.proto_name
        if filed.connected is not None:
            self.connected.remove(filed.connected)
        assert ch.connected_at is not None  # set when the CONNECT was accepted, before the broker hears of it
        filed.connected = (ch.connected_at, cid)
        self.connected.add(filed.connected)

    def session_disconnected(self, s: Session) -> None:
        """The session's connection closed; what it was filed under by that connection stays (listings
        show an offline session with its last connection's address, protocol and time)."""
        filed = self._filed[s.clientid]
        self.by_state.move(filed.state, DISCONNECTED, s.clientid)
        filed.state = DISCONNECTED

    def session_dropped(self, s: Session) -> None:
        cid = s.clientid
        filed = self._filed.pop(cid)
        s.index = None
        self.all.remove(cid)
        self.by_state.remove(filed.state, cid)
        self.by_username.remove(filed.username, cid)
        self.by_clean_start.remove(filed.clean_start, cid)
        self.created.remove(filed.created)
        if filed.connected is not None:
            self.by_peerhost.remove(filed.peerhost, cid)
            self.by_proto_ver.remove(filed.proto_ver, cid)
            self.by_proto_name.remove(filed.proto_name, cid)
            self.connected.remove(filed.connected)
        self.queued.discard(cid)
        self.dropping.discard(cid)
        self.subscribed.remove(cid)

    def subscribed_to(self, s: Session, opts: SubOptions, replaced: SubOptions | None) -> None:
        """``opts`` is in ``s.subscriptions`` now, in place of ``replaced`` when it had that filter."""
        counts = self.qos_counts
        counts[opts.qos] += 1
        if replaced is not None:
            counts[replaced.qos] -= 1
        elif len(s.subscriptions) == 1:
            self.subscribed.add(s.clientid)

    def unsubscribed_from(self, s: Session, opts: SubOptions) -> None:
        """``opts`` has left ``s.subscriptions``."""
        self.qos_counts[opts.qos] -= 1
        if not s.subscriptions:
            self.subscribed.remove(s.clientid)

    # -- the session's calls (its queue's edges) -------------------------------------------------

    def queue_filled(self, s: Session) -> None:
        self.queued.add(s.clientid)

    def queue_emptied(self, s: Session) -> None:
        self.queued.discard(s.clientid)

    def queue_dropping(self, s: Session) -> None:
        self.dropping.add(s.clientid)
