"""MQTT 5 properties as a table, plus the wire primitives (spec 1.5) they share with the packet codec.

Every property is one row of ``PROPERTIES``: identifier -> (snake_case name, wire type, the packet kinds
that may carry it) [MQTT 5 2.2.2.2, Table 2-4]. Decoding and encoding a property block walk that table;
nothing here knows about individual packets beyond the kind passed in. Will Properties are a kind of
their own (``WILL``) because their allowed set differs from every packet's.

A decoded block is a plain ``dict`` keyed by name (see ``broker.packets``). Two properties may repeat and
are therefore lists: ``user_property`` (``[(key, value), ...]``, order kept [MQTT-3.3.2-18]) and, in
PUBLISH only, ``subscription_identifier`` (``[int, ...]`` [MQTT-3.3.4-4]). Everything else is a scalar:
``int`` for the integer types, ``str`` for UTF-8 strings, ``bytes`` for binary data.

Functions take ``(data, pos, end)`` and return ``(value, new_pos)`` so the codec can parse in place inside
a larger buffer without slicing it first; ``end`` bounds every read, never ``len(data)``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, NamedTuple

from . import constants as c
from .constants import ReasonCode
from .errors import MQTTError, malformed, protocol_error

# Packet "kind" of the Will Properties in CONNECT's payload. Outside the 4-bit packet-type space, so it can
# never collide with a real packet type in an allowed set.
WILL = 0x100

# Wire types [MQTT 5 1.5].
BYTE = "byte"
TWO_BYTE_INT = "two-byte int"
FOUR_BYTE_INT = "four-byte int"
VARINT = "varint"
UTF8 = "utf8 string"
BINARY = "binary"
UTF8_PAIR = "utf8 pair"

# Largest value a Variable Byte Integer can carry: four 7-bit groups [MQTT 5 1.5.5]. Also the ceiling of
# Remaining Length and of Subscription Identifier.
VARINT_MAX = 268_435_455
# Length prefix of UTF-8 strings and binary data is a Two Byte Integer [MQTT 5 1.5.4, 1.5.6].
STRING_MAX = 65_535


class Property(NamedTuple):
    name: str
    wire_type: str
    packet_types: frozenset[int]


def _p(name: str, wire_type: str, *kinds: int) -> Property:
    return Property(name, wire_type, frozenset(kinds))


_ACKS = (c.PUBACK, c.PUBREC, c.PUBREL, c.PUBCOMP)

PROPERTIES: dict[int, Property] = {
    0x01: _p("payload_format_indicator", BYTE, c.PUBLISH, WILL),
    0x02: _p("message_expiry_interval", FOUR_BYTE_INT, c.PUBLISH, WILL),
    0x03: _p("content_type", UTF8, c.PUBLISH, WILL),
    0x08: _p("response_topic", UTF8, c.PUBLISH, WILL),
    0x09: _p("correlation_data", BINARY, c.PUBLISH, WILL),
    0x0B: _p("subscription_identifier", VARINT, c.PUBLISH, c.SUBSCRIBE),
    0x11: _p("session_expiry_interval", FOUR_BYTE_INT, c.CONNECT, c.CONNACK, c.DISCONNECT),
    0x12: _p("assigned_client_identifier", UTF8, c.CONNACK),
    0x13: _p("server_keep_alive", TWO_BYTE_INT, c.CONNACK),
    0x15: _p("authentication_method", UTF8, c.CONNECT, c.CONNACK, c.AUTH),
    0x16: _p("authentication_data", BINARY, c.CONNECT, c.CONNACK, c.AUTH),
    0x17: _p("request_problem_information", BYTE, c.CONNECT),
    0x18: _p("will_delay_interval", FOUR_BYTE_INT, WILL),
    0x19: _p("request_response_information", BYTE, c.CONNECT),
    0x1A: _p("response_information", UTF8, c.CONNACK),
    0x1C: _p("server_reference", UTF8, c.CONNACK, c.DISCONNECT),
    0x1F: _p("reason_string", UTF8, c.CONNACK, *_ACKS, c.SUBACK, c.UNSUBACK, c.DISCONNECT, c.AUTH),
    0x21: _p("receive_maximum", TWO_BYTE_INT, c.CONNECT, c.CONNACK),
    0x22: _p("topic_alias_maximum", TWO_BYTE_INT, c.CONNECT, c.CONNACK),
    0x23: _p("topic_alias", TWO_BYTE_INT, c.PUBLISH),
    0x24: _p("maximum_qos", BYTE, c.CONNACK),
    0x25: _p("retain_available", BYTE, c.CONNACK),
    0x26: _p(
        "user_property",
        UTF8_PAIR,
        c.CONNECT,
        c.CONNACK,
        c.PUBLISH,
        WILL,
        *_ACKS,
        c.SUBSCRIBE,
        c.SUBACK,
        c.UNSUBSCRIBE,
        c.UNSUBACK,
        c.DISCONNECT,
        c.AUTH,
    ),
    0x27: _p("maximum_packet_size", FOUR_BYTE_INT, c.CONNECT, c.CONNACK),
    0x28: _p("wildcard_subscription_available", BYTE, c.CONNACK),
    0x29: _p("subscription_identifier_available", BYTE, c.CONNACK),
    0x2A: _p("shared_subscription_available", BYTE, c.CONNACK),
}
"""Identifier -> property [MQTT 5 Table 2-4]."""

PROPERTY_IDS: dict[str, int] = {p.name: pid for pid, p in PROPERTIES.items()}
"""Name -> identifier."""

# Properties that may appear more than once, and in which kinds. Every other repetition is a Protocol
# Error ("It is a Protocol Error to include X more than once", stated per property in 3.x).
# subscription_identifier repeats only where a server fans one message out over several matching
# subscriptions [MQTT-3.3.4-4]; in SUBSCRIBE it is single [MQTT 5 3.8.2.1.2].
REPEATABLE: dict[str, frozenset[int]] = {
    "user_property": PROPERTIES[0x26].packet_types,
    "subscription_identifier": frozenset({c.PUBLISH}),
}


# --- wire primitives [MQTT 5 1.5] ----------------------------------------------------------------------

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


def read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Variable Byte Integer at ``data[pos]``; at most four bytes, minimally encoded [MQTT-1.5.5-1]."""
    value = 0
    shift = 0
    for i in range(4):
        if pos >= end:
            raise malformed("truncated variable byte integer")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            # A multi-byte encoding ending in a zero group could have been one byte shorter.
            if b == 0 and i:
                raise malformed("variable byte integer not minimally encoded [MQTT-1.5.5-1]")
            return value, pos
        shift += 7
    raise malformed("variable byte integer longer than 4 bytes")


