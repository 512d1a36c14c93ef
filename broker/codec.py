"""Sans-IO MQTT 3.1 / 3.1.1 / 5.0 wire codec: bytes in, ``broker.packets`` records out, and back.

No sockets, no asyncio: the server hands ``Decoder.feed`` whatever bytes arrived and writes whatever
``encode`` returns. Everything is table driven:

* ``_FIRST_BYTE[(server_side, version)]`` judges the fixed header's first byte (type allowed in this
  direction and version, reserved flags [MQTT-2.1.3-1], PUBLISH QoS/DUP) before a packet is even complete,
* ``_READERS[(server_side, version)]`` maps the packet type nibble to the function that parses the body,
* ``_ENCODERS`` maps the record class to the function that writes it,
* MQTT 5 properties are one table of their own, in ``broker.properties``.

Protocol levels: 3 = MQTT 3.1 (protocol name "MQIsdp"), 4 = 3.1.1, 5 = 5.0. For 3/4 the encoder drops what
the older protocol cannot say (properties, most reason codes). Every rejection is an ``MQTTError`` with the
reason code the spec prescribes; a CONNECT naming an unsupported level raises ``UnsupportedProtocolVersion``
(an MQTTError subclass with ``version_unsupported = True``) so the channel can still answer with CONNACK
0x01 (3.1/3.1.1) or 0x84 (5.0) before closing [MQTT-3.1.2-2].

Programming errors on the encode side (a packet id of 0, an unknown property name, a string too long for
its length prefix) raise ``ValueError``; they are not the peer's fault and carry no reason code.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from . import constants as c
from .constants import PROTOCOL_NAMES, V5_TO_V3_CONNACK, ConnackReturnCode, ReasonCode
from .errors import MQTTError, malformed, protocol_error
from .packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    Pingreq,
    Pingresp,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    SubscriptionRequest,
    Unsuback,
    Unsubscribe,
    Will,
)
from .properties import (
    VARINT_MAX,
    WILL,
    decode_properties,
    encode_binary,
    encode_properties,
    encode_utf8,
    encode_varint,
    largest_user_property,
    read_binary,
    read_utf8,
)

__all__ = [
    "MAX_PACKET_SIZE_DEFAULT",
    "MAX_PACKET_SIZE_PROTOCOL",
    "MAX_REMAINING_LENGTH",
    "SUPPORTED_VERSIONS",
    "REASON_CODES",
    "Decoder",
    "UnsupportedProtocolVersion",
    "decode",
    "encode",
    "encode_publish",
    "encode_puback",
    "patch_publish",
]

# --- limits --------------------------------------------------------------------------------------------

# Remaining Length is a Variable Byte Integer of at most four bytes [MQTT 5 2.1.4, 1.5.5].
MAX_REMAINING_LENGTH = VARINT_MAX  # 268,435,455
# Whole packet: first byte + four length bytes + the body. Nothing larger can be framed at all.
MAX_PACKET_SIZE_PROTOCOL = 1 + 4 + MAX_REMAINING_LENGTH
# What the decoder accepts unless told otherwise: 1 MiB, EMQX's default mqtt.max_packet_size ("1MB").
# (mosquitto and HiveMQ default to the protocol maximum, 256 MiB, which would let one client park a
# quarter gigabyte in our buffer.) Measured like MQTT 5's Maximum Packet Size: the total packet,
# fixed header included [MQTT 5 3.1.2.11.4].
MAX_PACKET_SIZE_DEFAULT = 1024 * 1024

SUPPORTED_VERSIONS = (c.MQTT_3_1, c.MQTT_3_1_1, c.MQTT_5)

_V5 = c.MQTT_5

# MQTT 5 reason codes each packet type may carry (spec tables 3-1, 3-4 ... 3-13). Receiving any other is
# a Protocol Error: the packet parses, but holds a value the protocol does not allow [MQTT 5 4.13].
REASON_CODES: dict[int, frozenset[int]] = {
    c.CONNACK: frozenset(
        {
            0x00,
            0x80,
            0x81,
            0x82,
            0x83,
            0x84,
            0x85,
            0x86,
            0x87,
            0x88,
            0x89,
            0x8A,
            0x8C,
            0x90,
            0x95,
            0x97,
            0x99,
            0x9A,
            0x9B,
            0x9C,
            0x9D,
            0x9F,
        }
    ),
    c.PUBACK: frozenset({0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99}),
    c.PUBREC: frozenset({0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99}),
    c.PUBREL: frozenset({0x00, 0x92}),
    c.PUBCOMP: frozenset({0x00, 0x92}),
    c.SUBACK: frozenset({0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2}),
    c.UNSUBACK: frozenset({0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91}),
    # 0x8C (Bad authentication method) is missing from Table 3-10 but is what a failed re-authentication
    # [4.12.1] naturally reports; paho and mosquitto accept it, so do we.
    c.DISCONNECT: frozenset(
        {
            0x00,
            0x04,
            0x80,
            0x81,
            0x82,
            0x83,
            0x87,
            0x89,
            0x8B,
            0x8C,
            0x8D,
            0x8E,
            0x8F,
            0x90,
            0x93,
            0x94,
            0x95,
            0x96,
            0x97,
            0x98,
            0x99,
            0x9A,
            0x9B,
            0x9C,
            0x9D,
            0x9E,
            0x9F,
            0xA0,
            0xA1,
            0xA2,
        }
    ),
    c.AUTH: frozenset({0x00, 0x18, 0x19}),
}
# 3.1.1 SUBACK return codes [MQTT-3.9.3-2]: a granted QoS or 0x80 Failure.
_V3_SUBACK_CODES = frozenset({0x00, 0x01, 0x02, 0x80})

# 3.1/3.1.1 CONNACK return code -> MQTT 5 reason. Where several MQTT 5 reasons share one return code
# (SERVER_BUSY and SERVER_UNAVAILABLE -> 3), the first in V5_TO_V3_CONNACK is the canonical one.
_V3_TO_V5_CONNACK: dict[int, int] = {}
for _v5, _v3 in V5_TO_V3_CONNACK.items():
    _V3_TO_V5_CONNACK.setdefault(int(_v3), int(_v5))
# An MQTT 5 refusal the older protocol has no word for is sent as "server unavailable", the least
# specific of its return codes.
_V3_CONNACK_FALLBACK = int(ConnackReturnCode.SERVER_UNAVAILABLE)

_U16 = struct.Struct(">H")
_ACK = struct.Struct(">BBH")
_ACK_RC = struct.Struct(">BBHB")


class UnsupportedProtocolVersion(MQTTError):
    """A CONNECT named a protocol level other than 3, 4 or 5 [MQTT-3.1.2-2].

    The reason code is UNSUPPORTED_PROTOCOL_VERSION; ``level`` is what the client asked for. The channel
    can tell this apart from other CONNECT failures by ``isinstance`` or by the ``version_unsupported``
    attribute, and answers ``encode(Connack(reason_code=UNSUPPORTED_PROTOCOL_VERSION), 4)`` (the 3.1.1
    bytes ``20 02 00 01``) or the MQTT 5 form with 0x84 before closing.
    """

    version_unsupported = True

    def __init__(self, level: int):
        super().__init__(ReasonCode.UNSUPPORTED_PROTOCOL_VERSION, f"unsupported protocol level {level} [MQTT-3.1.2-2]")
        self.level = level


def _check_pid(pid: int) -> None:
    # [MQTT-2.2.1-3/4]: identifiers are non-zero. The packet parses fine, it just holds a value the
    # protocol forbids, which MQTT 5 4.13 calls a Protocol Error.
    if not pid:
        raise protocol_error("packet identifier 0 [MQTT-2.2.1-3]")


def _trailing(p: int, end: int) -> None:
    if p != end:
        raise malformed("bytes after the end of the packet's content")


# --- readers: body -> record. Signature (first_byte, data, pos, end, version); data[pos:end] is the body. --


def _read_connect(b0: int, data: bytes, pos: int, end: int, version: int | None) -> Connect:
    name, p = read_utf8(data, pos, end)
    if p + 4 > end:
        raise malformed("truncated CONNECT variable header")
    level = data[p]
    if name != "MQTT" and name != "MQIsdp":
        raise protocol_error(f"protocol name {name!r} is not MQTT [MQTT-3.1.2-1]")
    if level not in SUPPORTED_VERSIONS:
        raise UnsupportedProtocolVersion(level)
    if name != PROTOCOL_NAMES[level]:
        raise protocol_error(f"protocol name {name!r} does not go with level {level} [MQTT-3.1.2-1]")
    name = PROTOCOL_NAMES[level]  # the same string, shared by every connection that keeps it
    flags = data[p + 1]
    keepalive = (data[p + 2] << 8) | data[p + 3]
    p += 4
    if flags & 0x01:
        raise malformed("CONNECT reserved flag set [MQTT-3.1.2-3]")
    will_flag = flags & 0x04
    will_qos = (flags >> 3) & 0x03
    will_retain = flags & 0x20
    if not will_flag and (will_qos or will_retain):
        # 5.0 [MQTT-3.1.2-11/13]; 3.1.1 [MQTT-3.1.2-13/15].
        raise malformed("will QoS or will retain set without the will flag [MQTT-3.1.2-11]")
    if will_qos == 3:
        raise malformed("will QoS 3 [MQTT-3.1.2-12]")
    has_username = flags & 0x80
    has_password = flags & 0x40
    if has_password and not has_username and level < _V5:
        # 3.1.1 only; MQTT 5 allows a password without a user name [3.1.2.9 comment].
        raise malformed("password flag without user name flag [MQTT-3.1.2-22]")
    props: dict[str, Any]
    if level == _V5:
        props, p = decode_properties(data, p, end, c.CONNECT)
        if "authentication_data" in props and "authentication_method" not in props:
            raise protocol_error("authentication data without authentication method [3.1.2.11.10]")
    else:
        props = {}
    client_id, p = read_utf8(data, p, end)
    will = None
    if will_flag:
        will_props: dict[str, Any]
        if level == _V5:
            will_props, p = decode_properties(data, p, end, WILL)
        else:
            will_props = {}
        will_topic, p = read_utf8(data, p, end)
        will_payload, p = read_binary(data, p, end)
        will = Will(will_topic, will_payload, will_qos, bool(will_retain), will_props)
    username = password = None
    if has_username:
        username, p = read_utf8(data, p, end)
    if has_password:
        password, p = read_binary(data, p, end)
    _trailing(p, end)
    return Connect(client_id, level, name, bool(flags & 0x02), keepalive, username, password, will, props)


def _read_connack(b0: int, data: bytes, pos: int, end: int, version: int) -> Connack:
    if end - pos < 2:
        raise malformed("truncated CONNACK")
    flags = data[pos]
    code = data[pos + 1]
    if flags & 0xFE:
        raise malformed("CONNACK reserved flags set [MQTT-3.2.2-1]")
    if version == _V5:
        if code not in REASON_CODES[c.CONNACK]:
            raise protocol_error(f"reason code 0x{code:02x} not valid in CONNACK")
        props, p = decode_properties(data, pos + 2, end, c.CONNACK)
        _trailing(p, end)
    else:
        _trailing(pos + 2, end)
        reason = _V3_TO_V5_CONNACK.get(code)
        if reason is None:
            raise protocol_error(f"reserved CONNACK return code {code} [3.2.2.3]")
        code = reason
        props = {}
    if flags and code:
        # 5.0 [MQTT-3.2.2-6]; 3.1.1 [MQTT-3.2.2-4].
        raise protocol_error("session present with a refusing CONNACK [MQTT-3.2.2-6]")
    return Connack(bool(flags), code, props)


# PUBLISH fixed-header flags -> (qos, retain, dup). Invalid combinations never get here: _FIRST_BYTE
# refuses QoS 3 [MQTT-3.3.1-4] and DUP on QoS 0 [MQTT-3.3.1-2] first.
_PUB_FLAGS = tuple(((f >> 1) & 3, bool(f & 1), bool(f & 8)) for f in range(16))


def _publish_head(b0: int, data: bytes, pos: int, end: int) -> tuple:
    """Flags, topic, packet id and where the rest starts: the part every protocol level shares.

    The hot path: string read inlined, one slice for the topic.
    """
    qos, retain, dup = _PUB_FLAGS[b0 & 0x0F]
    p = pos + 2
    if p > end:
        raise malformed("truncated PUBLISH topic length")
    p += (data[pos] << 8) | data[pos + 1]
    if p > end:
        raise malformed("PUBLISH topic runs past the end of the packet")
    try:
        topic = data[pos + 2 : p].decode()
    except UnicodeDecodeError:
        raise malformed("topic name is not valid UTF-8 [MQTT-3.3.2-1]") from None
    if "\x00" in topic:
        raise malformed("U+0000 in topic name [MQTT-1.5.4-2]")
    if qos:
        if p + 2 > end:
            raise malformed("truncated PUBLISH packet identifier")
        pid = (data[p] << 8) | data[p + 1]
        if not pid:
            raise protocol_error("packet identifier 0 [MQTT-2.2.1-3]")
        p += 2
    else:
        pid = None
    return qos, retain, dup, topic, pid, p


def _read_publish_v3(b0: int, data: bytes, pos: int, end: int, version: int) -> Publish:
    qos, retain, dup, topic, pid, p = _publish_head(b0, data, pos, end)
    return Publish(topic, data[p:end], qos, retain, dup, pid, {})


def _make_read_publish_v5(from_client: bool) -> Callable[..., Publish]:
    def read_publish_v5(b0: int, data: bytes, pos: int, end: int, version: int) -> Publish:
        qos, retain, dup, topic, pid, p = _publish_head(b0, data, pos, end)
        if p >= end:
            raise malformed("PUBLISH without property length")
        if data[p]:
            props, p = decode_properties(data, p, end, c.PUBLISH)
            if from_client and "subscription_identifier" in props:
                raise protocol_error("subscription identifier in a PUBLISH from a client [MQTT-3.3.4-6]")
        else:
            props = {}
            p += 1
        return Publish(topic, data[p:end], qos, retain, dup, pid, props)

    return read_publish_v5


def _make_read_ack(cls: type, ptype: int) -> Callable[..., Any]:
    codes = REASON_CODES[ptype]

    def read_ack(b0: int, data: bytes, pos: int, end: int, version: int) -> Any:
        n = end - pos
        if n < 2:
            raise malformed("truncated packet identifier")
        pid = (data[pos] << 8) | data[pos + 1]
        if not pid:
            raise protocol_error("packet identifier 0 [MQTT-2.2.1-3]")
        if n == 2:
            # MQTT 5 short form: reason 0x00 and no properties [MQTT 5 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1].
            return cls(pid, 0, {})
        if version != _V5:
            raise malformed("bytes after the packet identifier")
        code = data[pos + 2]
        if code not in codes:
            raise protocol_error(f"reason code 0x{code:02x} not valid here")
        if n == 3:
            # "If the Remaining Length is less than 4 there is no Property Length" [3.4.2.2.1].
            return cls(pid, code, {})
        props, p = decode_properties(data, pos + 3, end, ptype)
        _trailing(p, end)
        return cls(pid, code, props)

    return read_ack


def _read_subscribe(b0: int, data: bytes, pos: int, end: int, version: int) -> Subscribe:
    if end - pos < 2:
        raise malformed("truncated SUBSCRIBE")
    pid = (data[pos] << 8) | data[pos + 1]
    _check_pid(pid)
    p = pos + 2
    if version == _V5:
        props, p = decode_properties(data, p, end, c.SUBSCRIBE)
    else:
        props = {}
    subs = []
    while p < end:
        topic_filter, p = read_utf8(data, p, end)
        if p >= end:
            raise malformed("topic filter without subscription options")
        opts = data[p]
        p += 1
        qos = opts & 0x03
        if version == _V5:
            if opts & 0xC0:
                raise malformed("subscription options reserved bits set [MQTT-3.8.3-5]")
            if qos == 3:
                raise protocol_error("subscription maximum QoS 3 [MQTT 5 3.8.3.1]")
            retain_handling = (opts >> 4) & 0x03
            if retain_handling == 3:
                raise protocol_error("retain handling 3 [MQTT 5 3.8.3.1]")
            subs.append(SubscriptionRequest(topic_filter, qos, bool(opts & 0x04), bool(opts & 0x08), retain_handling))
        else:
            # 3.1.1: upper six bits reserved, QoS 3 invalid, both malformed [MQTT-3-8.3-4].
            if opts & 0xFC or qos == 3:
                raise malformed("invalid requested QoS byte [MQTT-3-8.3-4]")
            subs.append(SubscriptionRequest(topic_filter, qos))
    if not subs:
        # 5.0 [MQTT-3.8.3-2]; 3.1.1 [MQTT-3.8.3-3].
        raise protocol_error("SUBSCRIBE without topic filters [MQTT-3.8.3-3]")
    return Subscribe(pid, subs, props)


def _read_unsubscribe(b0: int, data: bytes, pos: int, end: int, version: int) -> Unsubscribe:
    if end - pos < 2:
        raise malformed("truncated UNSUBSCRIBE")
    pid = (data[pos] << 8) | data[pos + 1]
    _check_pid(pid)
    p = pos + 2
    if version == _V5:
        props, p = decode_properties(data, p, end, c.UNSUBSCRIBE)
    else:
        props = {}
    filters = []
    while p < end:
        topic_filter, p = read_utf8(data, p, end)
        filters.append(topic_filter)
    if not filters:
        raise protocol_error("UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]")
    return Unsubscribe(pid, filters, props)


def _read_suback(b0: int, data: bytes, pos: int, end: int, version: int) -> Suback:
    if end - pos < 2:
        raise malformed("truncated SUBACK")
    pid = (data[pos] << 8) | data[pos + 1]
    _check_pid(pid)
    p = pos + 2
    if version == _V5:
        props, p = decode_properties(data, p, end, c.SUBACK)
        allowed = REASON_CODES[c.SUBACK]
    else:
        props = {}
        allowed = _V3_SUBACK_CODES
    codes = list(data[p:end])
    if not codes:
        # One code per filter [MQTT-3.9.3-1], and a SUBSCRIBE has at least one.
        raise protocol_error("SUBACK without reason codes")
    for code in codes:
        if code not in allowed:
            raise protocol_error(f"reason code 0x{code:02x} not valid in SUBACK [MQTT-3.9.3-2]")
    return Suback(pid, codes, props)


def _read_unsuback(b0: int, data: bytes, pos: int, end: int, version: int) -> Unsuback:
    if end - pos < 2:
        raise malformed("truncated UNSUBACK")
    pid = (data[pos] << 8) | data[pos + 1]
    _check_pid(pid)
    if version != _V5:
        _trailing(pos + 2, end)
        return Unsuback(pid, [], {})
    props, p = decode_properties(data, pos + 2, end, c.UNSUBACK)
    codes = list(data[p:end])
    if not codes:
        raise protocol_error("UNSUBACK without reason codes")
    allowed = REASON_CODES[c.UNSUBACK]
    for code in codes:
        if code not in allowed:
            raise protocol_error(f"reason code 0x{code:02x} not valid in UNSUBACK")
    return Unsuback(pid, codes, props)


def _read_pingreq(b0: int, data: bytes, pos: int, end: int, version: int) -> Pingreq:
    _trailing(pos, end)
    return Pingreq()


def _read_pingresp(b0: int, data: bytes, pos: int, end: int, version: int) -> Pingresp:
    _trailing(pos, end)
    return Pingresp()


def _make_read_reason_only(cls: type, ptype: int) -> Callable[..., Any]:
    """DISCONNECT and AUTH: optional reason code, then optional properties [3.14.2.1, 3.15.2.1]."""
    codes = REASON_CODES[ptype]

    def read(b0: int, data: bytes, pos: int, end: int, version: int) -> Any:
        if pos == end:
            return cls(0, {})
        if version != _V5:
            raise malformed("bytes in a packet that has none")
        code = data[pos]
        if code not in codes:
            raise protocol_error(f"reason code 0x{code:02x} not valid here")
        if pos + 1 == end:
            return cls(code, {})
        props, p = decode_properties(data, pos + 1, end, ptype)
        _trailing(p, end)
        return cls(code, props)

    return read


_read_disconnect = _make_read_reason_only(Disconnect, c.DISCONNECT)
_read_auth = _make_read_reason_only(Auth, c.AUTH)

_CLIENT_SENDS = {  # what a server decodes
    c.CONNECT,
    c.PUBLISH,
    c.PUBACK,
    c.PUBREC,
    c.PUBREL,
    c.PUBCOMP,
    c.SUBSCRIBE,
    c.UNSUBSCRIBE,
    c.PINGREQ,
    c.DISCONNECT,
    c.AUTH,
}
_SERVER_SENDS = {  # what a client decodes
    c.CONNACK,
    c.PUBLISH,
    c.PUBACK,
    c.PUBREC,
    c.PUBREL,
    c.PUBCOMP,
    c.SUBACK,
    c.UNSUBACK,
    c.PINGRESP,
    c.DISCONNECT,
    c.AUTH,
}
# Fixed-header flags of every type but PUBLISH: reserved, and fixed at these values [MQTT-2.1.3-1].
_FIXED_FLAGS = {t: 0 for t in _CLIENT_SENDS | _SERVER_SENDS}
_FIXED_FLAGS.update({c.PUBREL: 0x02, c.SUBSCRIBE: 0x02, c.UNSUBSCRIBE: 0x02})

# MQTT 3.1 (before 3.1.1 reserved these bits) set DUP when re-sending these, so a 3.1 retry carries it.
_V31_RETRIED = {c.PUBREL, c.SUBSCRIBE, c.UNSUBSCRIBE}

_TYPE_NAMES = {int(t): t.name for t in c.MQTTCommands} | {c.AUTH: "AUTH"}


def _reader_table(server_side: bool, version: int | None) -> tuple:
    v5 = version == _V5
    readers: dict[int, Callable] = {
        c.CONNECT: _read_connect,
        c.CONNACK: _read_connack,
        c.PUBLISH: _make_read_publish_v5(server_side) if v5 else _read_publish_v3,
        c.PUBACK: _make_read_ack(Puback, c.PUBACK),
        c.PUBREC: _make_read_ack(Pubrec, c.PUBREC),
        c.PUBREL: _make_read_ack(Pubrel, c.PUBREL),
        c.PUBCOMP: _make_read_ack(Pubcomp, c.PUBCOMP),
        c.SUBSCRIBE: _read_subscribe,
        c.SUBACK: _read_suback,
        c.UNSUBSCRIBE: _read_unsubscribe,
        c.UNSUBACK: _read_unsuback,
        c.PINGREQ: _read_pingreq,
        c.PINGRESP: _read_pingresp,
        c.DISCONNECT: _read_disconnect,
        c.AUTH: _read_auth,
    }
    # Indexed by first_byte >> 4. Entries _FIRST_BYTE refuses are never called.
    return tuple(readers.get(t << 4) for t in range(16))


def _first_byte_table(server_side: bool, version: int | None) -> tuple:
    """first byte -> None if acceptable, else (reason code, message) to raise."""
    receives = _CLIENT_SENDS if server_side else _SERVER_SENDS
    peer = "client" if server_side else "server"
    table: list[tuple[int, str] | None] = []
    for b0 in range(256):
        t, flags = b0 & 0xF0, b0 & 0x0F
        name = _TYPE_NAMES.get(t, "")
        err: tuple[int, str] | None = None
        if t == 0 or (t == c.AUTH and version is not None and version < _V5):
            # Type 0 is forbidden; 15 is reserved before MQTT 5 [2.1.2].
            err = (ReasonCode.MALFORMED_PACKET, f"reserved packet type {t >> 4}")
        elif version is None and t != c.CONNECT:
            err = (ReasonCode.PROTOCOL_ERROR, f"{name} before CONNECT [MQTT-3.1.0-1]")
        elif t not in receives:
            # A well-formed packet the peer may not send: data not allowed by the protocol [MQTT 5 4.13].
            err = (ReasonCode.PROTOCOL_ERROR, f"{name} is never sent by a {peer}")
        elif t == c.CONNECT and version is not None:
            err = (ReasonCode.PROTOCOL_ERROR, "second CONNECT [MQTT-3.1.0-2]")
        elif t == c.PUBLISH:
            qos = (flags >> 1) & 3
            if qos == 3:
                err = (ReasonCode.MALFORMED_PACKET, "PUBLISH with QoS 3 [MQTT-3.3.1-4]")
            elif flags & 0x08 and not qos:
                err = (ReasonCode.MALFORMED_PACKET, "DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]")
        elif flags != _FIXED_FLAGS[t] and not (
            version == c.MQTT_3_1 and flags == _FIXED_FLAGS[t] | 0x08 and t in _V31_RETRIED
        ):
            err = (ReasonCode.MALFORMED_PACKET, f"{name} with reserved flags 0x{flags:x} [MQTT-2.1.3-1]")
        table.append(err)
    return tuple(table)


# Keys: (server_side, version); version None is a server that has not seen CONNECT yet.
_SIDES_VERSIONS = [(True, None)] + [(side, v) for side in (True, False) for v in SUPPORTED_VERSIONS]
_READERS: dict[tuple[bool, int | None], tuple] = {key: _reader_table(*key) for key in _SIDES_VERSIONS}
_FIRST_BYTE: dict[tuple[bool, int | None], tuple] = {key: _first_byte_table(*key) for key in _SIDES_VERSIONS}


def _tables(server_side: bool, version: int | None) -> tuple[tuple, tuple]:
    key = (bool(server_side), version)
    try:
        return _FIRST_BYTE[key], _READERS[key]
    except KeyError:
        if version is None:
            raise ValueError("a client-side decoder needs .version set to the level it connected with") from None
        raise ValueError(f"unsupported protocol version {version!r}") from None


def decode(first_byte: int, body: bytes | memoryview, version: int | None, server_side: bool) -> Packet:
    """Decode one complete packet: its first byte and the ``Remaining Length`` bytes that follow the
    length field. ``version`` may be None on the server side only, where just CONNECT is acceptable."""
    first, readers = _tables(server_side, version)
    err = first[first_byte]
    if err is not None:
        raise MQTTError(*err)
    if type(body) is not bytes:
        body = bytes(body)
    return readers[first_byte >> 4](first_byte, body, 0, len(body), version)


def _too_large(size: int, limit: int) -> MQTTError:
    return MQTTError(ReasonCode.PACKET_TOO_LARGE, f"packet of {size} bytes exceeds the limit of {limit}")


_NO_PROPS: dict[str, Any] = {}


def _check_user_properties(packet: Packet, limit: int) -> None:
    # A CONNECT's will carries a property block of its own; 3.1/3.1.1 packets have empty ones.
    size = largest_user_property(getattr(packet, "properties", _NO_PROPS))
    will = getattr(packet, "will", None)
    if will is not None:
        size = max(size, largest_user_property(will.properties))
    if size > limit:
        raise MQTTError(ReasonCode.PACKET_TOO_LARGE, f"user property of {size} bytes exceeds the limit of {limit}")


class Decoder:
    """Incremental decoder for one connection: ``feed`` bytes, get back every complete packet.

    ``version`` is None on the server side until a CONNECT has been decoded, then that CONNECT's level;
    only CONNECT is accepted before it [MQTT-3.1.0-1] and never again after [MQTT-3.1.0-2]. A client-side
    decoder has no CONNECT to learn from: set ``version`` before the first ``feed``.

    A packet whose fixed header announces more than ``max_packet_size`` bytes (the whole packet, header
    included) raises PACKET_TOO_LARGE at once, before its body is buffered. So does, once parsed, an
    MQTT 5 packet carrying a user property larger than ``max_user_property_size`` (name + value bytes;
    0 = no limit; NanoMQ's property_size): the server decides what "maximum permissible size" means for
    0x95 [MQTT 5 Table 2-6]. A CONNECT refused that way still sets ``version``, so the server can answer
    in the client's protocol (CONNACK 0x95). After any MQTTError the decoder is spent and re-raises that
    error; the exception's ``packets`` attribute holds the packets that were complete ahead of the bad
    one in the same ``feed`` call.

    Buffering: input that ends in a partial packet keeps only that tail; ``feed`` parses the bytes it was
    given in place (one offset, no per-packet copy of the buffer), so a whole-packets read costs one slice
    per payload and nothing else.
    """

    __slots__ = ("version", "server_side", "max_packet_size", "max_user_property_size", "_buf", "_need", "_error")

    def __init__(
        self,
        *,
        server_side: bool = True,
        max_packet_size: int = MAX_PACKET_SIZE_DEFAULT,
        max_user_property_size: int = 0,
    ):
        if not 2 <= max_packet_size <= MAX_PACKET_SIZE_PROTOCOL:
            raise ValueError(f"max_packet_size must be in 2..{MAX_PACKET_SIZE_PROTOCOL}")
        if max_user_property_size < 0:
            raise ValueError("max_user_property_size must be 0 (no limit) or more")
        self.version: int | None = None
        self.server_side = server_side
        self.max_packet_size = max_packet_size
        self.max_user_property_size = max_user_property_size
        # The partial packet at the end of the input so far; None while there is none (most of the
        # time: most reads end on a packet boundary, and an idle connection then holds no buffer).
        self._buf: bytearray | None = None
        # Size of the packet at the head of _buf once its fixed header is known; 0 while it is not.
        self._need = 0
        self._error: MQTTError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete packet."""
        return len(self._buf) if self._buf is not None else 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[Packet]:
        if self._error is not None:
            raise self._error
        buf = self._buf
        if buf is not None:
            buf += data
            if len(buf) < self._need:
                return []
            data = bytes(buf)
            self._buf = None
        elif type(data) is not bytes:
            data = bytes(data)
        n = len(data)
        version = self.version
        first, readers = _tables(self.server_side, version)
        limit = self.max_packet_size
        user_limit = self.max_user_property_size
        out: list[Packet] = []
        pos = 0
        try:
            while pos < n:
                b0 = data[pos]
                err = first[b0]
                if err is not None:
                    raise MQTTError(*err)
                # Remaining Length, inlined: one byte for every packet under 128 bytes.
                i = pos + 1
                if i >= n:
                    self._need = 0
                    break
                size = data[i]
                i += 1
                if size >= 0x80:
                    size &= 0x7F
                    shift = 7
                    while True:
                        if i >= n:
                            size = -1
                            break
                        b = data[i]
                        i += 1
                        size |= (b & 0x7F) << shift
                        if b < 0x80:
                            if not b:
                                raise malformed("remaining length not minimally encoded [MQTT-1.5.5-1]")
                            break
                        shift += 7
                        if shift == 28:
                            raise malformed("remaining length longer than 4 bytes [MQTT 5 1.5.5]")
                    if size < 0:
                        self._need = 0
                        break
                end = i + size
                if end - pos > limit:
                    raise _too_large(end - pos, limit)
                if end > n:
                    self._need = end - pos
                    break
                packet = readers[b0 >> 4](b0, data, i, end, version)
                pos = end
                if version is None:
                    # Server side before CONNECT: _FIRST_BYTE let nothing else through, so this was it.
                    version = self.version = packet.proto_ver
                    first, readers = _tables(True, version)
                if user_limit:
                    _check_user_properties(packet, user_limit)
                out.append(packet)
        except MQTTError as e:
            e.packets = out  # type: ignore[attr-defined]
            self._error = e
            self._buf = None
            raise
        if pos < n:
            self._buf = bytearray(memoryview(data)[pos:])
        return out


# --- encoders: record -> bytes ----------------------------------------------------------------------------


def _frame(b0: int, body: bytes | bytearray) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((b0, n)) + body
    return bytes((b0,)) + encode_varint(n) + body


def _pid_bytes(pid: int | None) -> bytes:
    if pid is None or not 0 < pid < 0x10000:
        raise ValueError(f"packet identifier must be 1..65535, got {pid!r} [MQTT-2.2.1-3]")
    return _U16.pack(pid)


def _enc_connect(p: Connect, version: int) -> bytes:
    # The protocol name and level follow ``version``; p.proto_ver / p.proto_name are not consulted.
    flags = 0x02 if p.clean_start else 0
    will = p.will
    if will is not None:
        if not 0 <= will.qos <= 2:
            raise ValueError(f"will QoS {will.qos}")
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
    if p.username is not None:
        flags |= 0x80
    if p.password is not None:
        if p.username is None and version != _V5:
            raise ValueError("MQTT 3.1/3.1.1 cannot carry a password without a user name [MQTT-3.1.2-22]")
        flags |= 0x40
    body = bytearray(encode_utf8(PROTOCOL_NAMES[version]))
    body.append(version)
    body.append(flags)
    body += _U16.pack(p.keepalive)
    if version == _V5:
        body += encode_properties(p.properties, c.CONNECT)
    body += encode_utf8(p.client_id)
    if will is not None:
        if version == _V5:
            body += encode_properties(will.properties, WILL)
        body += encode_utf8(will.topic)
        body += encode_binary(will.payload)
    if p.username is not None:
        body += encode_utf8(p.username)
    if p.password is not None:
        body += encode_binary(p.password)
    return _frame(0x10, body)


def _enc_connack(p: Connack, version: int) -> bytes:
    flags = 0x01 if p.session_present else 0
    if version == _V5:
        return _frame(0x20, bytes((flags, p.reason_code)) + encode_properties(p.properties, c.CONNACK))
    code = V5_TO_V3_CONNACK.get(p.reason_code, _V3_CONNACK_FALLBACK) if p.reason_code else 0
    return bytes((0x20, 2, flags, code))


def encode_publish(pub: Publish, version: int) -> tuple[bytearray, int]:
    """Encode a PUBLISH once for fan-out: returns the bytes and the offset of the two-byte packet
    identifier (-1 for QoS 0), ready for ``patch_publish``. With QoS > 0 a ``packet_id`` of None (or 0)
    writes a zero placeholder for the caller to patch."""
    topic = pub.topic.encode()
    tl = len(topic)
    if tl > 0xFFFF:
        raise ValueError(f"topic of {tl} bytes exceeds 65535")
    qos = pub.qos
    payload = pub.payload
    if version == _V5:
        props = pub.properties
        pb = encode_properties(props, c.PUBLISH) if props else b"\x00"
    elif version in SUPPORTED_VERSIONS:
        pb = b""
    else:
        raise ValueError(f"unsupported protocol version {version!r}")
    size = 2 + tl + len(pb) + len(payload)
    b0 = 0x30 | (0x08 if pub.dup else 0) | (0x01 if pub.retain else 0)
    if qos:
        if qos > 2:
            raise ValueError(f"PUBLISH QoS {qos}")
        b0 |= qos << 1
        size += 2
    elif pub.dup:
        raise ValueError("DUP on a QoS 0 PUBLISH [MQTT-3.3.1-2]")
    if size < 0x80:
        buf = bytearray((b0, size, tl >> 8, tl & 0xFF))
    else:
        buf = bytearray((b0,))
        buf += encode_varint(size)
        buf += _U16.pack(tl)
    buf += topic
    if qos:
        offset = len(buf)
        buf += _U16.pack(pub.packet_id or 0)
    else:
        offset = -1
    buf += pb
    buf += payload
    return buf, offset


def patch_publish(buf: bytearray, offset: int, packet_id: int, qos: int, retain: bool, dup: bool) -> bytearray:
    """A copy of an ``encode_publish`` result with another receiver's flags and packet identifier.

    ``offset`` is what ``encode_publish`` returned. A QoS 0 encoding has no room for an identifier, so it
    stays QoS 0 (``packet_id`` is then ignored); a QoS 1/2 encoding must stay QoS 1 or 2.
    """
    out = bytearray(buf)
    if offset >= 0:
        if not 0 < qos < 3:
            raise ValueError("a PUBLISH encoded with a packet identifier must keep QoS 1 or 2")
        if not 0 < packet_id < 0x10000:
            raise ValueError(f"packet identifier must be 1..65535, got {packet_id!r}")
        out[offset] = packet_id >> 8
        out[offset + 1] = packet_id & 0xFF
    elif qos or dup:
        raise ValueError("a QoS 0 encoding cannot become QoS > 0 or carry DUP")
    out[0] = 0x30 | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    return out


def _enc_publish(p: Publish, version: int) -> bytes:
    if p.qos:
        _pid_bytes(p.packet_id)
    return bytes(encode_publish(p, version)[0])


def encode_puback(packet_id: int, reason_code: int, version: int) -> bytes:
    """The PUBACK a QoS 1 PUBLISH gets (no properties), straight from its fields: it is sent once per
    message received, and the packet id came from a PUBLISH the decoder accepted."""
    if version != _V5 or not reason_code:
        return _ACK.pack(0x40, 2, packet_id)
    return _ACK_RC.pack(0x40, 3, packet_id, reason_code)


def _make_enc_ack(b0: int, ptype: int) -> Callable[[Any, int], bytes]:
    def enc_ack(p: Any, version: int) -> bytes:
        pid = p.packet_id
        if not 0 < pid < 0x10000:
            raise ValueError(f"packet identifier must be 1..65535, got {pid!r}")
        if version != _V5 or (not p.reason_code and not p.properties):
            return _ACK.pack(b0, 2, pid)
        if not p.properties:
            return _ACK_RC.pack(b0, 3, pid, p.reason_code)
        return _frame(b0, _U16.pack(pid) + bytes((p.reason_code,)) + encode_properties(p.properties, ptype))

    return enc_ack


def _enc_subscribe(p: Subscribe, version: int) -> bytes:
    if not p.subscriptions:
        raise ValueError("SUBSCRIBE needs at least one topic filter [MQTT-3.8.3-3]")
    body = bytearray(_pid_bytes(p.packet_id))
    v5 = version == _V5
    if v5:
        body += encode_properties(p.properties, c.SUBSCRIBE)
    for s in p.subscriptions:
        body += encode_utf8(s.topic_filter)
        opts = s.qos
        if v5:
            opts |= (0x04 if s.no_local else 0) | (0x08 if s.retain_as_published else 0) | (s.retain_handling << 4)
        body.append(opts)
    return _frame(0x82, body)


def _enc_suback(p: Suback, version: int) -> bytes:
    body = bytearray(_pid_bytes(p.packet_id))
    if version == _V5:
        body += encode_properties(p.properties, c.SUBACK)
        body += bytes(p.reason_codes)
    else:
        # 3.1.1 knows one failure code, 0x80 [MQTT-3.9.3-2]; every MQTT 5 refusal maps onto it.
        body += bytes(code if code < 0x80 else 0x80 for code in p.reason_codes)
    return _frame(0x90, body)


def _enc_unsubscribe(p: Unsubscribe, version: int) -> bytes:
    if not p.topic_filters:
        raise ValueError("UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2]")
    body = bytearray(_pid_bytes(p.packet_id))
    if version == _V5:
        body += encode_properties(p.properties, c.UNSUBSCRIBE)
    for topic_filter in p.topic_filters:
        body += encode_utf8(topic_filter)
    return _frame(0xA2, body)


def _enc_unsuback(p: Unsuback, version: int) -> bytes:
    pid = _pid_bytes(p.packet_id)
    if version != _V5:
        # 3.1/3.1.1 UNSUBACK is the packet identifier alone.
        return b"\xb0\x02" + pid
    return _frame(0xB0, pid + encode_properties(p.properties, c.UNSUBACK) + bytes(p.reason_codes))


def _make_enc_reason_only(b0: int, ptype: int) -> Callable[[Any, int], bytes]:
    def enc(p: Any, version: int) -> bytes:
        if version != _V5:
            if ptype == c.AUTH:
                raise ValueError("AUTH exists only in MQTT 5")
            return bytes((b0, 0))
        if not p.properties:
            # Short forms [3.14.2.1, 3.15.2.1]: nothing at all for 0x00, the reason code alone otherwise.
            return bytes((b0, 1, p.reason_code)) if p.reason_code else bytes((b0, 0))
        return _frame(b0, bytes((p.reason_code,)) + encode_properties(p.properties, ptype))

    return enc


_PINGREQ = b"\xc0\x00"
_PINGRESP = b"\xd0\x00"

_ENCODERS: dict[type, Callable[[Any, int], bytes]] = {
    Connect: _enc_connect,
    Connack: _enc_connack,
    Publish: _enc_publish,
    Puback: _make_enc_ack(0x40, c.PUBACK),
    Pubrec: _make_enc_ack(0x50, c.PUBREC),
    Pubrel: _make_enc_ack(0x62, c.PUBREL),
    Pubcomp: _make_enc_ack(0x70, c.PUBCOMP),
    Subscribe: _enc_subscribe,
    Suback: _enc_suback,
    Unsubscribe: _enc_unsubscribe,
    Unsuback: _enc_unsuback,
    Pingreq: lambda p, version: _PINGREQ,
    Pingresp: lambda p, version: _PINGRESP,
    Disconnect: _make_enc_reason_only(0xE0, c.DISCONNECT),
    Auth: _make_enc_reason_only(0xF0, c.AUTH),
}


def encode(packet: Packet, version: int) -> bytes:
    """The wire bytes of ``packet`` for protocol level ``version`` (3, 4 or 5)."""
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported protocol version {version!r}")
    encoder = _ENCODERS.get(type(packet))
    if encoder is None:
        raise TypeError(f"not an MQTT packet: {packet!r}")
    return encoder(packet, version)
