"""Property-based tests for the MQTT codec: arbitrary valid packets survive encode -> decode unchanged,
and no input, however broken, makes the decoder raise anything but MQTTError."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker import constants as c
from broker.codec import REASON_CODES, Decoder, decode, encode
from broker.errors import MQTTError
from broker.packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
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
from broker.properties import (
    BINARY,
    BYTE,
    FOUR_BYTE_INT,
    PROPERTIES,
    REPEATABLE,
    TWO_BYTE_INT,
    UTF8,
    UTF8_PAIR,
    VARINT,
    VARINT_MAX,
    WILL,
)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CLIENT_TYPES = (Connect, Publish, Puback, Pubrec, Pubrel, Pubcomp, Subscribe, Unsubscribe, Pingreq, Disconnect, Auth)
SERVER_TYPES = (Connack, Publish, Puback, Pubrec, Pubrel, Pubcomp, Suback, Unsuback, Pingresp, Disconnect, Auth)

# MQTT strings: any Unicode scalar value but U+0000 (surrogates cannot be encoded at all) [MQTT-1.5.4].
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
binary = st.binary(max_size=40)
packet_ids = st.integers(1, 0xFFFF)

_ZERO_ONE = {p.name for p in PROPERTIES.values() if p.wire_type == BYTE}
_RANGES = {
    "receive_maximum": st.integers(1, 0xFFFF),
    "topic_alias": st.integers(1, 0xFFFF),
    "maximum_packet_size": st.integers(1, 2**32 - 1),
    "subscription_identifier": st.integers(1, VARINT_MAX),
}
_BY_WIRE = {
    TWO_BYTE_INT: st.integers(0, 0xFFFF),
    FOUR_BYTE_INT: st.integers(0, 2**32 - 1),
    VARINT: st.integers(0, VARINT_MAX),
    UTF8: text,
    BINARY: binary,
    UTF8_PAIR: st.tuples(text, text),
}


def _value(name: str, wire: str):
    if name in _ZERO_ONE:
        return st.integers(0, 1)
    if name in _RANGES:
        return _RANGES[name]
    return _BY_WIRE[wire]


@st.composite
def properties(draw, kind: int, version: int = 5):
    """Any valid MQTT 5 property block for ``kind``, per the allowed table; {} before MQTT 5."""
    if version != 5:
        return {}
    allowed = [p for p in PROPERTIES.values() if kind in p.packet_types]
    chosen = draw(st.lists(st.sampled_from(allowed), unique=True, max_size=len(allowed)))
    props = {}
    for prop in chosen:
        value = _value(prop.name, prop.wire_type)
        if kind in REPEATABLE.get(prop.name, ()):
            props[prop.name] = draw(st.lists(value, min_size=1, max_size=3))
        else:
            props[prop.name] = draw(value)
    if "authentication_data" in props and "authentication_method" not in props and kind == c.CONNECT:
        # It is a Protocol Error to include Authentication Data without a method [3.1.2.11.10].
        props["authentication_method"] = draw(text)
    return props


def _reason(ptype: int):
    return st.sampled_from(sorted(REASON_CODES[ptype]))


@st.composite
def connects(draw, version):
    username = draw(st.none() | text)
    password = draw(st.none() | binary)
    if version < 5 and username is None:
        password = None  # [MQTT-3.1.2-22]
    will = draw(st.none() | st.builds(Will, text, binary, st.integers(0, 2), st.booleans(), properties(WILL, version)))
    return Connect(
        draw(text),
        version,
        c.PROTOCOL_NAMES[version],
        draw(st.booleans()),
        draw(st.integers(0, 0xFFFF)),
        username,
        password,
        will,
        draw(properties(c.CONNECT, version)),
    )


# The MQTT 5 reasons a 3.1/3.1.1 CONNACK return code decodes to (one per return code).
_V3_CONNACK_REASONS = [0x00, 0x84, 0x85, 0x88, 0x86, 0x87]


@st.composite
def connacks(draw, version):
    if version == 5:
        reason = draw(_reason(c.CONNACK))
    else:
        reason = draw(st.sampled_from(_V3_CONNACK_REASONS))
    session_present = draw(st.booleans()) if reason == 0 else False
    return Connack(session_present, reason, draw(properties(c.CONNACK, version)))


@st.composite
def publishes(draw, version):
    qos = draw(st.integers(0, 2))
    return Publish(
        draw(text),
        draw(binary),
        qos,
        draw(st.booleans()),
        draw(st.booleans()) if qos else False,
        draw(packet_ids) if qos else None,
        draw(properties(c.PUBLISH, version)),
    )


def acks(cls, ptype):
    @st.composite
    def strategy(draw, version):
        if version != 5:
            return cls(draw(packet_ids))
        return cls(draw(packet_ids), draw(_reason(ptype)), draw(properties(ptype)))

    return strategy


@st.composite
def subscribes(draw, version):
    if version == 5:
        request = st.builds(
            SubscriptionRequest, text, st.integers(0, 2), st.booleans(), st.booleans(), st.integers(0, 2)
        )
    else:
        request = st.builds(SubscriptionRequest, text, st.integers(0, 2))
    return Subscribe(
        draw(packet_ids), draw(st.lists(request, min_size=1, max_size=4)), draw(properties(c.SUBSCRIBE, version))
    )


@st.composite
def subacks(draw, version):
    codes = _reason(c.SUBACK) if version == 5 else st.sampled_from([0, 1, 2, 0x80])
    return Suback(draw(packet_ids), draw(st.lists(codes, min_size=1, max_size=5)), draw(properties(c.SUBACK, version)))


@st.composite
def unsubscribes(draw, version):
    return Unsubscribe(
        draw(packet_ids), draw(st.lists(text, min_size=1, max_size=4)), draw(properties(c.UNSUBSCRIBE, version))
    )


@st.composite
def unsubacks(draw, version):
    if version != 5:
        return Unsuback(draw(packet_ids))
    return Unsuback(
        draw(packet_ids), draw(st.lists(_reason(c.UNSUBACK), min_size=1, max_size=5)), draw(properties(c.UNSUBACK))
    )


def reason_only(cls, ptype):
    @st.composite
    def strategy(draw, version):
        if version != 5:
            return cls()
        return cls(draw(_reason(ptype)), draw(properties(ptype)))

    return strategy


STRATEGIES = {
    Connect: connects,
    Connack: connacks,
    Publish: publishes,
    Puback: acks(Puback, c.PUBACK),
    Pubrec: acks(Pubrec, c.PUBREC),
    Pubrel: acks(Pubrel, c.PUBREL),
    Pubcomp: acks(Pubcomp, c.PUBCOMP),
    Subscribe: subscribes,
    Suback: subacks,
    Unsubscribe: unsubscribes,
    Unsuback: unsubacks,
    Pingreq: lambda v: st.just(Pingreq()),
    Pingresp: lambda v: st.just(Pingresp()),
    Disconnect: reason_only(Disconnect, c.DISCONNECT),
    Auth: reason_only(Auth, c.AUTH),
}


def versions_of(cls):
    return [5] if cls is Auth else [3, 4, 5]


def packets(cls):
    return st.sampled_from(versions_of(cls)).flatmap(lambda v: st.tuples(st.just(v), STRATEGIES[cls](v)))


def _split(raw: bytes):
    i = 1
    while raw[i] & 0x80:
        i += 1
    return raw[0], raw[i + 1 :]


def _decoder(version: int, server_side: bool) -> Decoder:
    d = Decoder(server_side=server_side)
    if server_side:
        d.feed(encode(Connect("x", version, c.PROTOCOL_NAMES[version]), version))
    else:
        d.version = version
    return d


def _server_may_not_receive(packet) -> bool:
    # A PUBLISH carrying Subscription Identifiers only ever flows server -> client [MQTT-3.3.4-6].
    return type(packet) is Publish and "subscription_identifier" in packet.properties


@pytest.mark.parametrize("cls", list(STRATEGIES), ids=lambda cls: cls.__name__)
@SETTINGS
@given(data=st.data())
def test_roundtrip(cls, data):
    version, packet = data.draw(packets(cls))
    raw = encode(packet, version)
    first, body = _split(raw)
    for server_side, receives in ((True, CLIENT_TYPES), (False, SERVER_TYPES)):
        if cls not in receives:
            continue
        if server_side and _server_may_not_receive(packet):
            with pytest.raises(MQTTError) as info:
                decode(first, body, version, True)
            assert info.value.reason_code == c.ReasonCode.PROTOCOL_ERROR
            continue
        if cls is Connect:
            d = Decoder()
            assert d.feed(raw) == [packet] and d.version == version
            assert decode(first, body, None, True) == packet
        else:
            assert decode(first, body, version, server_side) == packet
            assert _decoder(version, server_side).feed(raw) == [packet]


def _client_packet(version):
    return (
        st.sampled_from([t for t in CLIENT_TYPES if t is not Connect and version in versions_of(t)])
        .flatmap(lambda cls: STRATEGIES[cls](version))
        .filter(lambda p: not _server_may_not_receive(p))
    )


@st.composite
def client_streams(draw):
    version = draw(st.sampled_from([3, 4, 5]))
    connect = draw(connects(version))
    rest = draw(st.lists(_client_packet(version), max_size=6))
    return version, [connect] + rest


@SETTINGS
@given(stream=client_streams(), cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_stream_in_random_pieces(stream, cuts):
    version, pkts = stream
    raw = b"".join(encode(p, version) for p in pkts)
    bounds = sorted({0, len(raw), *(cut % (len(raw) + 1) for cut in cuts)})
    d = Decoder()
    got = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        got += d.feed(raw[a:b])
    assert got == pkts
    assert d.buffered == 0 and d.version == version


def _feed_pieces(d: Decoder, data: bytes, cut: int):
    """Feed in two pieces; only MQTTError may escape. Anything decoded must re-encode and round-trip."""
    decoded = []
    try:
        decoded += d.feed(data[:cut])
        decoded += d.feed(data[cut:])
    except MQTTError as e:
        assert isinstance(e.reason_code, int) and 0x80 <= e.reason_code <= 0xFF
        decoded += e.packets
    version = d.version
    for p in decoded:
        v = p.proto_ver if type(p) is Connect else version
        raw = encode(p, v)
        first, body = _split(raw)
        if type(p) is Connect:
            assert decode(first, body, None, True) == p
        else:
            assert decode(first, body, v, d.server_side) == p


@SETTINGS
@given(garbage=st.binary(max_size=300), cut=st.integers(0, 300))
def test_garbage_before_connect(garbage, cut):
    _feed_pieces(Decoder(), garbage, cut)


@SETTINGS
@given(
    version=st.sampled_from([3, 4, 5]),
    server_side=st.booleans(),
    garbage=st.binary(max_size=300),
    cut=st.integers(0, 300),
)
def test_garbage_after_connect(version, server_side, garbage, cut):
    _feed_pieces(_decoder(version, server_side), garbage, cut)


_MUTATIONS = st.lists(
    st.tuples(st.sampled_from(["flip", "set", "insert", "delete"]), st.integers(0, 10_000), st.integers(0, 255)),
    min_size=1,
    max_size=4,
)


def _mutate(raw: bytes, mutations) -> bytes:
    buf = bytearray(raw)
    for op, where, value in mutations:
        if not buf:
            break
        i = where % len(buf)
        if op == "flip":
            buf[i] ^= 1 << (value % 8)
        elif op == "set":
            buf[i] = value
        elif op == "insert":
            buf.insert(i, value)
        else:
            del buf[i]
    return bytes(buf)


@st.composite
def any_packet_bytes(draw):
    version = draw(st.sampled_from([3, 4, 5]))
    cls = draw(st.sampled_from([t for t in STRATEGIES if version in versions_of(t)]))
    packet = draw(STRATEGIES[cls](version))
    return version, packet


@SETTINGS
@given(item=any_packet_bytes(), mutations=_MUTATIONS, cut=st.integers(0, 500))
def test_mutated_packets(item, mutations, cut):
    """Near-valid input reaches deep into every reader; still nothing but MQTTError."""
    version, packet = item
    raw = _mutate(encode(packet, version), mutations)
    if type(packet) is Connect:
        _feed_pieces(Decoder(), raw, cut)
    for server_side in (True, False):
        _feed_pieces(_decoder(version, server_side), raw, cut)