def encode_varint(value: int) -> bytes:
    if value < 0x80:
        if value < 0:
            raise ValueError(f"negative variable byte integer {value}")
        return bytes((value,))
    if value > VARINT_MAX:
        raise ValueError(f"{value} exceeds the variable byte integer maximum {VARINT_MAX}")
    out = bytearray()
    while True:
        digit = value & 0x7F
        value >>= 7
        if value:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


def read_utf8(data: bytes, pos: int, end: int) -> tuple[str, int]:
    """UTF-8 Encoded String: well-formed UTF-8 (which excludes the surrogates U+D800..U+DFFF) and no
    U+0000 [MQTT-1.5.4-1, MQTT-1.5.4-2; 3.1.1: MQTT-1.5.3-1/2]. A BOM is kept, never stripped
    [MQTT-1.5.4-3]. The "SHOULD NOT" control characters and non-characters are let through: the spec
    only allows, not requires, a receiver to reject them."""
    stop = pos + 2
    if stop > end:
        raise malformed("truncated string length")
    stop += (data[pos] << 8) | data[pos + 1]
    if stop > end:
        raise malformed("string runs past the end of the packet")
    try:
        # bytes.decode is strict: overlong forms, surrogates and > U+10FFFF all fail.
        s = data[pos + 2 : stop].decode()
    except UnicodeDecodeError:
        raise malformed("invalid UTF-8 string [MQTT-1.5.4-1]") from None
    if "\x00" in s:
        raise malformed("U+0000 in a UTF-8 string [MQTT-1.5.4-2]")
    return s, stop


def encode_utf8(s: str) -> bytes:
    raw = s.encode()  # strict: a lone surrogate raises UnicodeEncodeError
    n = len(raw)
    if n > STRING_MAX:
        raise ValueError(f"UTF-8 string of {n} bytes exceeds {STRING_MAX}")
    return n.to_bytes(2, "big") + raw


