"""What the broker tells a durable store, as a list of operations. Sans-IO.

The core records each change worth keeping across a restart here (persistent sessions, what they
queue while offline); the shell's store (``gateway.state_store``) takes the list now and then and
writes it in one transaction. Nothing here touches a disk.

Costs are paid only where durability asks for them: sessions with a zero expiry interval are never
recorded, and deliveries to a connected session are not either (they live and die with the
connection, as in EMQX's in-memory session).

Operations, in the order they happened (the writer applies them in that order):

- ``("session", clientid, created_at, expiry_interval, disconnected_at, username, subscriptions)``
- ``("drop", clientid)``: the session and its queue are gone
- ``("queue_reset", clientid, entries)``: an offline session's whole queue, inflight first
- ``("enqueue", clientid, entry)`` / ``("dequeue_oldest", clientid)`` / ``("queue_clear", clientid)``
- ``("retained", topic, message or None)``
- ``("ban", entry)``, ``("unban", kind, who)``,
  ``("bans_clear",)``, ``("config", BrokerConfig)`` (recorded by the shell from ``Broker._emit`` events)

A queue entry is ``(message, qos, retain, subscription_ids, packet_id or None, phase)``.

What a store reads back at start is handed to ``Broker.restore``: ``SavedSession`` records for the
sessions, the bans and retained messages as they are.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from .session import AWAIT_ACK, Delivery, Session


@attrs.define(slots=True, kw_only=True)
class SavedSession:
    """An offline persistent session as a durable store kept it."""

    clientid: str
    created_at: float
    expiry_interval: int
    disconnected_at: float
    username: str | None
    # As in the "session" operation: (filter, qos, no_local, retain_as_published, retain_handling, sub_id).
    subscriptions: list[tuple]
    inflight: list[tuple[int, Delivery, int]] = attrs.field(factory=list)  # (packet id, delivery, phase)
    queued: list[Delivery] = attrs.field(factory=list)


SYNC, PERIODIC = "sync", "periodic"
DURABILITY_MODES = (SYNC, PERIODIC)


class Journal:
    """The pending operations, plus callbacks waiting for them to be on disk (``sync`` mode)."""

    __slots__ = ("ops", "waiters", "sync", "wake", "saved", "durable_count")

    def __init__(self, mode: str = PERIODIC):
        self.ops: list[tuple] = []
        self.waiters: list[Callable[[], None]] = []
        self.sync = mode == SYNC
        # Set by the shell: called when the first operation of a batch arrives.
        self.wake: Callable[[], None] = lambda: None
        # Client ids of sessions the store holds, so that dropping a clean session writes nothing.
        self.saved: set[str] = set()
        # Bumped per change a PUBLISH's acknowledgement waits for in sync mode (a QoS 1/2 delivery
        # queued for an offline session, a retained message): the channel compares it around route().
        self.durable_count = 0

    def _add(self, op: tuple) -> None:
        ops = self.ops
        ops.append(op)
        if len(ops) == 1:
            self.wake()

    def take(self) -> tuple[list[tuple], list[Callable[[], None]]]:
        ops, waiters = self.ops, self.waiters
        self.ops, self.waiters = [], []
        return ops, waiters

    def when_durable(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once everything recorded so far is committed."""
        self.waiters.append(callback)
        if len(self.waiters) == 1 and not self.ops:
            self.wake()

    # ------------------------------------------------------------------ sessions

    def session_saved(self, s: Session) -> None:
        if s.journal is None or not s.expiry_interval:
            return
        subs = [
            (o.filter, o.qos, o.no_local, o.retain_as_published, o.retain_handling, o.sub_id)
            for o in s.subscriptions.values()
        ]
        self.saved.add(s.clientid)
        self._add(("session", s.clientid, s.created_at, s.expiry_interval, s.disconnected_at, s.username, subs))

    def session_dropped(self, clientid: str) -> None:
        if clientid in self.saved:
            self.saved.discard(clientid)
            self._add(("drop", clientid))

    def session_offline(self, s: Session) -> None:
        """The connection ended and the session stays: from now on its queue is kept on disk."""
        self.session_saved(s)
        if s.clientid not in self.saved:
            return
        entries: list[tuple] = [(d[0], d[1], d[2], d[3], pid, phase) for pid, (d, phase, _) in s.inflight.items()]
        entries.extend((d[0], d[1], d[2], d[3], None, AWAIT_ACK) for d in s.mqueue if d[1])
        self._add(("queue_reset", s.clientid, entries))

    def session_online(self, s: Session) -> None:
        """A session resumed: its queue lives in memory again, tied to the connection."""
        if s.clientid in self.saved:
            self._add(("queue_clear", s.clientid))
        self.session_saved(s)

    def queued(self, s: Session, d: tuple, dropped: tuple | None) -> None:
        """A delivery queued for an offline session. QoS 0 ones are not kept (they cost nothing here);
        the queue on disk is then the QoS 1/2 part of the one in memory, in the same order, so the
        oldest QoS 1/2 row is the one a full queue drops."""
        cid = s.clientid
        if d[1]:
            self.durable_count += 1
            self._add(("enqueue", cid, (d[0], d[1], d[2], d[3], None, AWAIT_ACK)))
        if dropped is not None and dropped[1]:
            self._add(("dequeue_oldest", cid))

    def retained(self, topic: str, msg) -> None:
        """A retained message set (or cleared, ``msg`` None). It counts as durable: in ``sync`` mode
        the PUBLISH that made the change is acknowledged after the commit, as a queued one is."""
        self.durable_count += 1
        self._add(("retained", topic, msg))

    # ------------------------------------------------------------------ the rest

    def record(self, op: tuple) -> None:
        self._add(op)
