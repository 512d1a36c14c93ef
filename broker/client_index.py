"""Indexes over the broker's sessions, kept current by the broker, so that listings cost O(page).

What each client filter of the three dialects reads (``broker.control.queries`` plans with them):

- equality filters: ``Buckets``, value -> the client ids having it, sorted, so that a page is a
  slice and a total a length: per username, per peer address, and per "kind", the combination of
  the few-valued filters (connection state, clean start, protocol version and name), so that any of
  them alone or together is read from the kinds that pass, whose lengths add up to its total; the
  connection state alone has buckets of its own as well (the filter asked most);
- created-at and connected-at ranges: ``(time, clientid)`` kept sorted, so that a total is two
  ranks, and every client id kept with its chunks' time ranges, so that a page skips the chunks
  outside the range (client ids given out in order are created in order);
- EMQX 4's queue-length and queue-drop ranges: the sessions whose queue is not empty and those that
  ever dropped from it (every other session has 0), kept as sets;
- every client id, sorted (the unfiltered listing), those with a subscription (the subscription
  listing) and the subscriptions per QoS (its QoS filter's total).

A ``like`` substring has no index (nothing orders strings by what they contain): queries test it
while walking the most selective index they have.

The broker calls in at each session's life events, the session at its queue's edges (empty to one,
one to empty, the first drop: not on every message) and the subscription commands on every change.
A call costs a few O(log n) inserts and removals (about 5 µs for a new session, 3-4 µs for a
reconnect or a disconnect at 100,000 sessions), never a walk; the memory is a few pointers per
session and index, plus one small record of what each session is filed under.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import TYPE_CHECKING, Any

from .sorted_keys import LOAD, MeasuredKeys, SortedKeys

if TYPE_CHECKING:
    from .channel import Channel
    from .session import Session, SubOptions

CONNECTED, DISCONNECTED = "connected", "disconnected"
# The ClientQuery filters with few values, in the order of a session's "kind" (ClientIndex.by_kind).
KIND = ("conn_state", "clean_start", "proto_ver", "proto_name")
# The measures ClientIndex.all keeps per chunk (MeasuredKeys.within).
MEASURE_CREATED, MEASURE_CONNECTED = 0, 1
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

    def values(self) -> list[Any]:
        """The values some client is filed under."""
        return list(self._by_value)


class _Filed:
    """Where one session is filed, so that a change can take it out of its old buckets."""

    __slots__ = ("kind", "username", "peerhost", "created", "connected")

    def __init__(self, s: Session, ch: Channel | None) -> None:
        self.kind = kind_of(s, ch)
        self.username = s.username
        self.peerhost = ch.peerhost if ch is not None else None
        self.created = (s.created_at, s.clientid)
        self.connected = _connected_key(ch, s.clientid)


def kind_of(s: Session, ch: Channel | None) -> tuple:
    """A session's values of the few-valued filters, in the order of ``KIND`` (``ch``: its live or last
    connection; None for a session restored from disk, which has had none here)."""
    state = DISCONNECTED if s.channel is None else CONNECTED
    kind: tuple
    if ch is None:
        kind = (state, s.clean_start, None, None)
    else:
        kind = (state, s.clean_start, ch.version, ch.proto_name)
    # One tuple per kind for all the sessions filed under it, not one per session.
    return _KINDS.setdefault(kind, kind)


# Every kind seen: a few dozen at most (the product of the KIND filters' values).
_KINDS: dict[tuple, tuple] = {}


def _connected_key(ch: Channel | None, clientid: str) -> tuple[float, str] | None:
    if ch is None:
        return None
    assert ch.connected_at is not None  # set when the CONNECT is accepted, before the broker hears of it
    return (ch.connected_at, clientid)


class ClientIndex:
    __slots__ = (
        "all",
        "subscribed",
        "by_state",
        "by_kind",
        "by_username",
        "by_peerhost",
        "created",
        "connected",
        "queued",
        "dropping",
        "qos_counts",
        "_filed",
    )

    def __init__(self) -> None:
        # Every client id, with its chunks' created and connected times: a time range is read from
        # here, skipping the chunks outside it (``MeasuredKeys``).
        self.all = MeasuredKeys((self._created_at, self._connected_at))
        self.subscribed = SortedKeys()
        # Connection state on its own as well: the most asked filter (EMQ 2.x lists only connected
        # clients) reads one bucket, not the union of its kinds.
        self.by_state = Buckets()
        self.by_kind = Buckets()  # (state, clean start, protocol version, protocol name) -> ids
        self.by_username = Buckets()
        self.by_peerhost = Buckets()  # the live or last connection's address
        self.created = SortedKeys()  # (created_at, clientid)
        self.connected = SortedKeys()  # (connected_at of the live or last connection, clientid)
        self.queued: set[str] = set()  # a non-empty queue
        self.dropping: set[str] = set()  # mqueue_dropped > 0
        self.qos_counts = [0, 0, 0]  # subscriptions per granted QoS
        # clientid -> where it is filed; None for a session whose CONNECT is being accepted (filed by
        # ``session_connected`` a moment later, straight into the connected buckets).
        self._filed: dict[str, _Filed | None] = {}

    def __len__(self) -> int:
        return len(self.all)

    def kind(self, clientid: str) -> tuple:
        """The kind a listed session is filed under (``kind_of`` as of its last change)."""
        filed = self._filed[clientid]
        assert filed is not None  # a listed session is filed
        return filed.kind

    def _created_at(self, clientid: str) -> float:
        filed = self._filed[clientid]
        assert filed is not None  # only filed sessions are in ``all``
        return filed.created[0]

    def _connected_at(self, clientid: str) -> float | None:
        filed = self._filed[clientid]
        assert filed is not None
        return None if filed.connected is None else filed.connected[0]

    # -- the broker's calls ----------------------------------------------------------------------

    def session_added(self, s: Session) -> None:
        """A session is registered: created at CONNECT (filed once the connection is accepted, in the
        same call: ``session_connected``), or restored from disk before its subscriptions are put back
        (filed now, offline, with its queue)."""
        s.index = self
        if s.channel is not None:
            self._filed[s.clientid] = None
            return
        self._file(s, None)
        if s.mqueue:
            self.queued.add(s.clientid)

    def _file(self, s: Session, ch: Channel | None) -> None:
        cid = s.clientid
        filed = self._filed[cid] = _Filed(s, ch)
        self.all.add(cid)
        self.by_state.add(filed.kind[0], cid)
        self.by_kind.add(filed.kind, cid)
        self.by_username.add(filed.username, cid)
        self.created.add(filed.created)
        if ch is not None:
            self.by_peerhost.add(filed.peerhost, cid)
            self.connected.add(filed.connected)

    def session_connected(self, s: Session, ch: Channel) -> None:
        """``ch`` is the session's connection now; a resumed session may also have a new username and
        clean start flag (``Broker.open_session``)."""
        cid = s.clientid
        filed = self._filed[cid]
        if filed is None:
            self._file(s, ch)
            return
        self._refile_kind(filed, kind_of(s, ch), cid)
        self.by_username.move(filed.username, s.username, cid)
        filed.username = s.username
        if filed.connected is None:
            self.by_peerhost.add(ch.peerhost, cid)
        else:
            self.by_peerhost.move(filed.peerhost, ch.peerhost, cid)
            self.connected.remove(filed.connected)
        filed.peerhost, filed.connected = ch.peerhost, _connected_key(ch, cid)
        self.connected.add(filed.connected)
        self.all.touch(cid)

    def session_disconnected(self, s: Session, ch: Channel) -> None:
        """The session's connection ``ch`` closed; what it was filed under by that connection stays
        (listings show an offline session with its last connection's address, protocol and time)."""
        filed = self._filed[s.clientid]
        assert filed is not None  # a session is filed once its CONNECT is accepted, before it can close
        self._refile_kind(filed, kind_of(s, ch), s.clientid)

    def _refile_kind(self, filed: _Filed, kind: tuple, clientid: str) -> None:
        if kind[0] != filed.kind[0]:
            self.by_state.move(filed.kind[0], kind[0], clientid)
        self.by_kind.move(filed.kind, kind, clientid)
        filed.kind = kind

    def session_dropped(self, s: Session) -> None:
        cid = s.clientid
        filed = self._filed.pop(cid)
        s.index = None
        self.queued.discard(cid)
        self.dropping.discard(cid)
        if filed is None:
            return
        self.all.remove(cid)
        self.by_state.remove(filed.kind[0], cid)
        self.by_kind.remove(filed.kind, cid)
        self.by_username.remove(filed.username, cid)
        self.created.remove(filed.created)
        if filed.connected is not None:
            self.by_peerhost.remove(filed.peerhost, cid)
            self.connected.remove(filed.connected)
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
