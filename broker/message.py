"""The message record routed through the broker, and its per-fan-out encoding cache."""

from __future__ import annotations

import itertools
import time
from typing import Any

import attrs

_ids = itertools.count(1)


@attrs.define(slots=True, eq=False)
class Message:
    """An application message as the broker holds it: what came in, minus transport details.

    ``properties`` are the MQTT 5 properties that travel with the message to subscribers
    (topic_alias and subscription_identifier are per-hop and already stripped). ``expires_at`` is wall
    clock time so that it keeps its meaning across a restart.
    """

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: dict[str, Any] = attrs.field(factory=dict)
    from_clientid: str = ""
    from_username: str | None = None
    timestamp: float = attrs.field(factory=time.time)
    expires_at: float | None = None
    mid: int = attrs.field(factory=_ids.__next__)
    # Encoded PUBLISH frames keyed by how the receiver wants it (see channel.Channel._frame): one
    # message is encoded once per distinct form, not once per subscriber.
    frames: dict | None = None

    @classmethod
    def create(cls, topic, payload, qos=0, retain=False, properties=None, from_clientid="", from_username=None):
        props = properties or {}
        now = time.time()
        expiry = props.get("message_expiry_interval")
        return cls(
            topic,
            payload,
            qos,
            retain,
            props,
            from_clientid,
            from_username,
            now,
            now + expiry if expiry is not None else None,
        )

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    @property
    def msgid_hex(self) -> str:
        """EMQX shows message ids as 32 upper-case hex digits."""
        return format(self.mid, "032X")
