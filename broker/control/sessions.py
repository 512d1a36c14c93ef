"""Sessions as a whole: how many there are and were, and the messages each holds for its client.

Positions page through a queue the way EMQX's cursors do: a page is what comes after the position
passed back. The mqueue is first in, first out, appended to at its end and taken from its head, so a
message's place in it is fixed: the count of messages ever queued when it was (``Session.enqueue_msg``)
numbers it, and its number never changes while it waits. The inflight window is acknowledged in any
order; its messages are numbered by when they were published (``Message.mid``, then the packet id),
which is the order they are sent in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from schemas.errors import InvalidArgument
from schemas.records import SessionMessage, SessionMessagePage

from ..core import Broker
from ..server import MQTTServer
from ..session import Delivery, Session
from .base import ControlBase

# A packet id is below 2**16: mid * 2**16 + packet id orders the window by mid, then packet id.
_PID_SPAN = 1 << 16


def _message(position: str, d: Delivery) -> SessionMessage:
    msg, qos = d[0], d[1]
    return SessionMessage(
        position=position,
        msgid=msg.msgid_hex,
        topic=msg.topic,
        qos=qos,
        payload=msg.payload,
        publish_at=msg.timestamp,
        from_clientid=msg.from_clientid,
        from_username=msg.from_username,
    )


def _mqueue(s: Session) -> Iterator[tuple[int, Delivery]]:
    first = s.enqueue_msg - len(s.mqueue) + 1
    return enumerate(s.mqueue, first)


def _inflight(s: Session) -> list[tuple[int, Delivery]]:
    return sorted((entry[0][0].mid * _PID_SPAN + pid, entry[0]) for pid, entry in s.inflight.items())


# How each queue writes a message's number as a position, and reads it back. EMQX's mqueue positions
# carry the priority after an underscore; priorities are off here, so it is always 0.
_FORMATS: dict[str, tuple[Callable[[int], str], Callable[[str], int]]] = {
    "mqueue": (lambda n: f"{n}_0", lambda text: int(text.removesuffix("_0"))),
    "inflight": (str, int),
}


class SessionsControl(ControlBase):
    """Session counts and the messages a session holds."""

    def __init__(self, broker: Broker, server: MQTTServer):
        super().__init__(broker, server)
        # Client ids whose session ended -> when, kept for session_history_retain seconds.
        self._ended: dict[str, float] = {}
        broker.observe(self._on_event)

    def _on_event(self, event: str, **data) -> None:
        if event == "session.dropped" and self.broker.config.session_history_retain:
            self._ended[data["session"].clientid] = time.time()

    async def sessions_count(self, since: float) -> int:
        b = self.broker
        now = time.time()
        horizon = now - b.config.session_history_retain
        for cid in [cid for cid, at in self._ended.items() if at < horizon]:
            del self._ended[cid]
        if since < horizon:
            return len(b.sessions)  # before the window: EMQX answers with the registry's size
        ended = sum(1 for cid, at in self._ended.items() if at >= since and cid not in b.sessions)
        return len(b.sessions) + ended

    async def session_messages(self, clientid: str, queue: str, *, after: str | None, limit: int) -> SessionMessagePage:
        s = self._session(clientid)
        fmt, parse = _FORMATS[queue]
        numbered = list(_mqueue(s)) if queue == "mqueue" else _inflight(s)
        if after is None:
            floor = None
        else:
            try:
                floor = parse(after)
            except ValueError:
                raise InvalidArgument("position_limit_invalid", kind="message", field="position") from None
        items = [_message(fmt(n), d) for n, d in numbered if floor is None or n > floor][:limit]
        return SessionMessagePage(items=items, start=fmt(numbered[0][0]) if numbered else None)

    async def subscribing_clients(self) -> int:
        return sum(1 for s in self.broker.sessions.values() if s.subscriptions)