def read_binary(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    stop = pos + 2
    if stop > end:
        raise malformed("truncated binary data length")
    stop += (data[pos] << 8) | data[pos + 1]
    if stop > end:
        raise malformed("binary data runs past the end of the packet")
    return bytes(data[pos + 2 : stop]), stop


def encode_binary(b: bytes) -> bytes:
    n = len(b)
    if n > STRING_MAX:
        raise ValueError(f"binary data of {n} bytes exceeds {STRING_MAX}")
    return n.to_bytes(2, "big") + bytes(b)


def _read_byte(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise malformed("truncated byte property")
    return data[pos], pos + 1


def _read_u16(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos + 2 > end:
        raise malformed("truncated two byte integer")
    return (data[pos] << 8) | data[pos + 1], pos + 2


def _read_u32(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos + 4 > end:
        raise malformed("truncated four byte integer")
    return _U32.unpack_from(data, pos)[0], pos + 4


def _read_pair(data: bytes, pos: int, end: int) -> tuple[tuple[str, str], int]:
    key, pos = read_utf8(data, pos, end)
    value, pos = read_utf8(data, pos, end)
    return (key, value), pos


_READERS: dict[str, Callable[[bytes, int, int], tuple[Any, int]]] = {
    BYTE: _read_byte,
    TWO_BYTE_INT: _read_u16,
    FOUR_BYTE_INT: _read_u32,
    VARINT: read_varint,
    UTF8: read_utf8,
    BINARY: read_binary,
    UTF8_PAIR: _read_pair,
}

_WRITERS: dict[str, Callable[[Any], bytes]] = {
    BYTE: lambda v: bytes((v,)),
    TWO_BYTE_INT: lambda v: _U16.pack(v),
    FOUR_BYTE_INT: lambda v: _U32.pack(v),
    VARINT: encode_varint,
    UTF8: encode_utf8,
    BINARY: encode_binary,
    UTF8_PAIR: lambda kv: encode_utf8(kv[0]) + encode_utf8(kv[1]),
}


# --- value rules the spec makes a Protocol Error ---------------------------------------------------------


def _zero_or_one(name: str) -> Callable[[int], None]:
    def check(value: int) -> None:
        if value > 1:
            raise protocol_error(f"{name} must be 0 or 1, got {value}")

    return check


def _non_zero(name: str) -> Callable[[int], None]:
    def check(value: int) -> None:
        if not value:
            raise protocol_error(f"{name} must not be 0")

    return check


def _topic_alias(value: int) -> None:
    # [MQTT-3.3.2-8]; 3.3.4 names the reason: 0x94 Topic Alias invalid. The upper bound (Topic Alias
    # Maximum) is connection state and is checked by the session, not here.
    if not value:
        raise MQTTError(ReasonCode.TOPIC_ALIAS_INVALID, "topic alias 0 [MQTT-3.3.2-8]")


_CHECKS: dict[str, Callable[[int], None]] = {
    # "either of 0 or 1" [3.3.2.3.2]: no third meaning is defined, so anything else is refused.
    "payload_format_indicator": _zero_or_one("payload_format_indicator"),
    # "It is a Protocol Error ... to have a value other than 0 or 1" [3.1.2.11.6/7, 3.2.2.3.4/5/11/12/13].
    "request_problem_information": _zero_or_one("request_problem_information"),
    "request_response_information": _zero_or_one("request_response_information"),
    "maximum_qos": _zero_or_one("maximum_qos"),
    "retain_available": _zero_or_one("retain_available"),
    "wildcard_subscription_available": _zero_or_one("wildcard_subscription_available"),
    "subscription_identifier_available": _zero_or_one("subscription_identifier_available"),
    "shared_subscription_available": _zero_or_one("shared_subscription_available"),
    # "It is a Protocol Error ... for it to have the value 0" [3.1.2.11.3/4, 3.2.2.3.3/6].
    "receive_maximum": _non_zero("receive_maximum"),
    "maximum_packet_size": _non_zero("maximum_packet_size"),
    # "It is a Protocol Error if the Subscription Identifier has a value of 0" [3.3.2.3.8, 3.8.2.1.2].
    "subscription_identifier": _non_zero("subscription_identifier"),
    "topic_alias": _topic_alias,
}

# Decoding row per identifier, everything resolved once: (name, reader, allowed kinds, check, repeat kinds).
_DECODE: dict[int, tuple[str, Callable, frozenset[int], Callable | None, frozenset[int]]] = {
    pid: (p.name, _READERS[p.wire_type], p.packet_types, _CHECKS.get(p.name), REPEATABLE.get(p.name, frozenset()))
    for pid, p in PROPERTIES.items()
}
# Encoding row per name: (identifier byte, writer, allowed kinds, repeat kinds).
_ENCODE: dict[str, tuple[bytes, Callable[[Any], bytes], frozenset[int], frozenset[int]]] = {
    p.name: (bytes((pid,)), _WRITERS[p.wire_type], p.packet_types, REPEATABLE.get(p.name, frozenset()))
    for pid, p in PROPERTIES.items()
}


def decode_properties(data: bytes, pos: int, end: int, kind: int) -> tuple[dict[str, Any], int]:
    """Read the property block (Property Length + properties) starting at ``data[pos]`` of a packet of
    ``kind`` (a packet type from ``constants`` or ``WILL``). Returns the dict and the position after it.

    Raises MQTTError: MALFORMED_PACKET for truncation, an unknown identifier or one not valid for the
    packet type [MQTT 5 2.2.2.2]; PROTOCOL_ERROR for a forbidden repetition or a value the spec rules out.
    """
    length, pos = read_varint(data, pos, end)
    stop = pos + length
    if stop > end:
        raise malformed("property length runs past the end of the packet")
    props: dict[str, Any] = {}
    while pos < stop:
        # Identifiers are Variable Byte Integers but all defined ones fit in one byte [2.2.2.2]; a byte
        # with the continuation bit therefore cannot name a known property and misses the table too.
        row = _DECODE.get(data[pos])
        if row is None:
            raise malformed(f"unknown property identifier 0x{data[pos]:02x}")
        name, reader, allowed, check, repeat = row
        if kind not in allowed:
            # 2.2.2.2: "A Control Packet which contains an Identifier which is not valid for its packet
            # type ... is a Malformed Packet."
            raise malformed(f"property {name} not allowed in this packet [MQTT 5 2.2.2.2]")
        value, pos = reader(data, pos + 1, stop)
        if check is not None:
            check(value)
        if kind in repeat:
            if name in props:
                props[name].append(value)
            else:
                props[name] = [value]
        elif name in props:
            raise protocol_error(f"property {name} included more than once")
        else:
            props[name] = value
    return props, stop


def largest_user_property(props: dict[str, Any]) -> int:
    """UTF-8 bytes of the largest user property's name + value in a decoded block, 0 if it has none.

    A server's own limit on them (NanoMQ's property_size) is measured this way: the two strings without
    their length prefixes."""
    pairs = props.get("user_property")
    if not pairs:
        return 0
    return max(len(k.encode()) + len(v.encode()) for k, v in pairs)


_NO_PROPERTIES = b"\x00"


def encode_properties(props: dict[str, Any], kind: int) -> bytes:
    """Property Length + properties for a packet of ``kind``. Raises ValueError for an unknown name, a
    property the packet type may not carry, or a repeatable property given as a scalar where a list is
    required; a lone ``int`` is accepted for PUBLISH's ``subscription_identifier`` for convenience."""
    if not props:
        return _NO_PROPERTIES
    out = bytearray()
    for name, value in props.items():
        row = _ENCODE.get(name)
        if row is None:
            raise ValueError(f"unknown MQTT 5 property {name!r}")
        ident, writer, allowed, repeat = row
        if kind not in allowed:
            raise ValueError(f"property {name!r} is not allowed in packet kind 0x{kind:x}")
        if kind in repeat:
            if isinstance(value, int):
                value = (value,)
            elif isinstance(value, (str, bytes)) or (isinstance(value, tuple) and value and isinstance(value[0], str)):
                raise ValueError(f"property {name!r} repeats: give a list, got {value!r}")
            for item in value:
                out += ident
                out += writer(item)
        else:
            out += ident
            out += writer(value)
    return encode_varint(len(out)) + out
