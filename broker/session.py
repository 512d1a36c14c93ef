"""MQTT session state: what outlives a network connection [MQTT-4.1].

Pure data plus the queueing rules; the channel (``broker.channel``) owns the socket-facing protocol and
calls in here. A delivery is the tuple ``(message, qos, retain_flag, subscription_ids)``; tuples rather
than records because one is built per receiver per message on the hot path.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from .channel import Channel
    from .client_index import ClientIndex
    from .persistence import Journal

Delivery = tuple  # (Message, qos, retain flag, tuple of subscription identifiers or None)
# What an empty queue is: nothing to allocate (a deque costs 600-odd bytes, most sessions never
# queue), and what every reader of a queue accepts (len, truth, iteration).
NO_QUEUE: tuple[()] = ()

# Inflight entry phases for outbound QoS 1/2.
AWAIT_ACK = 0  # PUBLISH sent, waiting for PUBACK (QoS 1) or PUBREC (QoS 2)
AWAIT_COMP = 1  # PUBREL sent, waiting for PUBCOMP


@attrs.define(slots=True, eq=False)
class SubOptions:
    """One subscription of a session, with the options of [MQTT-3.8.3.1]."""

    filter: str  # as the client wrote it, "$share/g/a/b" included
    topic_filter: str  # the filter proper, share prefix removed
    group: str | None
    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0
    sub_id: int | None = None


class Session:
    __slots__ = (
        "clientid",
        "username",
        "created_at",
        "expiry_interval",
        "clean_start",
        "subscriptions",
        "inflight",
        "mqueue",
        "mqueue_dropped",
        "awaiting_rel",
        "max_inflight",
        "max_mqueue_len",
        "max_awaiting_rel",
        "store_qos0",
        "channel",
        "disconnected_at",
        "_next_pid",
        "deliver_msg",
        "enqueue_msg",
        "journal",
        "index",
    )

    def __init__(
        self,
        clientid: str,
        *,
        clean_start: bool,
        expiry_interval: int,
        max_inflight: int,
        max_mqueue_len: int,
        max_awaiting_rel: int,
        store_qos0: bool,
        username: str | None = None,
    ):
        self.clientid = clientid
        self.username = username
        self.created_at = time.time()
        self.expiry_interval = expiry_interval
        self.clean_start = clean_start
        self.subscriptions: dict[str, SubOptions] = {}
        # packet id -> [delivery, phase, sent at (time.monotonic(): when the retry clock of
        # BrokerConfig.retry_interval started)]; dicts keep insertion order, the redelivery order.
        self.inflight: dict[int, list] = {}
        # A deque while it holds something, NO_QUEUE while empty (``enqueue``, ``queue_emptied``).
        self.mqueue: deque[Delivery] | tuple[()] = NO_QUEUE
        self.mqueue_dropped = 0
        # Inbound QoS 2 packet ids between PUBREC and PUBREL -> time received [MQTT-4.3.3].
        self.awaiting_rel: dict[int, float] = {}
        self.max_inflight = max_inflight
        self.max_mqueue_len = max_mqueue_len
        self.max_awaiting_rel = max_awaiting_rel
        self.store_qos0 = store_qos0
        self.channel: Channel | None = None
        self.disconnected_at: float | None = None
        self._next_pid = 1
        self.deliver_msg = 0
        self.enqueue_msg = 0
        # The broker's durability journal (broker.persistence) while this session is kept, else None.
        self.journal: Journal | None = None
        # The broker's listing index (broker.client_index) while this session is registered, else None.
        self.index: ClientIndex | None = None

    def next_packet_id(self) -> int:
        """A packet id not in use by an outbound QoS 1/2 exchange [MQTT-2.2.1-3]."""
        inflight = self.inflight
        pid = self._next_pid
        while True:
            if pid not in inflight:
                self._next_pid = pid % 65535 + 1
                return pid
            pid = pid % 65535 + 1

    def restore_queue(self, inflight: list[tuple[int, Delivery, int]], queued: list[Delivery]) -> None:
        """Put back what a durable store kept: ``(packet id, delivery, phase)`` in flight, then the queue."""
        for pid, d, phase in inflight:
            # Sent at 0: restamped when the client resumes and gets it again.
            self.inflight[pid] = [d, phase, 0.0]
            self._next_pid = pid % 65535 + 1
        if queued:
            self.mqueue = deque(queued)

    def expire_awaiting_rel(self, received_before: float) -> int:
        """Give up the inbound QoS 2 exchanges whose PUBREL has not come since ``received_before``
        (await_rel_timeout); how many."""
        stale = [pid for pid, t in self.awaiting_rel.items() if t < received_before]
        for pid in stale:
            del self.awaiting_rel[pid]
        return len(stale)

    def enqueue(self, delivery: Delivery) -> Delivery | None:
        """Queue a delivery; when the queue is full the oldest entry gives way, as EMQX's mqueue does.
        A limit of 0 is no limit (emqx_mqueue's MAX_LEN_INFINITY).

        Returns the dropped delivery (for the caller's counters) or None.
        """
        self.enqueue_msg += 1
        mq = self.mqueue
        if not mq:
            mq = self.mqueue = deque()
        mq.append(delivery)
        n = len(mq)
        if self.max_mqueue_len and n > self.max_mqueue_len:
            self.mqueue_dropped += 1
            if self.mqueue_dropped == 1 and self.index is not None:
                self.index.queue_dropping(self)
            return mq.popleft()
        if n == 1 and self.index is not None:
            self.index.queue_filled(self)
        return None

    def queue_emptied(self) -> None:
        """The queue was drained to nothing: give its memory back."""
        self.mqueue = NO_QUEUE
        if self.index is not None:
            self.index.queue_emptied(self)

    def deliver(self, delivery: Delivery) -> Delivery | None:
        """Hand a delivery to the live channel, or queue it while offline. Returns a dropped one."""
        channel = self.channel
        if channel is not None:
            return channel.deliver(delivery)
        if delivery[1] == 0 and not self.store_qos0:
            return delivery
        dropped = self.enqueue(delivery)
        journal = self.journal
        if journal is not None:
            journal.queued(self, delivery, dropped)
        return dropped
