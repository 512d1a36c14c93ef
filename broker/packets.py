"""MQTT control packets as plain records: what the codec produces and consumes.

One class per packet type, nothing but data (like h11's ``_events``). MQTT 5 properties travel in a
``dict`` keyed by the property's snake_case name (``session_expiry_interval``, ``user_property`` ...,
see ``broker.properties``); a 3.1.1 packet simply has an empty dict. Two properties may repeat and are
lists: ``user_property`` (list of ``(key, value)`` pairs) and, in PUBLISH only, ``subscription_identifier``
(list of ints). In SUBSCRIBE, ``subscription_identifier`` is a single int.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from . import constants as c

Properties = dict[str, Any]


def _props() -> Properties:
    return {}


@attrs.define(slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: Properties = attrs.field(factory=_props)


@attrs.define(slots=True)
class Connect:
    TYPE: ClassVar[int] = c.CONNECT
    client_id: str
    proto_ver: int = c.MQTT_3_1_1
    proto_name: str = "MQTT"
    clean_start: bool = True
    keepalive: int = 60
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None
    properties: Properties = attrs.field(factory=_props)


@attrs.define(slots=True)
class Connack:
    TYPE: ClassVar[int] = c.CONNACK
    session_present: bool = False
    # MQTT 5 reason code; for 3.1/3.1.1 the codec writes the return code (constants.V5_TO_V3_CONNACK).
    reason_code: int = 0
    properties: Properties = attrs.field(factory=_props)


@attrs.define(slots=True)
class Publish:
    TYPE: ClassVar[int] = c.PUBLISH
    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    dup: bool = False
    packet_id: int | None = None
    properties: Properties = attrs.field(factory=_props)


@attrs.define(slots=True)
class _Ack:
    packet_id: int
    reason_code: int = 0
    properties: Properties = attrs.field(factory=_props)


@attrs.define(slots=True)
class Puback(_Ack):
    TYPE: ClassVar[int] = c.PUBACK


@attrs.define(slots=True)
class Pubrec(_Ack):
    TYPE: ClassVar[int] = c.PUBREC


@attrs.define(slots=True)
class Pubrel(_Ack):
    TYPE: ClassVar[int] = c.PUBREL


@attrs.define(slots=True)
class Pubcomp(_Ack):
    TYPE: ClassVar[int] = c.PUBCOMP


@attrs.define(slots=True, frozen=True)
class SubscriptionRequest:
    """One topic filter of a SUBSCRIBE with its options byte unpacked [MQTT-3.8.3.1]."""

    topic_filter: str
    qos: int = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


@attrs.define(slots=True)
class Subscribe:
    TYPE: ClassVar[int] = c.SUBSCRIBE
    packet_id: int
    subscriptions: list[SubscriptionRequest]
    properties: Properties = attrs.field(factory=_props)


@attrs.define(slots=True)
class Suback:
    TYPE: ClassVar[int] = c.SUBACK
    packet_id: int
    reason_codes: list[int]
    properties: Properties = attrs.field(factory=_props)


@attrs.define(slots=True)
class Unsubscribe:
    TYPE: ClassVar[int] = c.UNSUBSCRIBE
    packet_id: int
    topic_filters: list[str]
    properties: Properties = attrs.field(factory=_props)


@attrs.define(slots=True)
class Unsuback:
    TYPE: ClassVar[int] = c.UNSUBACK
    packet_id: int
    # Empty for 3.1/3.1.1, whose UNSUBACK carries no payload.
    reason_codes: list[int] = attrs.field(factory=list)
    properties: Properties = attrs.field(factory=_props)


@attrs.define(slots=True)
class Pingreq:
    TYPE: ClassVar[int] = c.PINGREQ


@attrs.define(slots=True)
class Pingresp:
    TYPE: ClassVar[int] = c.PINGRESP


@attrs.define(slots=True)
class Disconnect:
    TYPE: ClassVar[int] = c.DISCONNECT
    reason_code: int = 0
    properties: Properties = attrs.field(factory=_props)


@attrs.define(slots=True)
class Auth:
    TYPE: ClassVar[int] = c.AUTH
    reason_code: int = 0
    properties: Properties = attrs.field(factory=_props)


Packet = (
    Connect
    | Connack
    | Publish
    | Puback
    | Pubrec
    | Pubrel
    | Pubcomp
    | Subscribe
    | Suback
    | Unsubscribe
    | Unsuback
    | Pingreq
    | Pingresp
    | Disconnect
    | Auth
)
